package contracttest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/authtest"
	"github.com/tasklane/tasklane/shared/localrun"
	"github.com/tasklane/tasklane/shared/settings"
)

// TestLocalRunnerWithJWTIssuer: with JWT_ISSUER set, the local runner verifies real tokens
// as the deployed functions do (so `make run` can be pointed at a real identity provider):
// the token's tenant owns what it creates, dev tokens and no Authorization are 401, and the
// roles claim makes an admin.
func TestLocalRunnerWithJWTIssuer(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	deps := apptest.OpenEmbedded(t, func(c *settings.Settings) {
		c.MarkerSecret = []byte("contract-test-secret")
		c.Claims = settings.Claims{Tenant: "custom:tenant", Roles: "roles"}
		c.JWT = settings.JWT{Issuer: iss.URL, Audiences: []string{authtest.Audience}}
	})
	deps.Log = apptest.QuietLogger(t)
	srv := httptest.NewServer(localrun.NewServer(deps))
	t.Cleanup(srv.Close)
	e := &env{t: t, backend: "embedded", url: srv.URL, deps: deps}
	bearer := func(claims map[string]any) []string {
		return []string{"Authorization", "Bearer " + iss.Token(claims)}
	}
	a := bearer(map[string]any{"custom:tenant": "tenant-a", "sub": "alice"})
	b := bearer(map[string]any{"custom:tenant": "tenant-b"})
	admin := bearer(map[string]any{"custom:tenant": "ops", "roles": []string{"admin"}})
	e.schemas = e.loadSchemas(a...)

	id := e.create(nil, a...)
	r := e.do("GET", "/v1/tasks/"+id, nil, a...)
	if r.status != http.StatusOK || r.json(t)["owner"] != "tenant-a" {
		t.Fatalf("tenant-a's own task: %d %s", r.status, r.body)
	}
	problem(t, e.do("GET", "/v1/tasks/"+id, nil, b...), http.StatusNotFound, "TASK_NOT_FOUND")
	if r := e.do("GET", "/v1/tasks?owner=tenant-a", nil, admin...); r.status != http.StatusOK {
		t.Errorf("admin lists tenant-a: %d %s", r.status, r.body)
	}

	for _, c := range []struct {
		name      string
		headers   []string
		challenge string
	}{
		{"no Authorization (not tenant local)", nil, "Bearer"},
		{"dev token", as("tenant-a", "admin"), `Bearer error="invalid_token"`},
		{"expired", bearer(map[string]any{"custom:tenant": "tenant-a", "exp": time.Now().Add(-time.Hour).Unix()}), `Bearer error="invalid_token"`},
		{"wrong audience", bearer(map[string]any{"custom:tenant": "tenant-a", "aud": "other"}), `Bearer error="invalid_token"`},
		{"tenant from the default claim name", bearer(map[string]any{"tenant": "tenant-a"}), `Bearer error="invalid_token"`},
	} {
		r := e.do("GET", "/v1/tasks/"+id, nil, append(c.headers, "X-Request-Id", "jwt-1")...)
		problem(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
		if got := r.header.Get("WWW-Authenticate"); got != c.challenge {
			t.Errorf("%s: WWW-Authenticate %q, want %q", c.name, got, c.challenge)
		}
		if got := r.header.Get("X-Request-Id"); got != "jwt-1" {
			t.Errorf("%s: X-Request-Id %q", c.name, got)
		}
	}
	if n := iss.Fetches(); n != 1 {
		t.Errorf("the JWKS was fetched %d times for one process, want once", n)
	}
}
