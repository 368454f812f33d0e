// Package usecase is the tasks API's use cases: create, get, result, list, cancel and retry, as a
// principal (tenant and roles) asks for them. It speaks in domain values and errors; the
// API Gateway adapter (shared/apigw) turns HTTP events into calls here and results and
// errors into responses.
package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tasklane/tasklane/shared/callbackurl"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/servicetask"
	"github.com/tasklane/tasklane/shared/task"
)

// Errors of the use cases that are not domain errors; the adapter maps each to a status
// and errorCode.
var (
	// ErrUnauthenticated: the request carries no principal.
	ErrUnauthenticated = errors.New("the request has no valid credentials")
	// ErrForbidden: the principal may not do this (e.g. list another tenant without admin).
	ErrForbidden = errors.New("the principal may not do this")
	// ErrInvalidMarker: a list marker that does not open for this tenant and query.
	ErrInvalidMarker = errors.New("the marker is not valid for this tenant and query")
	// ErrIdempotencyKeyReused: the same Idempotency-Key with another body.
	ErrIdempotencyKeyReused = errors.New("the Idempotency-Key was already used with a different request")
)

// Principal is who asks: the tenant owning the tasks it creates, the user (the token's
// subject), the roles, and whether it is an admin (who sees every tenant's tasks).
type Principal struct {
	Tenant string
	Admin  bool
	// User is the token's sub, kept for attributing tasks to people.
	User string
	// Roles are the token's roles claim (admin among them sets Admin).
	Roles []string
}

// Service runs the use cases. Its fields are set once at start-up.
type Service struct {
	Store   task.Store
	Queue   queue.Sender
	Types   *task.Registry
	Markers *marker.Sealer
	Now     func() time.Time
	Log     *slog.Logger
	// Hooks are told of every change the use cases store (see task.Hook); set at wiring.
	Hooks []task.Hook
	// LocalCallbacks accepts http callbackUrls to loopback hosts and private addresses (the
	// local runner's settings.Settings.Local; see callbackurl.CheckURL).
	LocalCallbacks bool
}

// writer makes the use cases' stored changes (see task.Writer).
func (s *Service) writer() task.Writer {
	return task.Writer{Store: s.Store, Now: s.Now, Hooks: s.Hooks, Log: s.Log}
}

// CreateRequest is a validated create.
type CreateRequest struct {
	Spec task.Spec
	// IdempotencyKey is optional; BodyHash identifies the request for it.
	IdempotencyKey string
	BodyHash       string
	// Owner is the tenant a service principal creates a service task for (see
	// checkServiceCreate); empty: the principal's own tenant.
	Owner string
}

// Created is a create's outcome; Replayed is true when an Idempotency-Key matched an
// earlier create and nothing new was made.
type Created struct {
	Task     task.Task
	Replayed bool
}

// Create accepts a task: announces it to the worker, then stores it pending (with its
// idempotency record, atomically). The message goes first so that no stored task can lack
// one (worker's "No task without a message" says why and what the worker does with a
// message ahead of its write): a failed send stores nothing and is the error, answered 500,
// which the client may retry.
//
// An idempotent replay is only known once the store refuses the key, after the send: it
// creates nothing and answers the original task, and its message, for an id no task will
// ever have, is dropped by the worker after StoreGrace. Looking the key up before the send
// would cost a read on every keyed create and still need the store's refusal for a race; a
// wasted message is harmless. The original task needs no message from the replay: it was
// stored after its own.
func (s *Service) Create(ctx context.Context, p Principal, req CreateRequest) (Created, error) {
	if u := req.Spec.CallbackURL; u != "" {
		if err := callbackurl.CheckURL(u, s.LocalCallbacks); err != nil {
			return Created{}, &task.FieldError{Field: "callbackUrl", Reason: err.Error()}
		}
	}
	now := s.Now()
	if err := checkServiceCreate(p, req); err != nil {
		return Created{}, err
	}
	owner := p.Tenant
	if req.Owner != "" {
		owner = req.Owner
	}
	req.Spec.User = p.User
	t, err := s.Types.New(task.NewID(now), owner, req.Spec, now)
	if err != nil {
		return Created{}, err
	}
	var idem *task.Idempotency
	if req.IdempotencyKey != "" {
		idem = &task.Idempotency{Owner: p.Tenant, Key: req.IdempotencyKey, BodyHash: req.BodyHash, TaskID: t.ID, ExpiresAt: now.Add(task.IdempotencyTTL)}
	}
	if err := s.announce(ctx, t, now); err != nil {
		return Created{}, err
	}
	err = s.writer().Create(ctx, t, idem)
	if exists, ok := task.AsIdempotencyExists(err); ok {
		if exists.Existing.BodyHash != req.BodyHash {
			return Created{}, ErrIdempotencyKeyReused
		}
		orig, err := s.Store.Get(ctx, exists.Existing.TaskID, now)
		if errors.Is(err, task.ErrNotFound) {
			return Created{}, task.ErrNotFound // the task expired before its key did
		}
		if err != nil {
			return Created{}, err
		}
		return Created{Task: orig, Replayed: true}, nil
	}
	if err != nil {
		// The message is on its way for a task that may never be stored: the worker drops
		// it after StoreGrace (or runs the task, if the write landed after all).
		return Created{}, err
	}
	if t.Type == servicetask.TypeName {
		t = s.startServiceStep(ctx, t) // the create answers the service with the first callback
	}
	return Created{Task: t}, nil
}

// announce sends the message of t's run, before the run is stored (see Create).
func (s *Service) announce(ctx context.Context, t task.Task, now time.Time) error {
	if err := s.Queue.Send(ctx, queue.Message{TaskID: t.ID, Run: t.RetryCount, AnnouncedAt: now}, 0); err != nil {
		return fmt.Errorf("announce task %s run %d: %w", t.ID, t.RetryCount, err)
	}
	return nil
}

// Get returns a task the principal may see; any other is ErrNotFound, as if it did not
// exist, so ids of other tenants cannot be probed.
func (s *Service) Get(ctx context.Context, p Principal, id string) (task.Task, error) {
	if !task.ValidID(id) {
		return task.Task{}, task.ErrNotFound
	}
	t, err := s.Store.Get(ctx, id, s.Now())
	if errors.Is(err, task.ErrNotFound) {
		// The bare sentinel: a store's wrapped error (naming the id) would tell an unknown
		// or expired task's 404 from that of another tenant's task.
		return task.Task{}, task.ErrNotFound
	}
	if err != nil {
		return task.Task{}, err
	}
	if !p.Admin && t.Owner != p.Tenant {
		return task.Task{}, task.ErrNotFound
	}
	return t, nil
}

// Result returns a succeeded task (whose Result is the document); a task that has not
// succeeded is ErrNotFinished.
func (s *Service) Result(ctx context.Context, p Principal, id string) (task.Task, error) {
	t, err := s.Get(ctx, p, id)
	if err != nil {
		return task.Task{}, err
	}
	if t.Status != task.Success {
		return task.Task{}, &task.TransitionError{Op: "result", From: t.Status, Err: task.ErrNotFinished}
	}
	return t, nil
}

// Cancel cancels a task (see task.Task.Cancel for what happens in each status).
func (s *Service) Cancel(ctx context.Context, p Principal, id string) (task.Task, error) {
	return s.transition(ctx, p, id, func(t task.Task, now time.Time) (task.Change, error) {
		return t.Cancel(now)
	})
}

// Retry puts a failed task back to pending, announcing the new run to the worker before it
// stores it, as Create does: a failed send stores nothing and is the error. The retry is
// decided again after a lost race; its run is announced once, unless a fresh read makes it
// another run.
func (s *Service) Retry(ctx context.Context, p Principal, id string) (task.Task, error) {
	announced := -1 // the run whose message was sent
	t, err := s.transition(ctx, p, id, func(t task.Task, now time.Time) (task.Change, error) {
		ch, err := t.Retry(now, s.Types.RetryAllowed(t.Type))
		if err != nil || ch.Task.RetryCount == announced {
			return ch, err
		}
		if err := s.announce(ctx, ch.Task, now); err != nil {
			return task.Change{}, err
		}
		announced = ch.Task.RetryCount
		return ch, nil
	})
	if err != nil {
		return task.Task{}, err
	}
	if t.Type == servicetask.TypeName {
		t = s.startServiceStep(ctx, t) // the failed step's callback starts again
	}
	return t, nil
}

// transition reads a task the principal may see and writes the change step makes of it,
// deciding again from a fresh read when a worker changed the task in between (task.Writer;
// losing task.WriteTries races in a row is the *task.ConflictError, answered 409).
func (s *Service) transition(ctx context.Context, p Principal, id string, step func(task.Task, time.Time) (task.Change, error)) (task.Task, error) {
	t, err := s.Get(ctx, p, id)
	if err != nil {
		return task.Task{}, err
	}
	t, _, err = s.writer().UpdateFrom(ctx, t, func(t task.Task) (task.Decision, error) {
		return task.FromTransition(step(t, s.Now()))
	})
	if errors.Is(err, task.ErrNotFound) {
		return task.Task{}, task.ErrNotFound // expired since the first read; see Get
	}
	if err != nil {
		return task.Task{}, err
	}
	return t, nil
}

// ListParams are a list's validated query parameters.
type ListParams struct {
	Owner    string // admin only; empty: every tenant for an admin, the principal's tenant for others
	Statuses []task.Status
	Type     string
	SortKey  task.SortKey
	Desc     bool
	Limit    int
	Marker   string
}

// Listed is one page and the marker of the next, empty on the last page.
type Listed struct {
	Tasks      []task.Task
	NextMarker string
}

// List returns one page of tasks: a non-admin's are always its own tenant's (another owner
// is ErrForbidden); an admin's are those of q.Owner, or of every tenant without one. The
// marker is bound to the principal, the owner listed ("" for every tenant) and the query, so
// it cannot be replayed elsewhere (ErrInvalidMarker).
func (s *Service) List(ctx context.Context, p Principal, q ListParams) (Listed, error) {
	owner := p.Tenant
	switch {
	case p.Admin:
		owner = q.Owner // "": every tenant
	case q.Owner != "" && q.Owner != p.Tenant:
		return Listed{}, ErrForbidden
	}
	binding := q.binding(p, owner)
	var after []byte
	if q.Marker != "" {
		pos, err := s.Markers.Open(q.Marker, binding)
		if err != nil {
			return Listed{}, ErrInvalidMarker
		}
		after = pos
	}
	page, err := s.Store.List(ctx, task.ListQuery{
		Owner: owner, Statuses: q.Statuses, Type: q.Type, SortKey: q.SortKey, Desc: q.Desc,
		Limit: q.Limit, After: after, Now: s.Now(),
	})
	if err != nil {
		return Listed{}, err
	}
	out := Listed{Tasks: page.Tasks}
	if page.Next != nil {
		out.NextMarker = s.Markers.Seal(page.Next, binding)
	}
	return out, nil
}

// binding names everything a marker is valid for: who asks, whose tasks, which filter and
// which order (the limit may change between pages).
func (q ListParams) binding(p Principal, owner string) string {
	st := make([]string, len(q.Statuses))
	for i, s := range q.Statuses {
		st[i] = string(s)
	}
	slices.Sort(st)
	return fmt.Sprintf("v1\x00%s\x00%s\x00%s\x00%s\x00%s\x00%t", p.Tenant, owner, strings.Join(st, ","), q.Type, q.SortKey, q.Desc)
}
