package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tasklane/tasklane/shared/usecase"
)

// Settings configure a Verifier (see shared/settings for the environment variables).
type Settings struct {
	// Issuer is the expected iss, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID.
	Issuer string
	// Audiences are the accepted aud values; a token matches when its aud (or, for Cognito
	// access tokens, which have no aud, its client_id) is one of them, as API Gateway's JWT
	// authorizer did.
	Audiences []string
	// JWKSURL is where the issuer's keys are; empty means Issuer + "/.well-known/jwks.json",
	// where Cognito and most OIDC providers serve them.
	JWKSURL string
}

// JWKSPath is appended to the issuer when no JWKS URL is configured.
const JWKSPath = "/.well-known/jwks.json"

// Defaults of the Verifier's tuning.
const (
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultRefreshInterval is how often, at most, a token naming an unknown kid makes the
	// key set be fetched again: key rotation is rare, and a kid is the caller's to choose, so
	// without a limit every forged token would be a request to the identity provider.
	DefaultRefreshInterval = time.Minute
	// DefaultMaxAge is how long a fetched key set is used before it is fetched again (on
	// use), so that keys the issuer withdrew stop being accepted.
	DefaultMaxAge = time.Hour
	// MaxToken is the longest token looked at; longer ones are refused unparsed.
	MaxToken = 16 << 10
	maxJWKS  = 1 << 20
)

// accepted are the signature algorithms a token may use: asymmetric only. "none" and the
// HMAC ones are refused whatever the key set holds: with HS256 a verifier that took the
// issuer's public key as an HMAC secret would accept tokens anyone can make.
var accepted = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Verifier is the Authenticator of real JWTs. It is made once per process (a Lambda cold
// start) and its key set is shared across invocations; it fetches the set lazily, on the
// first token, so that a cold start does not wait on the identity provider, and keeps no
// goroutine (Lambda freezes the sandbox between invocations).
type Verifier struct {
	settings Settings
	claims   Claims
	leeway   time.Duration
	now      func() time.Time
	keys     *keyCache
}

// Option tunes a Verifier (tests).
type Option func(*Verifier)

// WithClock makes the Verifier read the time from now (token validity and key-set ages).
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) { v.now, v.keys.now = now, now }
}

// WithHTTPClient sets the client the key set is fetched with.
func WithHTTPClient(c *http.Client) Option { return func(v *Verifier) { v.keys.client = c } }

// WithRefreshInterval sets the least time between fetches caused by unknown kids.
func WithRefreshInterval(d time.Duration) Option { return func(v *Verifier) { v.keys.minRefresh = d } }

// WithLeeway sets the clock skew tolerated.
func WithLeeway(d time.Duration) Option { return func(v *Verifier) { v.leeway = d } }

// NewVerifier checks the settings and makes a Verifier; it does not contact the issuer.
func NewVerifier(s Settings, claims Claims, opts ...Option) (*Verifier, error) {
	if err := checkURL("JWT issuer", s.Issuer); err != nil {
		return nil, err
	}
	var auds []string
	for _, a := range s.Audiences {
		if a = strings.TrimSpace(a); a != "" {
			auds = append(auds, a)
		}
	}
	if len(auds) == 0 {
		return nil, errors.New("a JWT audience is required with the issuer")
	}
	s.Audiences = auds
	if s.JWKSURL == "" {
		s.JWKSURL = strings.TrimRight(s.Issuer, "/") + JWKSPath
	}
	if err := checkURL("JWKS URL", s.JWKSURL); err != nil {
		return nil, err
	}
	if claims.Tenant == "" {
		claims.Tenant = DefaultClaims.Tenant
	}
	if claims.Roles == "" {
		claims.Roles = DefaultClaims.Roles
	}
	now := func() time.Time { return time.Now() }
	v := &Verifier{settings: s, claims: claims, leeway: DefaultLeeway, now: now,
		keys: &keyCache{url: s.JWKSURL, client: &http.Client{Timeout: 5 * time.Second}, now: now,
			minRefresh: DefaultRefreshInterval, maxAge: DefaultMaxAge}}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Settings returns the settings in use (with the JWKS URL filled in).
func (v *Verifier) Settings() Settings { return v.settings }

// checkURL allows https, and http only to a loopback host (tests, a local identity provider):
// keys fetched in clear text could be replaced on the way.
func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute URL", what, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
		return fmt.Errorf("%s %q: http is allowed only to loopback; use https", what, raw)
	}
	return fmt.Errorf("%s %q: the scheme must be https", what, raw)
}

// Authenticate implements Authenticator.
func (v *Verifier) Authenticate(ctx context.Context, authorization string) (usecase.Principal, error) {
	raw, err := bearer(authorization)
	if err != nil {
		return usecase.Principal{}, err
	}
	if len(raw) > MaxToken {
		return usecase.Principal{}, invalid(fmt.Sprintf("token of %d bytes", len(raw)), nil)
	}
	if strings.Count(raw, ".") != 2 {
		return usecase.Principal{}, invalid("not a compact JWS (header.payload.signature)", nil)
	}
	// ParseSigned refuses every algorithm not accepted, "none" and HMAC among them.
	tok, err := jwt.ParseSigned(raw, accepted)
	if err != nil {
		return usecase.Principal{}, invalid("malformed token, or an algorithm not accepted (asymmetric only)", err)
	}
	if len(tok.Headers) != 1 {
		return usecase.Principal{}, invalid("not exactly one signature", nil)
	}
	alg, kid := tok.Headers[0].Algorithm, tok.Headers[0].KeyID
	key, err := v.keys.key(ctx, kid)
	if err != nil {
		return usecase.Principal{}, err
	}
	if key.Algorithm != "" && key.Algorithm != alg {
		return usecase.Principal{}, invalid(fmt.Sprintf("key %q is for %s, the token says %s", kid, key.Algorithm, alg), nil)
	}
	var std jwt.Claims
	var custom map[string]any
	if err := tok.Claims(key.Key, &std, &custom); err != nil {
		return usecase.Principal{}, invalid("signature or claims not valid", err)
	}
	if std.Expiry == nil {
		return usecase.Principal{}, invalid("missing a required claim (exp)", nil)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: v.settings.Issuer, Time: v.now()}, v.leeway); err != nil {
		return usecase.Principal{}, invalid(reason(err), err)
	}
	if !v.audience(std, custom) {
		return usecase.Principal{}, invalid("wrong audience", nil)
	}
	return principal(custom[v.claims.Tenant], custom[v.claims.Roles], std.Subject, v.claims)
}

// audience accepts a token whose aud, or else whose client_id (Cognito access tokens carry
// no aud), is one of the configured audiences.
func (v *Verifier) audience(std jwt.Claims, custom map[string]any) bool {
	for _, a := range std.Audience {
		if slices.Contains(v.settings.Audiences, a) {
			return true
		}
	}
	clientID, ok := custom["client_id"].(string)
	return ok && slices.Contains(v.settings.Audiences, clientID)
}

// reason names the failed check for the log.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return "expired"
	case errors.Is(err, jwt.ErrNotValidYet):
		return "not yet valid (nbf)"
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return "issued in the future (iat)"
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return "wrong issuer"
	}
	return "claims not valid"
}

// keyCache is the issuer's key set, fetched on first use, again when older than maxAge, and
// again when a token names a kid it lacks, at most once per minRefresh. One mutex covers the
// fetch, so concurrent requests that miss share one fetch instead of each making one.
type keyCache struct {
	url        string
	client     *http.Client
	now        func() time.Time
	minRefresh time.Duration
	maxAge     time.Duration

	mu          sync.Mutex
	set         []jose.JSONWebKey // nil: not fetched yet
	fetched     time.Time         // when set was fetched
	lastRefresh time.Time         // when an unknown kid last caused a fetch
}

func (c *keyCache) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.set == nil || now.Sub(c.fetched) >= c.maxAge {
		if err := c.fetch(ctx, now); err != nil && c.set == nil {
			return jose.JSONWebKey{}, err
		}
		// A failed refetch of a stale set keeps the old keys: better than refusing everyone
		// while the identity provider is briefly unreachable.
	} else if _, ok := lookup(c.set, kid); !ok && now.Sub(c.lastRefresh) >= c.minRefresh {
		c.lastRefresh = now
		_ = c.fetch(ctx, now) // on failure the old set stays; the token is refused below
	}
	k, ok := lookup(c.set, kid)
	if !ok {
		return jose.JSONWebKey{}, invalid(fmt.Sprintf("no key %q in the issuer's key set", kid), nil)
	}
	return k, nil
}

// lookup finds the key of kid; a token without kid may use the set's only key.
func lookup(set []jose.JSONWebKey, kid string) (jose.JSONWebKey, bool) {
	if kid == "" {
		if len(set) == 1 {
			return set[0], true
		}
		return jose.JSONWebKey{}, false
	}
	for _, k := range set {
		if k.KeyID == kid {
			return k, true
		}
	}
	return jose.JSONWebKey{}, false
}

func (c *keyCache) fetch(ctx context.Context, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrKeysUnavailable, c.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: status %d", ErrKeysUnavailable, c.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
	if err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrKeysUnavailable, c.url, err)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrKeysUnavailable, c.url, err)
	}
	// Keys of types this build cannot use, and private or symmetric ones (a token signed with
	// one would be a forgery anyone holding it could make), are skipped, not fatal: an issuer
	// may publish keys of kinds it does not sign tokens with.
	set := []jose.JSONWebKey{}
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil || !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		set = append(set, k)
	}
	c.set, c.fetched = set, now
	return nil
}
