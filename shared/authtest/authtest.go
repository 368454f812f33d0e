// Package authtest is a local identity provider for tests: an httptest server on loopback
// serving a JWKS at /.well-known/jwks.json, and the tokens it signs, good and bad. Like
// apptest its files are ordinary .go files so that the tests of other packages can import
// it; nothing outside tests should.
//
//	iss := authtest.NewIssuer(t)
//	// JWT_ISSUER=iss.URL, JWT_AUDIENCE=authtest.Audience (the JWKS URL defaults from the issuer)
//	tok := iss.Token(map[string]any{"tenant": "tenant-a", "roles": []string{"admin"}})
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Audience is the aud of the tokens an Issuer signs unless the claims say otherwise.
const Audience = "tasklane"

// Kids of the keys every Issuer starts with, both published: Token signs with RSAKey.
const (
	RSAKey = "rsa-1"
	ECKey  = "ec-1"
)

// Issuer is a test identity provider.
type Issuer struct {
	// URL is the issuer (the iss of its tokens), http://127.0.0.1:port; its JWKS is at
	// URL + "/.well-known/jwks.json".
	URL string

	srv     *httptest.Server
	fetches atomic.Int64

	mu        sync.Mutex
	keys      map[string]*key
	published []string // kids the JWKS serves, in order
	current   string   // kid Token signs with
	extra     []json.RawMessage
}

// PublishRaw adds keys to the JWKS as they are written, after the issuer's own: keys of
// kinds a verifier must skip (symmetric, unknown, for encryption) without refusing the set.
func (iss *Issuer) PublishRaw(keys ...string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	for _, k := range keys {
		iss.extra = append(iss.extra, json.RawMessage(k))
	}
}

// HS256 is a token signed with HMAC-SHA256 under kid with secret: what a key set that
// publishes a symmetric key (PublishRaw) would let anyone who read it sign.
func (iss *Issuer) HS256(kid string, secret []byte, claims map[string]any) string {
	hdr := map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}
	signing := enc(mustJSON(hdr)) + "." + enc(iss.payload(claims))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + enc(mac.Sum(nil))
}

type key struct {
	alg  jwa.SignatureAlgorithm
	priv crypto.Signer
}

// NewIssuer starts an Issuer with an RSA (RS256) and an EC (ES256) key, both published;
// it stops when the test ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{keys: map[string]*key{}, current: RSAKey}
	iss.srv = httptest.NewServer(http.HandlerFunc(iss.serve))
	t.Cleanup(iss.srv.Close)
	iss.URL = iss.srv.URL
	iss.AddKey(t, RSAKey, "RS256", true)
	iss.AddKey(t, ECKey, "ES256", true)
	return iss
}

func (iss *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/.well-known/jwks.json" {
		http.NotFound(w, r)
		return
	}
	iss.fetches.Add(1)
	b, err := iss.JWKS()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// JWKS is the key set document the issuer serves now.
func (iss *Issuer) JWKS() ([]byte, error) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	set := jwk.NewSet()
	for _, kid := range iss.published {
		k := iss.keys[kid]
		pub, err := jwk.Import(k.priv.Public())
		if err != nil {
			return nil, err
		}
		_ = pub.Set(jwk.KeyIDKey, kid)
		_ = pub.Set(jwk.AlgorithmKey, k.alg)
		_ = pub.Set(jwk.KeyUsageKey, "sig")
		if err := set.AddKey(pub); err != nil {
			return nil, err
		}
	}
	own, err := json.Marshal(set)
	if err != nil || len(iss.extra) == 0 {
		return own, err
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(own, &doc); err != nil {
		return nil, err
	}
	doc.Keys = append(doc.Keys, iss.extra...)
	return json.Marshal(doc)
}

// Fetches is how often the JWKS was fetched.
func (iss *Issuer) Fetches() int { return int(iss.fetches.Load()) }

// AddKey makes a key with kid for alg (RS256 or ES256), published in the JWKS or not (a key
// not yet published is what a rotation starts with).
func (iss *Issuer) AddKey(t testing.TB, kid, alg string, publish bool) {
	t.Helper()
	var k key
	var err error
	switch alg {
	case "RS256":
		k.alg = jwa.RS256()
		k.priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		k.alg = jwa.ES256()
		k.priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("authtest: unsupported algorithm %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys[kid] = &k
	if publish {
		iss.published = append(iss.published, kid)
	}
}

// Publish makes the JWKS serve exactly the keys kids (rotation: add the new key, later drop
// the old one).
func (iss *Issuer) Publish(kids ...string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.published = append([]string(nil), kids...)
}

// UseKey makes Token sign with kid from now on.
func (iss *Issuer) UseKey(kid string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.current = kid
}

// Claims are the claims of a valid token before the caller's: iss, aud Audience, sub, iat
// now and exp in an hour.
func (iss *Issuer) Claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": iss.URL,
		"aud": Audience,
		"sub": "authtest-user",
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// Token signs a valid token with the current key: Claims with claims merged in (a claim
// given as nil is left out, e.g. {"exp": nil} for a token without expiry).
func (iss *Issuer) Token(claims map[string]any) string {
	iss.mu.Lock()
	kid := iss.current
	iss.mu.Unlock()
	return iss.TokenWithKey(kid, claims)
}

// TokenWithKey is Token signed with the key kid (which must have been added).
func (iss *Issuer) TokenWithKey(kid string, claims map[string]any) string {
	iss.mu.Lock()
	k := iss.keys[kid]
	iss.mu.Unlock()
	if k == nil {
		panic("authtest: no key " + kid)
	}
	return iss.sign(kid, k.alg, k.priv, claims)
}

// Signed is a token signed (RS256) with an RSA key of the caller's under kid, which the
// issuer need not know: the key set may publish kid as a key of a kind not for signing.
func (iss *Issuer) Signed(kid string, priv *rsa.PrivateKey, claims map[string]any) string {
	return iss.sign(kid, jwa.RS256(), priv, claims)
}

func (iss *Issuer) sign(kid string, alg jwa.SignatureAlgorithm, priv crypto.Signer, claims map[string]any) string {
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, kid)
	_ = hdr.Set(jws.TypeKey, "JWT")
	out, err := jws.Sign(iss.payload(claims), jws.WithKey(alg, priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		panic("authtest: sign: " + err.Error())
	}
	return string(out)
}

func (iss *Issuer) payload(claims map[string]any) []byte {
	all := iss.Claims()
	maps.Copy(all, claims)
	for k, v := range all {
		if v == nil {
			delete(all, k)
		}
	}
	b, err := json.Marshal(all)
	if err != nil {
		panic("authtest: claims: " + err.Error())
	}
	return b
}

// Unsigned is a token with alg "none" and no signature, carrying valid claims.
func (iss *Issuer) Unsigned(claims map[string]any) string {
	return compact(map[string]any{"alg": "none", "typ": "JWT"}, iss.payload(claims), nil)
}

// HS256WithPublicKey is the algorithm-confusion attack: a token signed with HMAC-SHA256 whose
// secret is the RSA key's public key (PEM), under that key's kid. A verifier that let the
// token choose the algorithm would accept it.
func (iss *Issuer) HS256WithPublicKey(claims map[string]any) string {
	iss.mu.Lock()
	k := iss.keys[RSAKey]
	iss.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		panic(err)
	}
	return iss.HS256(RSAKey, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), claims)
}

// Tamper replaces a token's payload with its claims changed by set (nil deletes), keeping
// the header and the original signature.
func Tamper(token string, set map[string]any) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		panic("authtest: not a compact token")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		panic(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		panic(err)
	}
	for k, v := range set {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return parts[0] + "." + enc(mustJSON(claims)) + "." + parts[2]
}

// Bearer is the Authorization header value of token.
func Bearer(token string) string { return "Bearer " + token }

// placeholder is the token placeholder of the testdata events: {{token:<tenant>:<roles>}},
// roles comma separated (may be empty).
var placeholder = regexp.MustCompile(`\{\{token:([^:}]*):([^}]*)\}\}`)

// Expand replaces each {{token:<tenant>:<roles>}} in raw by a token iss signs for that tenant
// and those roles, with subject sub: the testdata events of shared/apigw and the bootstrap
// tests (infra/lambdatest) name the principal they run as this way.
func (iss *Issuer) Expand(raw []byte, sub string) []byte {
	return placeholder.ReplaceAllFunc(raw, func(m []byte) []byte {
		g := placeholder.FindSubmatch(m)
		claims := map[string]any{"tenant": string(g[1]), "sub": sub}
		if roles := string(g[2]); roles != "" {
			claims["roles"] = strings.Split(roles, ",")
		}
		return []byte(iss.Token(claims))
	})
}

func compact(hdr map[string]any, payload, sig []byte) string {
	return fmt.Sprintf("%s.%s.%s", enc(mustJSON(hdr)), enc(payload), enc(sig))
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
