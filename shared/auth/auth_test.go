package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/authtest"
	"github.com/tasklane/tasklane/shared/usecase"
)

// clock is a settable clock for the verifier (its key-set ages and token validity).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

func verifier(t *testing.T, iss *authtest.Issuer, opts ...auth.Option) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(auth.Settings{Issuer: iss.URL, Audiences: []string{"other-app", authtest.Audience}}, auth.DefaultClaims, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantInvalid checks that err is a 401 for a bad token (not a missing one).
func wantInvalid(t *testing.T, err error) {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) || !errors.Is(err, usecase.ErrUnauthenticated) {
		t.Fatalf("err = %v, want an *auth.Error (unauthenticated)", err)
	}
	if !ae.InvalidToken {
		t.Errorf("err = %v: InvalidToken false, want true", err)
	}
	t.Logf("refused: %v", err)
}

func TestVerifierAcceptsValidTokens(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v := verifier(t, iss)
	ctx := context.Background()
	for _, kid := range []string{authtest.RSAKey, authtest.ECKey} {
		p, err := v.Authenticate(ctx, "Bearer "+iss.TokenWithKey(kid, map[string]any{"tenant": "tenant-a", "sub": "u-1", "roles": []string{"ops", "admin"}}))
		if err != nil {
			t.Fatalf("%s: %v", kid, err)
		}
		if p.Tenant != "tenant-a" || p.User != "u-1" || !p.Admin || !slices.Equal(p.Roles, []string{"ops", "admin"}) {
			t.Errorf("%s: principal %+v", kid, p)
		}
	}
	// The scheme is case-insensitive; one fetch served all tokens.
	if _, err := v.Authenticate(ctx, "bearer "+iss.Token(map[string]any{"tenant": "t"})); err != nil {
		t.Error(err)
	}
	if n := iss.Fetches(); n != 1 {
		t.Errorf("the JWKS was fetched %d times, want once", n)
	}
	// Cognito access tokens have client_id instead of aud.
	if _, err := v.Authenticate(ctx, "Bearer "+iss.Token(map[string]any{"tenant": "t", "aud": nil, "client_id": "other-app"})); err != nil {
		t.Errorf("client_id as audience: %v", err)
	}
	// A small clock skew is tolerated.
	if _, err := v.Authenticate(ctx, "Bearer "+iss.Token(map[string]any{"tenant": "t", "exp": time.Now().Add(-5 * time.Second).Unix()})); err != nil {
		t.Errorf("exp 5 s ago (within the leeway): %v", err)
	}
}

func TestVerifierDoesNotFetchAtStart(t *testing.T) {
	iss := authtest.NewIssuer(t)
	verifier(t, iss)
	if n := iss.Fetches(); n != 0 {
		t.Errorf("NewVerifier fetched the JWKS %d times; it must wait for the first token", n)
	}
}

func TestVerifierRefusesBadTokens(t *testing.T) {
	iss := authtest.NewIssuer(t)
	other := authtest.NewIssuer(t)
	v := verifier(t, iss)
	ctx := context.Background()
	good := iss.Token(map[string]any{"tenant": "tenant-a"})
	cases := map[string]string{
		"expired":                   iss.Token(map[string]any{"tenant": "t", "exp": time.Now().Add(-time.Hour).Unix()}),
		"not yet valid":             iss.Token(map[string]any{"tenant": "t", "nbf": time.Now().Add(time.Hour).Unix()}),
		"no exp":                    iss.Token(map[string]any{"tenant": "t", "exp": nil}),
		"wrong audience":            iss.Token(map[string]any{"tenant": "t", "aud": "someone-else"}),
		"wrong client_id, no aud":   iss.Token(map[string]any{"tenant": "t", "aud": nil, "client_id": "someone-else"}),
		"wrong issuer":              iss.Token(map[string]any{"tenant": "t", "iss": other.URL}),
		"other issuer's key":        other.Token(map[string]any{"tenant": "t", "iss": iss.URL}),
		"alg none":                  iss.Unsigned(map[string]any{"tenant": "t"}),
		"HS256 with the public key": iss.HS256WithPublicKey(map[string]any{"tenant": "t"}),
		"tampered payload":          authtest.Tamper(good, map[string]any{"tenant": "tenant-b"}),
		"tampered to admin":         authtest.Tamper(good, map[string]any{"roles": "admin"}),
		"malformed":                 "not-a-jwt",
		"malformed parts":           "a.b.c",
		"two dots, bad base64":      "eyJ!.eyJ.sig",
		"empty token":               "",
		"huge":                      strings.Repeat("a", auth.MaxToken+1) + ".b.c",
		"no tenant":                 iss.Token(nil),
		"tenant not a string":       iss.Token(map[string]any{"tenant": 42}),
		"tenant empty":              iss.Token(map[string]any{"tenant": ""}),
		"tenant too long":           iss.Token(map[string]any{"tenant": strings.Repeat("t", 129)}),
		"tenant of 70 kB":           iss.Token(map[string]any{"tenant": strings.Repeat("t", 70<<10)}),
		"tenant with a slash":       iss.Token(map[string]any{"tenant": "a/b"}),
		"tenant with a space":       iss.Token(map[string]any{"tenant": "a b"}),
		"tenant with a #":           iss.Token(map[string]any{"tenant": "a#b"}),
		"tenant non-ASCII":          iss.Token(map[string]any{"tenant": "tenänt"}),
		"roles not strings":         iss.Token(map[string]any{"tenant": "t", "roles": []any{"ops", 1}}),
		"roles an object":           iss.Token(map[string]any{"tenant": "t", "roles": map[string]any{"admin": true}}),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Authenticate(ctx, "Bearer "+tok)
			wantInvalid(t, err)
		})
	}
	// The edges of a tenant that are fine.
	for _, tenant := range []string{"a", strings.Repeat("t", 128), "A-z_0.9:@x"} {
		if _, err := v.Authenticate(ctx, "Bearer "+iss.Token(map[string]any{"tenant": tenant})); err != nil {
			t.Errorf("tenant %q: %v", tenant, err)
		}
	}
}

func TestVerifierMissingHeader(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v := verifier(t, iss)
	for _, h := range []string{"", "   ", "Basic dXNlcjpwYXNz"} {
		_, err := v.Authenticate(context.Background(), h)
		var ae *auth.Error
		if !errors.As(err, &ae) || ae.InvalidToken || !errors.Is(err, usecase.ErrUnauthenticated) {
			t.Errorf("%q: err = %v, want a missing-token error", h, err)
			continue
		}
		if ae.WWWAuthenticate() != "Bearer" {
			t.Errorf("%q: challenge %q", h, ae.WWWAuthenticate())
		}
	}
	// Without JWT_ISSUER the dev tokens are not accepted by a verifier.
	_, err := v.Authenticate(context.Background(), "Bearer dev:tenant-a:admin")
	wantInvalid(t, err)
}

// TestVerifierKeyRotation: a token signed by a key the JWKS does not have yet is refused
// (after one refetch), and accepted once the JWKS publishes the key and the rate limit
// allows another fetch; tokens with made-up kids do not make a fetch each.
func TestVerifierKeyRotation(t *testing.T) {
	iss := authtest.NewIssuer(t)
	c := &clock{}
	v := verifier(t, iss, auth.WithClock(c.now))
	ctx := context.Background()
	if _, err := v.Authenticate(ctx, "Bearer "+iss.Token(map[string]any{"tenant": "t"})); err != nil {
		t.Fatal(err)
	}
	iss.AddKey(t, "rsa-2", "RS256", false)
	rotated := iss.TokenWithKey("rsa-2", map[string]any{"tenant": "t"})
	_, err := v.Authenticate(ctx, "Bearer "+rotated)
	wantInvalid(t, err)
	if n := iss.Fetches(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (the first token, then the unknown kid)", n)
	}
	iss.Publish(authtest.RSAKey, authtest.ECKey, "rsa-2")
	for i := 0; i < 5; i++ { // within the rate limit: no fetch, still refused
		_, err = v.Authenticate(ctx, "Bearer "+rotated)
		wantInvalid(t, err)
	}
	if n := iss.Fetches(); n != 2 {
		t.Fatalf("fetches = %d within the refresh interval, want still 2", n)
	}
	c.advance(auth.DefaultRefreshInterval)
	if _, err := v.Authenticate(ctx, "Bearer "+rotated); err != nil {
		t.Fatalf("after the refresh interval the rotated key is still refused: %v", err)
	}
	if n := iss.Fetches(); n != 3 {
		t.Errorf("fetches = %d, want 3", n)
	}
	// Dropping the old key: it is refused once the set is old enough to be fetched again.
	iss.Publish("rsa-2")
	old := iss.TokenWithKey(authtest.RSAKey, map[string]any{"tenant": "t", "exp": c.now().Add(3 * time.Hour).Unix()})
	if _, err := v.Authenticate(ctx, "Bearer "+old); err != nil {
		t.Fatalf("old key within the set's max age: %v", err)
	}
	c.advance(auth.DefaultMaxAge)
	_, err = v.Authenticate(ctx, "Bearer "+old)
	wantInvalid(t, err)
}

func TestVerifierKeysUnavailable(t *testing.T) {
	v, err := auth.NewVerifier(auth.Settings{Issuer: "http://127.0.0.1:1", Audiences: []string{"a"}}, auth.DefaultClaims)
	if err != nil {
		t.Fatal(err)
	}
	iss := authtest.NewIssuer(t)
	_, err = v.Authenticate(context.Background(), "Bearer "+iss.Token(map[string]any{"tenant": "t"}))
	if !errors.Is(err, auth.ErrKeysUnavailable) || errors.Is(err, usecase.ErrUnauthenticated) {
		t.Errorf("err = %v, want ErrKeysUnavailable (a server fault, not a 401)", err)
	}
}

func TestNewVerifierSettings(t *testing.T) {
	cases := []struct {
		s    auth.Settings
		ok   bool
		jwks string
	}{
		{auth.Settings{Issuer: "https://idp.example.com/pool", Audiences: []string{"a"}}, true, "https://idp.example.com/pool/.well-known/jwks.json"},
		{auth.Settings{Issuer: "https://idp.example.com/", Audiences: []string{"a"}, JWKSURL: "https://keys.example.com/k.json"}, true, "https://keys.example.com/k.json"},
		{auth.Settings{Issuer: "http://127.0.0.1:8080", Audiences: []string{" a ", ""}}, true, "http://127.0.0.1:8080/.well-known/jwks.json"},
		{auth.Settings{Issuer: "http://localhost:8080", Audiences: []string{"a"}}, true, "http://localhost:8080/.well-known/jwks.json"},
		{auth.Settings{Issuer: "http://[::1]:8080", Audiences: []string{"a"}}, true, "http://[::1]:8080/.well-known/jwks.json"},
		{auth.Settings{Issuer: "http://idp.example.com", Audiences: []string{"a"}}, false, ""},
		{auth.Settings{Issuer: "https://idp.example.com", Audiences: []string{"a"}, JWKSURL: "http://keys.example.com/k.json"}, false, ""},
		{auth.Settings{Issuer: "https://idp.example.com", Audiences: []string{" ", ""}}, false, ""},
		{auth.Settings{Issuer: "https://idp.example.com"}, false, ""},
		{auth.Settings{Issuer: "idp.example.com", Audiences: []string{"a"}}, false, ""},
		{auth.Settings{Issuer: "ftp://idp.example.com", Audiences: []string{"a"}}, false, ""},
	}
	for _, c := range cases {
		v, err := auth.NewVerifier(c.s, auth.Claims{})
		if (err == nil) != c.ok {
			t.Errorf("%+v: err = %v, want ok %v", c.s, err, c.ok)
			continue
		}
		if err == nil && v.Settings().JWKSURL != c.jwks {
			t.Errorf("%+v: JWKS URL %q, want %q", c.s, v.Settings().JWKSURL, c.jwks)
		}
	}
}

func TestVerifierClaimNames(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v, err := auth.NewVerifier(auth.Settings{Issuer: iss.URL, Audiences: []string{authtest.Audience}},
		auth.Claims{Tenant: "custom:tenant", Roles: "cognito:groups"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Authenticate(context.Background(), "Bearer "+iss.Token(map[string]any{"tenant": "ignored", "custom:tenant": "acme", "cognito:groups": []string{"admin"}, "roles": nil}))
	if err != nil || p.Tenant != "acme" || !p.Admin {
		t.Errorf("principal %+v, %v", p, err)
	}
}

func TestRolesParsing(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v := verifier(t, iss)
	cases := []struct {
		roles any
		want  []string
		admin bool
	}{
		{nil, nil, false},
		{[]string{"admin"}, []string{"admin"}, true},
		{[]string{}, nil, false},
		{"admin", []string{"admin"}, true},
		{"ops admin", []string{"ops", "admin"}, true},
		{"ops,admin", []string{"ops", "admin"}, true},
		{"ops, service", []string{"ops", "service"}, false},
		{"[ops admin]", []string{"ops", "admin"}, true},
		{`["ops","admin"]`, []string{"ops", "admin"}, true},
		{"administrator", []string{"administrator"}, false},
		{"Admin", []string{"Admin"}, false},
		{"", nil, false},
	}
	for _, c := range cases {
		p, err := v.Authenticate(context.Background(), "Bearer "+iss.Token(map[string]any{"tenant": "t", "roles": c.roles}))
		if err != nil {
			t.Errorf("roles %#v: %v", c.roles, err)
			continue
		}
		if !slices.Equal(p.Roles, c.want) || p.Admin != c.admin {
			t.Errorf("roles %#v: got %q admin %v, want %q admin %v", c.roles, p.Roles, p.Admin, c.want, c.admin)
		}
	}
	// Scopes never grant admin.
	p, err := v.Authenticate(context.Background(), "Bearer "+iss.Token(map[string]any{"tenant": "t", "scope": "admin", "scp": []string{"admin"}}))
	if err != nil || p.Admin {
		t.Errorf("scopes: %+v, %v", p, err)
	}
}

func TestDevTokens(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		header string
		want   usecase.Principal
		err    bool
	}{
		{"", usecase.Principal{Tenant: "local", User: "local"}, false},
		{"Bearer dev:tenant-a", usecase.Principal{Tenant: "tenant-a", User: "tenant-a"}, false},
		{"Bearer dev:ops:admin", usecase.Principal{Tenant: "ops", User: "ops", Admin: true, Roles: []string{"admin"}}, false},
		{"Bearer dev:svc:service", usecase.Principal{Tenant: "svc", User: "svc", Roles: []string{"service"}}, false},
		{"Bearer dev:svc:service,admin", usecase.Principal{Tenant: "svc", User: "svc", Admin: true, Roles: []string{"service", "admin"}}, false},
		{"Bearer dev:svc:service:admin", usecase.Principal{Tenant: "svc", User: "svc", Admin: true, Roles: []string{"service", "admin"}}, false},
		{"Bearer dev:", usecase.Principal{}, true},
		{"Bearer dev::admin", usecase.Principal{}, true},
		{"Bearer dev:" + strings.Repeat("t", 129), usecase.Principal{}, true},
		{"Bearer dev:a/b", usecase.Principal{}, true},
		{"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln", usecase.Principal{}, true},
		{"Basic dXNlcjpwYXNz", usecase.Principal{}, true},
	}
	for _, c := range cases {
		p, err := auth.Dev{}.Authenticate(ctx, c.header)
		if c.err {
			if !errors.Is(err, usecase.ErrUnauthenticated) {
				t.Errorf("%q: err = %v, want unauthenticated", c.header, err)
			}
			continue
		}
		if err != nil || p.Tenant != c.want.Tenant || p.User != c.want.User || p.Admin != c.want.Admin || !slices.Equal(p.Roles, c.want.Roles) {
			t.Errorf("%q: %+v, %v; want %+v", c.header, p, err, c.want)
		}
	}
}

// TestVerifierSkipsKeysItMustNotUse: a key set that also publishes a symmetric key, a key of
// an unknown type, a private key and an encryption key still verifies the issuer's tokens,
// and a token signed with any of those is refused (the symmetric one's secret is in the set
// for anyone to read; the others are no signing keys).
func TestVerifierSkipsKeysItMustNotUse(t *testing.T) {
	iss := authtest.NewIssuer(t)
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	iss.PublishRaw(
		`{"kty": "oct", "kid": "sym", "k": "`+b64([]byte("a shared secret"))+`"}`,
		`{"kty": "XYZ", "kid": "odd", "crv": "none"}`,
		`{"kty": "RSA", "kid": "priv", "alg": "RS256", "n": "`+b64(priv.N.Bytes())+`", "e": "AQAB", "d": "`+b64(priv.D.Bytes())+`", "p": "`+b64(priv.Primes[0].Bytes())+`", "q": "`+b64(priv.Primes[1].Bytes())+`"}`,
		`{"kty": "RSA", "kid": "enc", "use": "enc", "n": "`+b64(priv.N.Bytes())+`", "e": "AQAB"}`,
	)
	v := verifier(t, iss)
	ctx := context.Background()
	for _, kid := range []string{authtest.RSAKey, authtest.ECKey} {
		if _, err := v.Authenticate(ctx, "Bearer "+iss.TokenWithKey(kid, map[string]any{"tenant": "t"})); err != nil {
			t.Errorf("the issuer's key %s beside keys to skip: %v", kid, err)
		}
	}
	_, err = v.Authenticate(ctx, "Bearer "+iss.HS256("sym", []byte("a shared secret"), map[string]any{"tenant": "t"}))
	wantInvalid(t, err)
	for _, kid := range []string{"priv", "enc", "odd"} {
		_, err := v.Authenticate(ctx, "Bearer "+iss.Signed(kid, priv, map[string]any{"tenant": "t"}))
		wantInvalid(t, err)
	}
}
