package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// base is the suite's clock: every time is base plus an offset, so tests never depend on
// the wall clock and never sleep.
var base = time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

// The suite's two task types, so that type filters have something to tell apart.
const (
	typeAlpha = "alpha"
	typeBeta  = "beta"
)

var registry = mustRegistry()

func mustRegistry() *task.Registry {
	run := func(context.Context, task.Attempt) error { return nil }
	r, err := task.NewRegistry(
		task.Type{
			Name: typeAlpha,
			Plan: func(json.RawMessage) ([]task.Step, error) {
				return []task.Step{{Name: "Validate"}, {Name: "Allocate"}, {Name: "Configure"}}, nil
			},
			Run: run,
		},
		task.Type{
			Name: typeBeta,
			Plan: func(json.RawMessage) ([]task.Step, error) {
				return []task.Step{{Name: "Fetch", Description: "fetch the thing"}, {Name: "Store"}}, nil
			},
			Run: run,
		},
	)
	if err != nil {
		panic(fmt.Sprintf("storetest: registry: %v", err))
	}
	return r
}

// newTask makes a pending task of typ for owner created at created, the way the API does.
func newTask(t *testing.T, owner, typ string, created time.Time) task.Task {
	t.Helper()
	return newTaskSpec(t, owner, task.Spec{Type: typ, Name: "task of " + owner, Input: json.RawMessage(`{"n": 1}`)}, created)
}

func newTaskSpec(t *testing.T, owner string, spec task.Spec, created time.Time) task.Task {
	t.Helper()
	tk, err := registry.New(task.NewID(created), owner, spec, created)
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	return tk
}

func mustCreate(t *testing.T, s task.Store, tk task.Task) task.Task {
	t.Helper()
	if err := s.Create(t.Context(), tk, nil); err != nil {
		t.Fatalf("Create(%s): %v", tk.ID, err)
	}
	return tk
}

func mustApply(t *testing.T, s task.Store, c task.Change) task.Task {
	t.Helper()
	if err := s.Apply(t.Context(), c); err != nil {
		t.Fatalf("Apply(%s %s v%d → %s v%d): %v", c.Task.ID, c.FromStatus, c.FromVersion, c.Task.Status, c.Task.Version, err)
	}
	return c.Task
}

func mustGet(t *testing.T, s task.Store, id string, now time.Time) task.Task {
	t.Helper()
	got, err := s.Get(t.Context(), id, now)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", id, now.Format(time.RFC3339Nano), err)
	}
	return got
}

func assertNotFound(t *testing.T, s task.Store, id string, now time.Time) {
	t.Helper()
	got, err := s.Get(t.Context(), id, now)
	if !errors.Is(err, task.ErrNotFound) {
		t.Errorf("Get(%s, %s) = (status %q, %v), want an error wrapping task.ErrNotFound", id, now.Format(time.RFC3339Nano), got.Status, err)
	}
}

// transition computes a change with a domain transition, failing the test if it is refused.
func transition(t *testing.T, tk task.Task, step func(task.Task) (task.Change, error)) task.Change {
	t.Helper()
	c, err := step(tk)
	if err != nil {
		t.Fatalf("transition of %s from %s: %v", tk.ID, tk.Status, err)
	}
	return c
}

// drive takes a stored pending task to status to through the store, every change at when,
// and returns the task as stored.
func drive(t *testing.T, s task.Store, tk task.Task, to task.Status, when time.Time) task.Task {
	t.Helper()
	step := func(f func(task.Task) (task.Change, error)) {
		t.Helper()
		tk = mustApply(t, s, transition(t, tk, f))
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
			return x.Succeed(json.RawMessage(`{"steps": 3}`), "", when)
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
