package settings

import (
	"slices"
	"strings"
	"testing"
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
// start-up (awsbackend.App runs Check; its own test holds that too).
func TestAPIInLambdaRequiresIssuer(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-get")
	t.Setenv(EnvTableName, "tasks")
	t.Setenv(EnvMarkerSecret, "0123456789abcdef0123")
	t.Setenv(EnvJWTIssuer, "")
	t.Setenv(EnvJWTAudience, "")
	t.Setenv(EnvJWKSURL, "")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(Uses{API: true}); err == nil || !strings.Contains(err.Error(), EnvJWTIssuer) {
		t.Errorf("Check(Uses{API: true}) in Lambda without JWT_ISSUER = %v", err)
	}
}

func TestFromEnvInLambdaRequiresTable(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-get")
	t.Setenv(EnvTableName, "")
	t.Setenv(EnvMarkerSecret, "")
	t.Setenv(EnvQueueURL, "")
	if _, err := FromEnv(); err == nil {
		t.Error("FromEnv in Lambda without TABLE_NAME succeeded")
	}
	t.Setenv(EnvTableName, "tasks")
	// Neither the queue nor the marker secret is FromEnv's business: get, cancel and
	// deadletter have neither (see Uses).
	if _, err := FromEnv(); err != nil {
		t.Errorf("FromEnv in Lambda without QUEUE_URL and MARKER_SECRET: %v", err)
	}
	t.Setenv(EnvBackoffBase, "500ms")
	c, err := FromEnv()
	if err != nil || c.BackoffBase.Milliseconds() != 500 {
		t.Errorf("FromEnv: %+v, %v", c, err)
	}
	t.Setenv(EnvBackoffBase, "soon")
	if _, err := FromEnv(); err == nil {
		t.Error("a bad duration was accepted")
	}
}

// TestCheckRequiresWhatAFunctionUses: in Lambda a sender needs QUEUE_URL and list needs
// MARKER_SECRET; the others start without them. Outside Lambda the local defaults apply.
func TestCheckRequiresWhatAFunctionUses(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	cases := []struct {
		name    string
		c       Settings
		u       Uses
		wantErr string
	}{
		{"reader without queue or secret", Settings{TableName: "t"}, Uses{}, ""},
		{"sender without queue", Settings{TableName: "t"}, Uses{Queue: true}, EnvQueueURL + " must be set"},
		{"sender with queue", Settings{TableName: "t", QueueURL: "http://q"}, Uses{Queue: true}, ""},
		{"list without secret", Settings{TableName: "t"}, Uses{Markers: true}, EnvMarkerSecret + " must be set"},
		{"list with a short secret", Settings{TableName: "t", MarkerSecret: []byte("short")}, Uses{Markers: true}, EnvMarkerSecret + " must be set"},
		{"list with secret", Settings{TableName: "t", MarkerSecret: secret}, Uses{Markers: true}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-x")
			err := c.c.Check(c.u)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("Check(%+v) = %v, want %q", c.u, err, c.wantErr)
			}
			t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "")
			if err := c.c.Check(c.u); err != nil {
				t.Errorf("outside Lambda: Check(%+v) = %v", c.u, err)
			}
		})
	}
}

// TestFromEnvUpdatedAtIndexes: UPDATED_AT_INDEX and ADMIN_UPDATED_AT_INDEX are the template
// parameters' "true" or "false" (unset is false); anything else stops start-up rather than
// silently reading no index.
func TestFromEnvUpdatedAtIndexes(t *testing.T) {
	for name, field := range map[string]func(Settings) bool{
		EnvUpdatedAtIndex:      func(c Settings) bool { return c.UpdatedAtIndex },
		EnvAdminUpdatedAtIndex: func(c Settings) bool { return c.AdminUpdatedAtIndex },
	} {
		for v, want := range map[string]bool{"": false, "false": false, "true": true} {
			t.Setenv(name, v)
			if c, err := FromEnv(); err != nil || field(c) != want {
				t.Errorf("%s=%q: %v, %v; want %v", name, v, field(c), err, want)
			}
		}
		for _, v := range []string{"yes", "True", "1"} {
			t.Setenv(name, v)
			if _, err := FromEnv(); err == nil {
				t.Errorf("%s=%q was accepted", name, v)
			}
		}
		t.Setenv(name, "")
	}
}
