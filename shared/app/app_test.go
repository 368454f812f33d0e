package app

import (
	"context"
	"errors"
	"testing"

	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/authtest"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/usecase"
)

// newApp builds an App on no backends: what these tests look at needs none.
func newApp(t *testing.T, s settings.Settings) *App {
	t.Helper()
	a, err := New(s, Backends{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestLambdaWithoutIssuerRefusesEveryToken: a function wired without an issuer in Lambda
// anyway (Check refuses to start one that serves the API) refuses every request, dev tokens
// included; an http issuer that is not loopback is refused at start-up.
func TestLambdaWithoutIssuerRefusesEveryToken(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-get")
	t.Setenv(settings.EnvTableName, "tasks")
	t.Setenv(settings.EnvMarkerSecret, "0123456789abcdef0123")
	t.Setenv(settings.EnvJWTIssuer, "")
	t.Setenv(settings.EnvJWTAudience, "")
	t.Setenv(settings.EnvJWKSURL, "")
	c, err := settings.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	a, err := authenticator(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"", "Bearer dev:tenant-a", "Bearer dev:ops:admin"} {
		if _, err := a.Authenticate(context.Background(), h); !errors.Is(err, usecase.ErrUnauthenticated) {
			t.Errorf("Lambda without issuer, %q: err %v, want unauthenticated", h, err)
		}
	}
	t.Setenv(settings.EnvJWTIssuer, "http://idp.example.com")
	t.Setenv(settings.EnvJWTAudience, "app")
	if c, err = settings.FromEnv(); err != nil {
		t.Fatal(err)
	}
	if _, err := authenticator(c); err == nil {
		t.Error("an http issuer that is not loopback was accepted")
	}
}

func TestNewChoosesAuthenticator(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "")
	iss := authtest.NewIssuer(t)
	base := settings.Settings{MarkerSecret: []byte("0123456789abcdef")}
	d := newApp(t, base)
	if _, ok := d.Auth.(auth.Dev); !ok {
		t.Errorf("local without issuer: %T, want auth.Dev", d.Auth)
	}
	withJWT := base
	withJWT.JWT = settings.JWT{Issuer: iss.URL, Audiences: []string{authtest.Audience}}
	d2 := newApp(t, withJWT)
	p, err := d2.Auth.Authenticate(context.Background(), "Bearer "+iss.Token(map[string]any{"tenant": "t"}))
	if err != nil || p.Tenant != "t" {
		t.Errorf("local with issuer: %+v, %v", p, err)
	}
	if _, err := d2.Auth.Authenticate(context.Background(), "Bearer dev:t"); err == nil {
		t.Error("local with issuer accepted a dev token")
	}
}

// TestDefaultClaims: settings names auth's default claims without importing auth.
func TestDefaultClaims(t *testing.T) {
	if got := (auth.Claims{Tenant: settings.DefaultTenantClaim, Roles: settings.DefaultRolesClaim}); got != auth.DefaultClaims {
		t.Errorf("settings' default claims %+v, auth's %+v", got, auth.DefaultClaims)
	}
}

// TestNewWithoutQueueRefusesSends: a function that does not use the queue gets one that
// answers every call with an error rather than a nil queue that would panic.
func TestNewWithoutQueueRefusesSends(t *testing.T) {
	d := newApp(t, settings.Settings{})
	if err := d.Queue.Send(context.Background(), queue.Message{TaskID: "x"}, 0); err == nil {
		t.Error("Send on the queue of a function without Uses.Queue succeeded")
	}
}
