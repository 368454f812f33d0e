// Package tasktest makes tasks for tests: a fixed clock base, a registry of two plain task
// types, tasks made the way the API makes them, and stored tasks driven through the domain's
// own transitions to any status. The store conformance suite (shared/storetest) and the
// use-case tests share it, so that a fixture changes in one place.
package tasktest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// Base is the tests' clock: every time is Base plus an offset, so tests never depend on the
// wall clock and never sleep.
var Base = time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC)

// At is Base plus d.
func At(d time.Duration) time.Time { return Base.Add(d) }

// The two task types of Types, so that type filters have something to tell apart.
const (
	TypeAlpha = "alpha" // subtasks Validate, Allocate, Configure
	TypeBeta  = "beta"  // subtasks Fetch (with a description), Store
)

// Types registers TypeAlpha and TypeBeta; their runs do nothing.
var Types = mustTypes()

func mustTypes() *task.Registry {
	run := func(context.Context, task.Attempt) error { return nil }
	r, err := task.NewRegistry(
		task.Type{
			Name: TypeAlpha,
			Plan: func(json.RawMessage) ([]task.Step, error) {
				return []task.Step{{Name: "Validate"}, {Name: "Allocate"}, {Name: "Configure"}}, nil
			},
			Run: run,
		},
		task.Type{
			Name: TypeBeta,
			Plan: func(json.RawMessage) ([]task.Step, error) {
				return []task.Step{{Name: "Fetch", Description: "fetch the thing"}, {Name: "Store"}}, nil
			},
			Run: run,
		},
	)
	if err != nil {
		panic(fmt.Sprintf("tasktest: registry: %v", err))
	}
	return r
}

// Result is the result Drive gives a task it takes to task.Success.
var Result = json.RawMessage(`{"steps": 3}`)

// New makes a pending task of typ for owner created at created, the way the API does.
func New(t testing.TB, owner, typ string, created time.Time) task.Task {
	t.Helper()
	return NewSpec(t, owner, task.Spec{Type: typ, Name: "task of " + owner, Input: json.RawMessage(`{"n": 1}`)}, created)
}

// NewSpec makes a pending task of spec for owner created at created.
func NewSpec(t testing.TB, owner string, spec task.Spec, created time.Time) task.Task {
	t.Helper()
	tk, err := Types.New(task.NewID(created), owner, spec, created)
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	return tk
}

// Create stores tk without an idempotency record, failing the test if it cannot.
func Create(t testing.TB, s task.Store, tk task.Task) task.Task {
	t.Helper()
	if err := s.Create(t.Context(), tk, nil); err != nil {
		t.Fatalf("Create(%s): %v", tk.ID, err)
	}
	return tk
}

// Apply stores c, failing the test if it cannot, and returns the task as changed.
func Apply(t testing.TB, s task.Store, c task.Change) task.Task {
	t.Helper()
	if err := s.Apply(t.Context(), c); err != nil {
		t.Fatalf("Apply(%s %s v%d → %s v%d): %v", c.Task.ID, c.FromStatus, c.FromVersion, c.Task.Status, c.Task.Version, err)
	}
	return c.Task
}

// Transition computes a change with a domain transition, failing the test if it is refused.
func Transition(t testing.TB, tk task.Task, step func(task.Task) (task.Change, error)) task.Change {
	t.Helper()
	c, err := step(tk)
	if err != nil {
		t.Fatalf("transition of %s from %s: %v", tk.ID, tk.Status, err)
	}
	return c
}

// Drive takes a stored pending task to status to through the store, every change at when,
// and returns the task as stored. A failure is of the first subtask's first attempt.
func Drive(t testing.TB, s task.Store, tk task.Task, to task.Status, when time.Time) task.Task {
	t.Helper()
	step := func(f func(task.Task) (task.Change, error)) {
		t.Helper()
		tk = Apply(t, s, Transition(t, tk, f))
	}
	switch to {
	case task.Pending:
	case task.Processing:
		step(func(x task.Task) (task.Change, error) { return x.Claim(when) })
	case task.Success:
		step(func(x task.Task) (task.Change, error) { return x.Claim(when) })
		for range tk.SubTasks {
			var i int
			step(func(x task.Task) (task.Change, error) {
				c, n, err := x.StartAttempt(when)
				i = n
				return c, err
			})
			step(func(x task.Task) (task.Change, error) { return x.FinishSubTask(i, when) })
		}
		step(func(x task.Task) (task.Change, error) {
			return x.Succeed(Result, "", when)
		})
	case task.Failure:
		step(func(x task.Task) (task.Change, error) { return x.Claim(when) })
		step(func(x task.Task) (task.Change, error) {
			c, _, err := x.StartAttempt(when)
			return c, err
		})
		step(func(x task.Task) (task.Change, error) {
			return x.Fail(task.Error{ErrorCode: "STEP_FAILED", Message: "it broke"}, when)
		})
	case task.Cancelled:
		step(func(x task.Task) (task.Change, error) { return x.Cancel(when) })
	default:
		t.Fatalf("drive: unknown status %q", to)
	}
	if tk.Status != to {
		t.Fatalf("drive: task %s ended %s, want %s", tk.ID, tk.Status, to)
	}
	return tk
}

// Clock is the tests' injectable clock: a start plus every Advance so far; pass its Now where a
// func() time.Time is wanted (the Now fields of the services, app.App.Now). The zero Clock
// stands still at Base, so that the timestamps a test stores are the same on every run;
// RealClock follows the real time in UTC, for tests against emulators and real timeouts,
// which reach leases, staleness and expiry by Advance without waiting. Safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	real   bool
}

// RealClock is a Clock on the real time in UTC.
func RealClock() *Clock { return &Clock{real: true} }

// Now returns the start (Base, or the real time) plus every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now().UTC().Add(c.offset)
	}
	return Base.Add(c.offset)
}

// Advance moves the clock d ahead.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// HookLog is a task.Hook that keeps every change it is told of, for tests of the hooks.
// Safe for concurrent use.
type HookLog struct {
	mu     sync.Mutex
	stored []task.Stored
}

// AfterStore implements task.Hook.
func (l *HookLog) AfterStore(_ context.Context, s task.Stored) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stored = append(l.stored, s)
	return nil
}

// Told returns the changes told so far, in order; with ids, only those of these tasks.
func (l *HookLog) Told(ids ...string) []task.Stored {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []task.Stored
	for _, s := range l.stored {
		if len(ids) == 0 || slices.Contains(ids, s.After.ID) {
			out = append(out, s)
		}
	}
	return out
}
