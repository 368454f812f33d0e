// Package app builds Tasklane from opened backends: the use-case service, the API Gateway
// handlers, the worker, the sweeper and the authenticator, once per process (a Lambda cold
// start, the local runner, a test). It reads no environment (shared/settings does) and opens
// no backend: shared/awsbackend opens DynamoDB and SQS for the Lambda functions,
// shared/embedded the file store and in-process queues for the local runner and tests, and
// shared/tasktypes says which task types run.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/logscope"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/metric"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
	"github.com/tasklane/tasklane/shared/worker"
)

// Backends are the opened store and queues an App runs on.
type Backends struct {
	Store task.Store
	// Queue is the work queue; nil for a process that sends nothing (settings.Uses.Queue
	// false): its App gets a queue that refuses every call, so that a stray send is an
	// error, not a panic.
	Queue queue.Queue
	// DeadLetter is the dead-letter queue when the process consumes it (local runner); nil
	// in Lambda, where the event source mapping delivers it.
	DeadLetter queue.Queue
	// Closer releases what was opened (the file store's lock), or nil.
	Closer io.Closer
}

// App is the application of one process. Its fields are read each time a service is made,
// so a test may replace one (Now, Types, a fault-injecting Store or Queue) before making it.
type App struct {
	Settings   settings.Settings
	Store      task.Store
	Queue      queue.Queue
	DeadLetter queue.Queue
	Types      *task.Registry
	Markers    *marker.Sealer
	// Auth authenticates API requests: a JWT verifier when Settings.JWT names an issuer,
	// else dev tokens (locally) or, in Lambda, a refusal of every request.
	Auth auth.Authenticator
	// Hooks are called after every change the use cases and the worker store (see
	// task.Hook): the place for in-process reactions such as metrics or local events.
	Hooks  []task.Hook
	Log    *slog.Logger
	Now    func() time.Time
	closer io.Closer

	// Metrics writes CloudWatch EMF lines (shared/metric): to standard output in Lambda,
	// nowhere elsewhere. Its hook is the first of Hooks.
	Metrics *metric.Recorder
}

// New builds the application over b with the task types types. log may be nil (JSON to
// stdout at s.LogLevel).
func New(s settings.Settings, b Backends, types *task.Registry, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: s.LogLevel}))
	}
	// Every line logged with a request's or a message's context names its request, task and
	// tenant (shared/logscope).
	log = slog.New(logscope.Handler(log.Handler()))
	a := &App{Settings: s, Store: b.Store, Queue: b.Queue, DeadLetter: b.DeadLetter, Types: types,
		Log: log, Now: func() time.Time { return time.Now().UTC() }, closer: b.Closer}
	if a.Queue == nil {
		a.Queue = noQueue{}
	}
	a.Metrics = metric.Discard()
	if s.InLambda {
		a.Metrics = metric.New(os.Stdout, nil)
	}
	// Read at each change, so that a test may replace a.Metrics.
	a.Hooks = []task.Hook{task.HookFunc(func(ctx context.Context, st task.Stored) error {
		return a.Metrics.Hook().AfterStore(ctx, st)
	})}
	secret := s.MarkerSecret
	if len(secret) == 0 {
		// Local, or a function that never uses markers (Check requires the secret in Lambda
		// where Uses.Markers): markers last as long as the process.
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	var err error
	if a.Markers, err = marker.New(secret); err != nil {
		return nil, err
	}
	if a.Auth, err = authenticator(s); err != nil {
		return nil, err
	}
	return a, nil
}

// noQueue is the queue of a process that does not use one (Backends.Queue nil).
type noQueue struct{}

var errNoQueue = errors.New("this function has no work queue (settings.Uses.Queue is false)")

func (noQueue) Send(context.Context, queue.Message, time.Duration) error { return errNoQueue }
func (noQueue) Receive(context.Context, int, time.Duration, time.Duration) ([]queue.Delivery, error) {
	return nil, errNoQueue
}
func (noQueue) Delete(context.Context, string) error                          { return errNoQueue }
func (noQueue) ChangeVisibility(context.Context, string, time.Duration) error { return errNoQueue }

// authenticator chooses how API requests are authenticated. The verifier is made once per
// process, so its key set is shared by every invocation of the sandbox; it fetches the keys
// on the first token, not here, so that a cold start does not wait on the identity provider.
func authenticator(s settings.Settings) (auth.Authenticator, error) {
	switch {
	case s.JWT.Issuer != "":
		v, err := auth.NewVerifier(auth.Settings{Issuer: s.JWT.Issuer, Audiences: s.JWT.Audiences, JWKSURL: s.JWT.JWKSURL},
			auth.Claims{Tenant: s.Claims.Tenant, Roles: s.Claims.Roles})
		if err != nil {
			return nil, fmt.Errorf("%s/%s/%s: %w", settings.EnvJWTIssuer, settings.EnvJWTAudience, settings.EnvJWKSURL, err)
		}
		return v, nil
	case s.InLambda:
		// Check refuses this at start-up (Uses.API); the background functions never authenticate.
		return refuseAll{}, nil
	}
	return auth.Dev{}, nil
}

// refuseAll is the authenticator of a Lambda function without an issuer: dev tokens would
// let anyone be anyone, so nothing is accepted.
type refuseAll struct{}

func (refuseAll) Authenticate(context.Context, string) (usecase.Principal, error) {
	return usecase.Principal{}, &auth.Error{Reason: settings.EnvJWTIssuer + " is not set"}
}

// Close releases the backends' resources (the file store), if any.
func (a *App) Close() error {
	if a.closer == nil {
		return nil
	}
	return a.closer.Close()
}

// Service is the API's use cases.
func (a *App) Service() *usecase.Service {
	return &usecase.Service{Store: a.Store, Queue: a.Queue, Types: a.Types, Markers: a.Markers, Now: a.Now, Log: a.Log, Hooks: a.Hooks}
}

// Handler is the API Gateway handler of one function ("" for all routes).
func (a *App) Handler(function string) *apigw.Handler {
	h := apigw.New(a.Service(), function, a.Auth, a.Log)
	h.BackoffBase = a.Settings.BackoffBase
	return h
}

// Worker is the work-queue (and dead-letter) consumer.
func (a *App) Worker() *worker.Worker {
	return &worker.Worker{Store: a.Store, Queue: a.Queue, Types: a.Types, Now: a.Now, Log: a.Log, Hooks: a.Hooks,
		BackoffBase: a.Settings.BackoffBase, Reserve: a.Settings.WorkerReserve, Metrics: a.Metrics}
}

// Sweeper is the stale-task sweeper.
func (a *App) Sweeper() *worker.Sweeper {
	batch := a.Settings.SweepBatch
	if batch <= 0 {
		batch = settings.DefaultSweepBatch
	}
	return &worker.Sweeper{Store: a.Store, Queue: a.Queue, Now: a.Now, Log: a.Log,
		PendingAfter: a.Settings.PendingAfter, ProcessingAfter: a.Settings.ProcessingAfter, Batch: batch}
}
