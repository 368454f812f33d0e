// Package config reads Tasklane's settings from the environment and wires the store, the
// queue, the task types and the clock once per process (a Lambda cold start, the local
// runner, a test). The same variables are set by template.yaml, localstack/env.json and the
// Makefile; the template drift test checks that they agree with Vars.
//
// The backends follow from what is set: TABLE_NAME selects the DynamoDB store (else the
// embedded file store at DATA_FILE), QUEUE_URL selects SQS (else the in-process queue). The
// SDK finds emulators through its standard AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS.
package config

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
	"github.com/tasklane/tasklane/shared/worker"
)

// Environment variable names. Vars lists them all.
const (
	EnvTableName       = "TABLE_NAME"
	EnvQueueURL        = "QUEUE_URL"
	EnvDeadLetterURL   = "DEAD_LETTER_QUEUE_URL"
	EnvDataFile        = "DATA_FILE"
	EnvMarkerSecret    = "MARKER_SECRET"
	EnvTenantClaim     = "TENANT_CLAIM"
	EnvRolesClaim      = "ROLES_CLAIM"
	EnvJWTIssuer       = "JWT_ISSUER"
	EnvJWTAudience     = "JWT_AUDIENCE"
	EnvJWKSURL         = "JWKS_URL"
	EnvBackoffBase     = "RETRY_BACKOFF_BASE"
	EnvPendingAfter    = "SWEEP_PENDING_AFTER"
	EnvProcessingAfter = "SWEEP_PROCESSING_AFTER"
	EnvWorkerReserve   = "WORKER_RESERVE"
	EnvLogLevel        = "LOG_LEVEL"
	// EnvSweepInterval is how often the local runner sweeps (deployed, the sweeper's
	// EventBridge schedule decides, so the template never sets it).
	EnvSweepInterval = "SWEEP_INTERVAL"
	// EnvSweepBatch caps the tasks of each status that one sweep re-sends.
	EnvSweepBatch = "SWEEP_BATCH"
)

// Vars is every variable the functions read, for the template drift test.
var Vars = []string{EnvTableName, EnvQueueURL, EnvDeadLetterURL, EnvDataFile, EnvMarkerSecret,
	EnvTenantClaim, EnvRolesClaim, EnvJWTIssuer, EnvJWTAudience, EnvJWKSURL, EnvBackoffBase, EnvPendingAfter, EnvProcessingAfter,
	EnvWorkerReserve, EnvLogLevel, EnvSweepInterval, EnvSweepBatch}

// Config is the settings, read once.
type Config struct {
	TableName     string
	QueueURL      string
	DeadLetterURL string
	DataFile      string
	MarkerSecret  []byte
	Claims        apigw.Claims
	// JWT is the token issuer; with an Issuer the API verifies JWTs, without one (local
	// only) it accepts dev tokens.
	JWT auth.Settings
	// InLambda is set when running as a Lambda function, where dev tokens are never
	// accepted.
	InLambda        bool
	BackoffBase     time.Duration
	PendingAfter    time.Duration
	ProcessingAfter time.Duration
	WorkerReserve   time.Duration
	LogLevel        slog.Level
	// SweepInterval is the local runner's sweep period (0 in a Config literal: the runner's
	// caller decides). SweepBatch is the sweeper's Batch (0: DefaultSweepBatch).
	SweepInterval time.Duration
	SweepBatch    int
}

// Defaults for what the environment leaves unset.
const (
	DefaultDataFile        = "tasklane.db"
	DefaultBackoffBase     = 2 * time.Second
	DefaultPendingAfter    = time.Minute
	DefaultProcessingAfter = 20 * time.Minute
	// DefaultWorkerReserve covers the longest demo step (60 s) and a margin.
	DefaultWorkerReserve = 65 * time.Second
	// DefaultSweepInterval matches nothing deployed (the schedule is the template's): often
	// enough that a lost message locally costs seconds beyond PendingAfter, not minutes.
	DefaultSweepInterval = 30 * time.Second
	DefaultSweepBatch    = 100
)

// FromEnv reads the settings. In Lambda (AWS_LAMBDA_FUNCTION_NAME set) the table is
// required, since a local default there would be a silent misconfiguration; what only some
// functions use (the queue, the marker secret) is required by Load for those (see Uses).
func FromEnv() (Config, error) {
	c := Config{
		TableName:     os.Getenv(EnvTableName),
		QueueURL:      os.Getenv(EnvQueueURL),
		DeadLetterURL: os.Getenv(EnvDeadLetterURL),
		DataFile:      envOr(EnvDataFile, DefaultDataFile),
		MarkerSecret:  []byte(os.Getenv(EnvMarkerSecret)),
		Claims: apigw.Claims{
			Tenant: envOr(EnvTenantClaim, apigw.DefaultClaims.Tenant),
			Roles:  envOr(EnvRolesClaim, apigw.DefaultClaims.Roles),
		},
		JWT: auth.Settings{
			Issuer:    strings.TrimSpace(os.Getenv(EnvJWTIssuer)),
			Audiences: splitList(os.Getenv(EnvJWTAudience)),
			JWKSURL:   strings.TrimSpace(os.Getenv(EnvJWKSURL)),
		},
		InLambda: inLambda(),
	}
	if c.JWT.Issuer == "" && (len(c.JWT.Audiences) > 0 || c.JWT.JWKSURL != "") {
		return c, fmt.Errorf("%s and %s need %s", EnvJWTAudience, EnvJWKSURL, EnvJWTIssuer)
	}
	var err error
	if c.BackoffBase, err = duration(EnvBackoffBase, DefaultBackoffBase); err != nil {
		return c, err
	}
	if c.PendingAfter, err = duration(EnvPendingAfter, DefaultPendingAfter); err != nil {
		return c, err
	}
	if c.ProcessingAfter, err = duration(EnvProcessingAfter, DefaultProcessingAfter); err != nil {
		return c, err
	}
	if c.WorkerReserve, err = duration(EnvWorkerReserve, DefaultWorkerReserve); err != nil {
		return c, err
	}
	if c.SweepInterval, err = duration(EnvSweepInterval, DefaultSweepInterval); err != nil {
		return c, err
	}
	if c.SweepBatch, err = positiveInt(EnvSweepBatch, DefaultSweepBatch); err != nil {
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

// inLambda reports whether the process runs as a Lambda function (the runtime sets
// AWS_LAMBDA_FUNCTION_NAME), where a missing setting is an error rather than a local default.
func inLambda() bool { return os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" }

// Uses says what a Lambda function uses besides the store. Each function opens only that and
// requires only its settings: template.yaml gives QUEUE_URL only to the functions that send,
// MARKER_SECRET only to list and the JWT settings only to the API functions, so a function
// that never sends must start without a queue, and one that sends must refuse to start
// without it rather than fail on its first request.
type Uses struct {
	// API: the function serves API routes and so verifies tokens (create, get, list, retry,
	// cancel): in Lambda it needs JWT_ISSUER and JWT_AUDIENCE.
	API bool
	// Queue: the function sends to the work queue (create, retry, the worker, the sweeper).
	Queue bool
	// Markers: the function seals or opens list page markers (list).
	Markers bool
}

// Check returns why c cannot run a function that uses u: in Lambda, JWT_ISSUER must be set
// for API, QUEUE_URL for Queue, and MARKER_SECRET (at least 16 characters) for Markers.
// Outside Lambda the local defaults apply (dev tokens, the in-process queue, a per-process
// marker secret).
func (c Config) Check(u Uses) error {
	if !inLambda() {
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
		errs = append(errs, fmt.Errorf("%s must be set in Lambda (at least 16 characters): this function seals list markers", EnvMarkerSecret))
	}
	return errors.Join(errs...)
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

func positiveInt(name string, def int) (int, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive integer", name, v)
	}
	return n, nil
}

// Deps are the process's wired dependencies.
type Deps struct {
	Config Config
	Store  task.Store
	Queue  queue.Queue
	// DeadLetter is the dead-letter queue when the process consumes it (local runner); nil
	// in Lambda, where the event source mapping delivers it.
	DeadLetter queue.Queue
	Types      *task.Registry
	Markers    *marker.Sealer
	// Auth authenticates API requests: a JWT verifier when Config.JWT names an issuer, else
	// dev tokens (locally) or, in Lambda, a refusal of every request.
	Auth    auth.Authenticator
	Log     *slog.Logger
	Now     func() time.Time
	closers []io.Closer
}

// Types returns the registry of task types this deployment runs. Add a type here.
func Types() (*task.Registry, error) {
	return task.NewRegistry(demo.Type())
}

// Load reads the environment, checks it for what the function uses (Config.Check) and wires
// the store and only what it uses; for Lambda mains. A function without Uses.Queue gets a
// queue that refuses every call (noQueue), so that a stray send is an error, not a panic.
func Load(ctx context.Context, u Uses) (*Deps, error) {
	c, err := FromEnv()
	if err != nil {
		return nil, err
	}
	if err := c.Check(u); err != nil {
		return nil, err
	}
	return open(ctx, c, nil, u)
}

// Open wires dependencies for c, all of them (the local runner and tests run every
// function in one process). log may be nil (JSON to stdout at c.LogLevel).
func Open(ctx context.Context, c Config, log *slog.Logger) (*Deps, error) {
	return open(ctx, c, log, Uses{Queue: true, Markers: true})
}

func open(ctx context.Context, c Config, log *slog.Logger, u Uses) (*Deps, error) {
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: c.LogLevel}))
	}
	d := &Deps{Config: c, Log: log, Now: func() time.Time { return time.Now().UTC() }}
	var err error
	if d.Types, err = Types(); err != nil {
		return nil, err
	}
	var awsCfg *aws.Config
	loadAWS := func() (aws.Config, error) {
		if awsCfg == nil {
			cfg, err := loadAWSConfig(ctx)
			if err != nil {
				return aws.Config{}, fmt.Errorf("aws config: %w", err)
			}
			awsCfg = &cfg
		}
		return *awsCfg, nil
	}
	if c.TableName != "" {
		cfg, err := loadAWS()
		if err != nil {
			return nil, err
		}
		d.Store = dynamostore.New(dynamodb.NewFromConfig(cfg, serviceEndpoint("DYNAMODB", func(o *dynamodb.Options, u *string) { o.BaseEndpoint = u })), c.TableName)
	} else {
		store, closer, err := openFileStore(c.DataFile)
		if err != nil {
			return nil, err
		}
		d.Store = store
		d.closers = append(d.closers, closer)
	}
	if !u.Queue {
		d.Queue = noQueue{}
	} else if c.QueueURL != "" {
		cfg, err := loadAWS()
		if err != nil {
			return nil, err
		}
		client := sqs.NewFromConfig(cfg, serviceEndpoint("SQS", func(o *sqs.Options, u *string) { o.BaseEndpoint = u }))
		d.Queue = sqsqueue.New(client, c.QueueURL)
		if c.DeadLetterURL != "" {
			d.DeadLetter = sqsqueue.New(client, c.DeadLetterURL)
		}
	} else {
		if d.Queue, d.DeadLetter, err = memQueues(); err != nil {
			return nil, err
		}
	}
	secret := c.MarkerSecret
	if len(secret) == 0 {
		// Local, or a function that never uses markers (Check requires the secret in Lambda
		// where Uses.Markers): markers last as long as the process.
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	if d.Markers, err = marker.New(secret); err != nil {
		return nil, err
	}
	if d.Auth, err = authenticator(c); err != nil {
		return nil, err
	}
	return d, nil
}

// noQueue is the queue of a function that does not use one (Uses.Queue false).
type noQueue struct{}

var errNoQueue = errors.New("this function has no work queue (config.Uses.Queue is false)")

func (noQueue) Send(context.Context, queue.Message, time.Duration) error { return errNoQueue }
func (noQueue) Receive(context.Context, int, time.Duration, time.Duration) ([]queue.Delivery, error) {
	return nil, errNoQueue
}
func (noQueue) Delete(context.Context, string) error                          { return errNoQueue }
func (noQueue) ChangeVisibility(context.Context, string, time.Duration) error { return errNoQueue }

// authenticator chooses how API requests are authenticated. The verifier is made once per
// process, so its key set is shared by every invocation of the sandbox; it fetches the keys
// on the first token, not here, so that a cold start does not wait on the identity provider.
func authenticator(c Config) (auth.Authenticator, error) {
	switch {
	case c.JWT.Issuer != "":
		v, err := auth.NewVerifier(c.JWT, c.Claims)
		if err != nil {
			return nil, fmt.Errorf("%s/%s/%s: %w", EnvJWTIssuer, EnvJWTAudience, EnvJWKSURL, err)
		}
		return v, nil
	case c.InLambda:
		// Check refuses this at start-up (Uses.API); the background functions never authenticate.
		return refuseAll{}, nil
	}
	return auth.Dev{}, nil
}

// refuseAll is the authenticator of a Lambda function without an issuer: dev tokens would
// let anyone be anyone, so nothing is accepted.
type refuseAll struct{}

func (refuseAll) Authenticate(context.Context, string) (usecase.Principal, error) {
	return usecase.Principal{}, &auth.Error{Reason: EnvJWTIssuer + " is not set"}
}

// Close releases the file store, if any.
func (d *Deps) Close() error {
	var errs []error
	for _, c := range d.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Service is the API's use cases over these dependencies.
func (d *Deps) Service() *usecase.Service {
	return &usecase.Service{Store: d.Store, Queue: d.Queue, Types: d.Types, Markers: d.Markers, Now: d.Now, Log: d.Log}
}

// Handler is the API Gateway handler of one function ("" for all routes).
func (d *Deps) Handler(function string) *apigw.Handler {
	return apigw.New(d.Service(), function, d.Auth, d.Log)
}

// Worker is the work-queue (and dead-letter) consumer over these dependencies.
func (d *Deps) Worker() *worker.Worker {
	return &worker.Worker{Store: d.Store, Queue: d.Queue, Types: d.Types, Now: d.Now, Log: d.Log,
		BackoffBase: d.Config.BackoffBase, Reserve: d.Config.WorkerReserve}
}

// Sweeper is the stale-task sweeper over these dependencies.
func (d *Deps) Sweeper() *worker.Sweeper {
	batch := d.Config.SweepBatch
	if batch <= 0 {
		batch = DefaultSweepBatch
	}
	return &worker.Sweeper{Store: d.Store, Queue: d.Queue, Now: d.Now, Log: d.Log,
		PendingAfter: d.Config.PendingAfter, ProcessingAfter: d.Config.ProcessingAfter, Batch: batch}
}
