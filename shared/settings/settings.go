// Package settings reads Tasklane's settings from the environment and validates them, and
// does nothing else: it opens no backend and builds no service (shared/app builds the
// application; shared/awsbackend and shared/embedded open the backends). The same variables
// are set by template.yaml, localstack/env.json and the Makefile; the template drift test
// checks that they agree with Vars.
//
// TABLE_NAME, QUEUE_URL and DEAD_LETTER_QUEUE_URL name the AWS resources; the SDK finds
// emulators through its standard AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS. Which
// backends a binary opens is not decided here: a Lambda function opens the AWS ones
// (awsbackend), the local runner those and, without TABLE_NAME, the embedded ones.
package settings

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tasklane/tasklane/shared/whsec"
)

// Environment variable names. Vars lists them all.
const (
	EnvTableName     = "TABLE_NAME"
	EnvQueueURL      = "QUEUE_URL"
	EnvDeadLetterURL = "DEAD_LETTER_QUEUE_URL"
	EnvDataFile      = "DATA_FILE"
	EnvMarkerSecret  = "MARKER_SECRET"
	EnvTenantClaim   = "TENANT_CLAIM"
	EnvRolesClaim    = "ROLES_CLAIM"
	EnvJWTIssuer     = "JWT_ISSUER"
	EnvJWTAudience   = "JWT_AUDIENCE"
	EnvJWKSURL       = "JWKS_URL"
	EnvBackoffBase   = "RETRY_BACKOFF_BASE"
	EnvWorkerReserve = "WORKER_RESERVE"
	EnvLogLevel      = "LOG_LEVEL"
	// EnvUpdatedAtIndex is "true" when the table has the byUpdated index (the template's
	// UpdatedAtIndex parameter), which list then reads for updatedAt order.
	EnvUpdatedAtIndex = "UPDATED_AT_INDEX"
	// EnvAdminUpdatedAtIndex is "true" when the table has the allUpdated index (the
	// template's AdminUpdatedAtIndex parameter), which list then reads for an admin's
	// updatedAt order.
	EnvAdminUpdatedAtIndex = "ADMIN_UPDATED_AT_INDEX"
	// EnvStepSigningSecret signs the catalog's http step requests ("whsec_" + base64).
	EnvStepSigningSecret = "STEP_SIGNING_SECRET"

	// Webhooks and the intake queue (shared/webhook, shared/intake).
	EnvWebhookSecret        = "WEBHOOK_SECRET"
	EnvWebhookQueueURL      = "WEBHOOK_QUEUE_URL"
	EnvWebhookDeadLetterURL = "WEBHOOK_DEAD_LETTER_QUEUE_URL"
	EnvWebhookTimeout       = "WEBHOOK_TIMEOUT"
	EnvIntakeQueueURL       = "INTAKE_QUEUE_URL"
	EnvIntakeDeadLetterURL  = "INTAKE_DEAD_LETTER_QUEUE_URL"
)

// Vars is every variable the functions read, for the template drift test.
var Vars = []string{EnvTableName, EnvQueueURL, EnvDeadLetterURL, EnvDataFile, EnvMarkerSecret,
	EnvTenantClaim, EnvRolesClaim, EnvJWTIssuer, EnvJWTAudience, EnvJWKSURL, EnvBackoffBase,
	EnvWorkerReserve, EnvLogLevel, EnvStepSigningSecret, EnvUpdatedAtIndex, EnvAdminUpdatedAtIndex,
	EnvWebhookSecret, EnvWebhookQueueURL, EnvWebhookDeadLetterURL, EnvWebhookTimeout, EnvIntakeQueueURL, EnvIntakeDeadLetterURL}

// Settings are the settings, read once.
type Settings struct {
	TableName     string
	QueueURL      string
	DeadLetterURL string
	DataFile      string
	MarkerSecret  []byte
	// Claims names the JWT claims the principal is read from (FromEnv fills in the
	// defaults; an empty name in a Settings literal is auth's default too).
	Claims Claims
	// JWT is the token issuer; with an Issuer the API verifies JWTs, without one (local
	// only) it accepts dev tokens.
	JWT JWT
	// InLambda is set when running as a Lambda function, where dev tokens are never
	// accepted.
	InLambda      bool
	BackoffBase   time.Duration
	WorkerReserve time.Duration
	LogLevel      slog.Level
	// UpdatedAtIndex: the table has dynamostore.IndexByUpdated, and the store reads it for
	// a tenant's lists in updatedAt order (UPDATED_AT_INDEX, "true" or "false").
	UpdatedAtIndex bool
	// AdminUpdatedAtIndex: the table has dynamostore.IndexAllUpdated, and the store reads it
	// for an admin's lists in updatedAt order (ADMIN_UPDATED_AT_INDEX, "true" or "false").
	AdminUpdatedAtIndex bool
	// StepSigningSecret signs the requests of the catalog's http steps, as Standard Webhooks
	// sign: STEP_SIGNING_SECRET ("whsec_" + base64 key) parsed once here; the zero Secret
	// (unset): they are sent unsigned.
	StepSigningSecret whsec.Secret
	// Local is set by the local runner (infra/local) and its tests, never by the
	// environment: a create may then give an http callbackUrl to a loopback host, and
	// webhooks may be delivered to private addresses (see callbackurl.CheckURL). A deployed
	// function never has it.
	Local bool
	// Webhooks: the whsec_ signing secret (empty: the local runner draws one and logs it),
	// the webhook queue and its dead-letter queue, and the timeout of one attempt.
	Webhooks Webhooks
	// Intake: the intake queue (the local runner polls it; deployed, its event source
	// mapping does) and its dead-letter queue, where refused messages go.
	Intake Intake
}

// Webhooks are the webhook delivery settings (see shared/webhook).
type Webhooks struct {
	Secret        string
	QueueURL      string
	DeadLetterURL string
	Timeout       time.Duration
}

// Intake are the intake queue's settings (see shared/intake).
type Intake struct {
	QueueURL      string
	DeadLetterURL string
}

// JWT is the token issuer the API functions verify bearer tokens against (see auth.Settings,
// which app builds from it).
type JWT struct {
	Issuer    string
	Audiences []string
	JWKSURL   string
}

// Claims names the JWT claims the principal is read from (see auth.Claims).
type Claims struct {
	Tenant string
	Roles  string
}

// Defaults for what the environment leaves unset.
const (
	DefaultDataFile    = "tasklane.db"
	DefaultBackoffBase = 2 * time.Second
	// DefaultWorkerReserve covers the longest demo step (60 s) and a margin.
	DefaultWorkerReserve = 65 * time.Second
	// DefaultWebhookTimeout bounds one webhook attempt (webhook.DefaultTimeout).
	DefaultWebhookTimeout = 10 * time.Second
	// DefaultTenantClaim and DefaultRolesClaim are auth.DefaultClaims (a test holds them
	// equal), named here so that settings needs no import of auth.
	DefaultTenantClaim = "tenant"
	DefaultRolesClaim  = "roles"
)

// FromEnv reads the settings. In Lambda (AWS_LAMBDA_FUNCTION_NAME set) the table is
// required, since a local default there would be a silent misconfiguration; what only some
// functions use (the queue, the marker secret) is required by Check for those (see Uses).
func FromEnv() (Settings, error) {
	c := Settings{
		TableName:     os.Getenv(EnvTableName),
		QueueURL:      os.Getenv(EnvQueueURL),
		DeadLetterURL: os.Getenv(EnvDeadLetterURL),
		DataFile:      envOr(EnvDataFile, DefaultDataFile),
		MarkerSecret:  []byte(os.Getenv(EnvMarkerSecret)),
		Claims: Claims{
			Tenant: envOr(EnvTenantClaim, DefaultTenantClaim),
			Roles:  envOr(EnvRolesClaim, DefaultRolesClaim),
		},
		JWT: JWT{
			Issuer:    strings.TrimSpace(os.Getenv(EnvJWTIssuer)),
			Audiences: splitList(os.Getenv(EnvJWTAudience)),
			JWKSURL:   strings.TrimSpace(os.Getenv(EnvJWKSURL)),
		},
		InLambda: InLambda(),
		Webhooks: Webhooks{
			Secret:        strings.TrimSpace(os.Getenv(EnvWebhookSecret)),
			QueueURL:      os.Getenv(EnvWebhookQueueURL),
			DeadLetterURL: os.Getenv(EnvWebhookDeadLetterURL),
		},
		Intake: Intake{QueueURL: os.Getenv(EnvIntakeQueueURL), DeadLetterURL: os.Getenv(EnvIntakeDeadLetterURL)},
	}
	if v := strings.TrimSpace(os.Getenv(EnvStepSigningSecret)); v != "" {
		sec, err := whsec.ParseSecret(v)
		if err != nil || !strings.HasPrefix(v, whsec.SecretPrefix) {
			return c, fmt.Errorf("%s must be whsec_ and the base64 of at least %d bytes", EnvStepSigningSecret, whsec.MinKeyBytes)
		}
		c.StepSigningSecret = sec
	}
	if c.JWT.Issuer == "" && (len(c.JWT.Audiences) > 0 || c.JWT.JWKSURL != "") {
		return c, fmt.Errorf("%s and %s need %s", EnvJWTAudience, EnvJWKSURL, EnvJWTIssuer)
	}
	var err error
	if c.BackoffBase, err = duration(EnvBackoffBase, DefaultBackoffBase); err != nil {
		return c, err
	}
	if c.WorkerReserve, err = duration(EnvWorkerReserve, DefaultWorkerReserve); err != nil {
		return c, err
	}
	if c.Webhooks.Timeout, err = duration(EnvWebhookTimeout, DefaultWebhookTimeout); err != nil {
		return c, err
	}
	if c.UpdatedAtIndex, err = flag(EnvUpdatedAtIndex); err != nil {
		return c, err
	}
	if c.AdminUpdatedAtIndex, err = flag(EnvAdminUpdatedAtIndex); err != nil {
		return c, err
	}
	if err := c.LogLevel.UnmarshalText([]byte(envOr(EnvLogLevel, "INFO"))); err != nil {
		return c, fmt.Errorf("%s: %w", EnvLogLevel, err)
	}
	if c.InLambda && c.TableName == "" {
		return c, fmt.Errorf("%s must be set in Lambda", EnvTableName)
	}
	return c, nil
}

// LambdaEndpoint is the SDK's AWS_ENDPOINT_URL_LAMBDA: locally, the stand-in the catalog's
// lambda steps are invoked on (without it `make run` has no Lambda client for them).
func LambdaEndpoint() string { return strings.TrimSpace(os.Getenv("AWS_ENDPOINT_URL_LAMBDA")) }

// InLambda reports whether the process runs as a Lambda function (the runtime sets
// AWS_LAMBDA_FUNCTION_NAME), where a missing setting is an error rather than a local default.
func InLambda() bool { return os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" }

// Uses says what a Lambda function uses besides the store. Each function opens only that and
// requires only its settings: template.yaml gives QUEUE_URL only to the functions that send,
// MARKER_SECRET only to list and the JWT settings only to the API functions, so a function
// that never sends must start without a queue, and one that sends must refuse to start
// without it rather than fail on its first request.
type Uses struct {
	// API: the function serves API routes and so verifies tokens (create, get, list, retry,
	// cancel): in Lambda it needs JWT_ISSUER and JWT_AUDIENCE.
	API bool
	// Queue: the function sends to the work queue (create, retry, the worker).
	Queue bool
	// Markers: the function seals or opens list page markers (list) or callback tokens
	// (create, get, callback: shared/callback seals them with the same key).
	Markers bool
	// Webhooks: the function delivers webhooks (webhook): it signs with WEBHOOK_SECRET and
	// re-sends to WEBHOOK_QUEUE_URL.
	Webhooks bool
	// Intake: the function consumes the intake queue (intake): refused messages go to
	// INTAKE_DEAD_LETTER_QUEUE_URL.
	Intake bool
}

// Check returns why c cannot run a function that uses u: in Lambda, JWT_ISSUER must be set
// for API, QUEUE_URL for Queue, and MARKER_SECRET (at least 16 characters) for Markers.
// Outside Lambda the local defaults apply (dev tokens, the in-process queue, a per-process
// marker secret).
func (c Settings) Check(u Uses) error {
	if !InLambda() {
		return nil
	}
	var errs []error
	if u.API && c.JWT.Issuer == "" {
		errs = append(errs, fmt.Errorf("%s (and %s) must be set in Lambda: this function verifies tokens", EnvJWTIssuer, EnvJWTAudience))
	}
	if u.Queue && c.QueueURL == "" {
		errs = append(errs, fmt.Errorf("%s must be set in Lambda: this function sends to the work queue", EnvQueueURL))
	}
	if u.Markers && len(c.MarkerSecret) < 16 {
		errs = append(errs, fmt.Errorf("%s must be set in Lambda (at least 16 characters): this function seals list markers or callback tokens", EnvMarkerSecret))
	}
	if u.Webhooks && (c.Webhooks.Secret == "" || c.Webhooks.QueueURL == "") {
		errs = append(errs, fmt.Errorf("%s and %s must be set in Lambda: this function delivers webhooks", EnvWebhookSecret, EnvWebhookQueueURL))
	}
	if u.Intake && c.Intake.DeadLetterURL == "" {
		errs = append(errs, fmt.Errorf("%s must be set in Lambda: this function sends refused messages there", EnvIntakeDeadLetterURL))
	}
	return errors.Join(errs...)
}

// flag reads the variable name as a template parameter's "true" or "false" (unset is false);
// anything else is an error, rather than silently read as false.
func flag(name string) (bool, error) {
	switch v := strings.TrimSpace(os.Getenv(name)); v {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	default:
		return false, fmt.Errorf("%s must be true or false, not %q", name, v)
	}
}

// splitList reads a comma-separated list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func duration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration (e.g. 2s, 500ms)", name, v)
	}
	return d, nil
}
