// Package app builds Tasklane from opened backends: the use-case service, the API Gateway
// handlers, the worker and the authenticator, once per process (a Lambda cold
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
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/intake"
	"github.com/tasklane/tasklane/shared/logscope"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/metric"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
	"github.com/tasklane/tasklane/shared/webhook"
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
	// Webhooks is the webhook queue and WebhookDeadLetter its dead-letter queue (where given-up
	// deliveries go); nil: the process enqueues and delivers no webhooks.
	Webhooks          queue.BodyQueue
	WebhookDeadLetter queue.BodyQueue
	// Intake is the intake queue, for the local runner, which polls it itself (nil in Lambda,
	// where the event source mapping delivers it); IntakeDeadLetter takes refused messages.
	Intake           queue.BodyQueue
	IntakeDeadLetter queue.BodyQueue
	// Gone remembers the webhook URLs that answered 410 (see webhook.GoneList); nil: none.
	Gone webhook.GoneList
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

	// Webhooks, WebhookDeadLetter, Intake, IntakeDeadLetter and Gone are the Backends'.
	Webhooks          queue.BodyQueue
	WebhookDeadLetter queue.BodyQueue
	Intake            queue.BodyQueue
	IntakeDeadLetter  queue.BodyQueue
	Gone              webhook.GoneList
	// WebhookSecret signs webhooks: Settings.Webhooks.Secret, or one drawn at start-up
	// (and logged) for a local process with a webhook queue and no WEBHOOK_SECRET.
	WebhookSecret webhook.Secret
	// Events receives the events made outside a stored change: the intake's
	// tasklane.task.rejected. Deployed it is the EventBridge sink; nil: they are logged only.
	Events event.Sink
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
	a.Webhooks, a.WebhookDeadLetter, a.Intake, a.IntakeDeadLetter, a.Gone = b.Webhooks, b.WebhookDeadLetter, b.Intake, b.IntakeDeadLetter, b.Gone
	if err := a.webhookSecret(); err != nil {
		return nil, err
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
	return &usecase.Service{Store: a.Store, Queue: a.Queue, Types: a.Types, Markers: a.Markers, Now: a.Now, Log: a.Log, Hooks: a.Hooks,
		LocalCallbacks: a.Settings.Local}
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

// webhookSecret reads WEBHOOK_SECRET, or draws a secret for a local process that delivers
// webhooks without one and logs it, so that a developer can verify what the receiver gets.
// In Lambda, Settings.Check requires the variable of the webhook function.
func (a *App) webhookSecret() error {
	if a.Settings.Webhooks.Secret != "" {
		sec, err := webhook.ParseSecret(a.Settings.Webhooks.Secret)
		if err != nil {
			return fmt.Errorf("%s: %w", settings.EnvWebhookSecret, err)
		}
		a.WebhookSecret = sec
		return nil
	}
	if a.Webhooks != nil && !a.Settings.InLambda {
		a.WebhookSecret = webhook.NewSecret()
		a.Log.Warn("WEBHOOK_SECRET is not set: this run signs webhooks with a generated secret", "secret", a.WebhookSecret.String())
	}
	return nil
}

// WebhookSink is the event.Sink that enqueues the webhooks of events (see webhook.Sink); nil
// without a webhook queue. Whoever publishes a stored change's events adds it to its sinks.
func (a *App) WebhookSink() event.Sink {
	if a.Webhooks == nil {
		return nil
	}
	return webhook.Sink{Queue: a.Webhooks}
}

// Deliverer is the webhook queue's consumer. Outside Settings.Local it dials no private
// address.
func (a *App) Deliverer() *webhook.Deliverer {
	d := &webhook.Deliverer{Secret: a.WebhookSecret, Queue: a.Webhooks, Gone: a.Gone,
		Client: webhook.NewClient(a.Settings.Local), Timeout: a.Settings.Webhooks.Timeout, Now: a.Now, Log: a.Log}
	if a.WebhookDeadLetter != nil {
		d.DeadLetter = a.WebhookDeadLetter
	}
	return d
}

// IntakeHandler is the intake queue's consumer.
func (a *App) IntakeHandler() *intake.Handler {
	h := &intake.Handler{Service: a.Service(), Events: a.Events, Now: a.Now, Log: a.Log}
	if a.IntakeDeadLetter != nil {
		h.DeadLetter = a.IntakeDeadLetter
	}
	return h
}
