package config

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/authtest"
	"github.com/tasklane/tasklane/shared/usecase"
)

func TestFromEnvJWTSettings(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "")
	t.Setenv(EnvJWTIssuer, " https://idp.example.com/pool ")
	t.Setenv(EnvJWTAudience, "app-1, app-2,,")
	t.Setenv(EnvJWKSURL, "")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.JWT.Issuer != "https://idp.example.com/pool" || !slices.Equal(c.JWT.Audiences, []string{"app-1", "app-2"}) || c.JWT.JWKSURL != "" || c.InLambda {
		t.Errorf("settings %+v, in Lambda %v", c.JWT, c.InLambda)
	}
	t.Setenv(EnvJWTIssuer, "")
	if _, err := FromEnv(); err == nil {
		t.Error("JWT_AUDIENCE without JWT_ISSUER was accepted")
	}
}

// TestAPIInLambdaRequiresIssuer: an API function in Lambda without JWT_ISSUER fails at
// start-up; with an issuer it verifies tokens; dev tokens are never accepted there.
func TestAPIInLambdaRequiresIssuer(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-get")
	t.Setenv(EnvTableName, "tasks")
	t.Setenv(EnvMarkerSecret, "0123456789abcdef0123")
	t.Setenv(EnvJWTIssuer, "")
	t.Setenv(EnvJWTAudience, "")
	t.Setenv(EnvJWKSURL, "")
	if _, err := Load(context.Background(), Uses{API: true}); err == nil {
		t.Fatal("Load(Uses{API: true}) in Lambda without JWT_ISSUER succeeded")
	}
	// A function wired without an issuer anyway (config.Load) refuses every request.
	c, err := FromEnv()
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
	t.Setenv(EnvJWTIssuer, "http://idp.example.com")
	t.Setenv(EnvJWTAudience, "app")
	if c, err = FromEnv(); err != nil {
		t.Fatal(err)
	}
	if _, err := authenticator(c); err == nil {
		t.Error("an http issuer that is not loopback was accepted")
	}
}

func TestOpenChoosesAuthenticator(t *testing.T) {
	iss := authtest.NewIssuer(t)
	base := Config{DataFile: filepath.Join(t.TempDir(), "a.db"), MarkerSecret: []byte("0123456789abcdef")}
	d, err := Open(context.Background(), base, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, ok := d.Auth.(auth.Dev); !ok {
		t.Errorf("local without issuer: %T, want auth.Dev", d.Auth)
	}
	withJWT := base
	withJWT.DataFile = filepath.Join(t.TempDir(), "b.db")
	withJWT.JWT = auth.Settings{Issuer: iss.URL, Audiences: []string{authtest.Audience}}
	d2, err := Open(context.Background(), withJWT, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	p, err := d2.Auth.Authenticate(context.Background(), "Bearer "+iss.Token(map[string]any{"tenant": "t"}))
	if err != nil || p.Tenant != "t" {
		t.Errorf("local with issuer: %+v, %v", p, err)
	}
	if _, err := d2.Auth.Authenticate(context.Background(), "Bearer dev:t"); err == nil {
		t.Error("local with issuer accepted a dev token")
	}
}
