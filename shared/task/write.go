package task

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// WriteTries bounds how often Writer.Update and UpdateFrom decide and write one change
// when they keep losing races (each lost race is a *ConflictError from Store.Apply and a
// fresh read). Five lost races in a row means the task is being changed faster than it can
// be read; the caller gets the last *ConflictError, which the API answers 409 CONFLICT and
// the worker turns into a redelivery of its message.
const WriteTries = 5

// Decide is a caller's decision about the task as (re-)read: which change to write, or that
// there is nothing to write. It is asked again after every lost race, with the fresh read, so
// it must decide from the task it is given alone. An error (a refused transition, say) ends
// the write with that error.
type Decide func(t Task) (Decision, error)

// Decision is what a Decide makes of a task; build one with Write, NoChange or Stop (or
// FromTransition). The zero Decision is NoChange.
type Decision struct {
	verdict Verdict
	change  Change
}

// Write decides to store c (conditionally on the status and version it was computed from).
// An empty c (see Change.Empty) is NoChange.
func Write(c Change) Decision {
	if c.Empty() {
		return NoChange()
	}
	return Decision{verdict: Changed, change: c}
}

// NoChange decides that the task is already as the caller wants it: nothing is written and
// the caller gets the task as read (e.g. a second cancel of a task whose cancel is pending).
func NoChange() Decision { return Decision{verdict: Unchanged} }

// Stop decides that the task, as read, is no longer the caller's to change: it moved on
// (another writer ended it, took the attempt over, or is in the middle of it). Nothing is
// written and the caller gets the task as read, to act on as it sees fit.
func Stop() Decision { return Decision{verdict: Stopped} }

// FromTransition turns a transition's result into a decision: its change (NoChange when it
// changes nothing), or its refusal as the error. It lets a Decide be a transition:
//
//	func(t task.Task) (task.Decision, error) { return task.FromTransition(t.Claim(now)) }
func FromTransition(c Change, err error) (Decision, error) {
	if err != nil {
		return Decision{}, err
	}
	return Write(c), nil
}

// Verdict is how a write ended.
type Verdict int

const (
	// Unchanged: the decision was NoChange; nothing was written.
	Unchanged Verdict = iota
	// Changed: the decided change was stored (and the hooks were told).
	Changed
	// Stopped: the decision was Stop; nothing was written.
	Stopped
)

func (v Verdict) String() string {
	switch v {
	case Unchanged:
		return "unchanged"
	case Changed:
		return "changed"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Writer makes every stored change of a task: the use cases' creates, cancels and retries,
// every step of the worker, and the dead-letter handler's failures. It is the one place where a change
// is read → decided → written conditionally → re-decided after a lost race, and the one
// place that tells the hooks about a change once it is stored.
//
// A Writer is a small value built from its fields on each use; the services hold the store,
// clock, hooks and logger it needs.
type Writer struct {
	Store Store
	// Now is the clock reads are judged by (see Store).
	Now func() time.Time
	// Hooks are told of every stored change, in order; see Hook.
	Hooks []Hook
	// Log receives hooks' failures; nil: slog.Default().
	Log *slog.Logger
}

// Hook is told of each change once it is stored, in the manner of river's HookWorkBegin and
// HookWorkEnd: exactly once per stored change (creates included), never for a write that
// lost its race, for a refused transition, for a decision to change nothing, or for an
// idempotent create's replay (which stores nothing).
//
// A hook runs after the change is durable, on the writer's goroutine, and cannot undo it: an
// error (or a panic) is logged and the change stands, and the caller is answered as if the
// hook had not run. So a hook is for in-process reactions (local events, metrics). A side
// effect that must not be lost, such as publishing an event, must come from the stored change
// itself (a DynamoDB stream or an outbox written with it), since the process may die between
// the write and the hook. (A write whose answer was lost is told once the writer has read it
// back; see landed.) Hooks run before the caller is answered, so they should be quick.
type Hook interface {
	AfterStore(ctx context.Context, s Stored) error
}

// HookFunc makes a function a Hook.
type HookFunc func(ctx context.Context, s Stored) error

// AfterStore implements Hook.
func (f HookFunc) AfterStore(ctx context.Context, s Stored) error { return f(ctx, s) }

// Stored is a change that was stored: the task before it (nil for a create) and after it,
// and which kind of change it was.
type Stored struct {
	Op     Op
	Before *Task
	After  Task
}

// Create stores a new task (with its idempotency record; see Store.Create) and tells the
// hooks. An *IdempotencyExistsError (a replay, which stores nothing) and any other error are
// returned as Store.Create returned them, and the hooks hear nothing.
func (w Writer) Create(ctx context.Context, t Task, idem *Idempotency) error {
	if err := w.Store.Create(ctx, t, idem); err != nil {
		if _, replay := AsIdempotencyExists(err); replay || !w.landed(ctx, t) {
			return err
		}
	}
	w.stored(ctx, Stored{Op: OpCreate, After: t})
	return nil
}

// Update reads task id and writes what decide makes of it; see UpdateFrom. A failed read
// (ErrNotFound among others) is returned as the store returned it.
func (w Writer) Update(ctx context.Context, id string, decide Decide) (Task, Verdict, error) {
	t, err := w.Store.Get(ctx, id, w.Now())
	if err != nil {
		return Task{}, Unchanged, err
	}
	return w.UpdateFrom(ctx, t, decide)
}

// UpdateFrom writes what decide makes of t, a task the caller has read. When the write loses
// its race (another writer changed the task since it was read), the task is read again and
// decide asked again, up to WriteTries times in all; then the last *ConflictError is
// returned. It returns the task as stored by the change (Changed) or as last read
// (Unchanged, Stopped). Errors are returned as they came: decide's, the store's (a re-read
// may find the task gone: ErrNotFound), or the last conflict; the task returned with an
// error is the last one read.
func (w Writer) UpdateFrom(ctx context.Context, t Task, decide Decide) (Task, Verdict, error) {
	var lost error
	for try := range WriteTries {
		if try > 0 {
			fresh, err := w.Store.Get(ctx, t.ID, w.Now())
			if err != nil {
				return t, Unchanged, err
			}
			t = fresh
		}
		d, err := decide(t)
		if err != nil {
			return t, Unchanged, err
		}
		if d.verdict != Changed {
			return t, d.verdict, nil
		}
		err = w.Store.Apply(ctx, d.change)
		if err != nil && !IsConflict(err) && w.landed(ctx, d.change.Task) {
			err = nil
		}
		if err == nil {
			before := t
			w.stored(ctx, Stored{Op: d.change.Op, Before: &before, After: d.change.Task})
			return d.change.Task, Changed, nil
		}
		if !IsConflict(err) {
			return t, Unchanged, err
		}
		lost = err
	}
	return t, Unchanged, lost
}

// landed reports whether a write that failed with an error other than a lost race was stored
// all the same: its answer was lost after the store applied it (a timeout, a reset connection)
// and the store's own retries could not tell (see "Writes whose answer was lost" in
// shared/dynamostore's doc, which the stores handle while they retry). The task is read back:
// when it carries the written version's WriteID, the write is the caller's and it succeeded.
// Without this, the worker would take its own attempt for another delivery's and wait out
// its lease, and a client would be told its cancel failed. The read is made only after a
// failed write, and not when the context is done (the caller is gone).
func (w Writer) landed(ctx context.Context, written Task) bool {
	if ctx.Err() != nil || written.WriteID == "" {
		return false
	}
	got, err := w.Store.Get(ctx, written.ID, w.Now())
	return err == nil && got.WriteID == written.WriteID && got.Version == written.Version
}

// stored tells the hooks of s; their failures are logged and go no further (see Hook).
func (w Writer) stored(ctx context.Context, s Stored) {
	for _, h := range w.Hooks {
		w.call(ctx, h, s)
	}
}

func (w Writer) call(ctx context.Context, h Hook, s Stored) {
	defer func() {
		if p := recover(); p != nil {
			w.log().ErrorContext(ctx, "hook panicked after a stored change; the change stands", "taskId", s.After.ID, "op", s.Op, "panic", p)
		}
	}()
	if err := h.AfterStore(ctx, s); err != nil {
		w.log().ErrorContext(ctx, "hook failed after a stored change; the change stands", "taskId", s.After.ID, "op", s.Op, "err", err)
	}
}

func (w Writer) log() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}
