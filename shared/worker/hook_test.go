package worker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// TestHooksOncePerStoredChange: the hooks given to the use cases and the worker are told of
// each stored change exactly once (the create included), and of nothing else: not of the
// writes two concurrent deliveries of the same message lose to each other, not of a refused
// cancel. A failing hook changes nothing of the outcome.
func TestHooksOncePerStoredChange(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		hook := &tasktest.HookLog{}
		failing := task.HookFunc(func(context.Context, task.Stored) error { return errors.New("metrics down") })
		r.svc.Hooks = []task.Hook{failing, hook}
		created := r.create(demoStep("Validate", "durationMs", 30), demoStep("Allocate", "durationMs", 30))
		ev := eventsource.Event(r.receiveAll(1), "", "")
		w := r.worker()
		w.Hooks = []task.Hook{hook, failing}
		r.handleAtOnce(ctx, w, ev, 2)
		if resp, _ := w.Handle(ctx, ev); len(resp.BatchItemFailures) != 0 {
			t.Errorf("a late duplicate was not acknowledged: %+v", resp.BatchItemFailures)
		}
		expectSucceeded(t, r.get(created.ID), []int{1, 1})
		if _, err := r.svc.Cancel(ctx, tenant, created.ID); !errors.Is(err, task.ErrNotCancellable) {
			t.Fatalf("cancel of a succeeded task: %v, want ErrNotCancellable", err)
		}

		told := hook.Told(created.ID)
		applied := r.applied(created.ID)
		if len(told) != len(applied)+1 {
			t.Fatalf("hooks told %d times, want %d: the create and each of the %d stored changes", len(told), len(applied)+1, len(applied))
		}
		if s := told[0]; s.Op != task.OpCreate || s.Before != nil || s.After.Version != 1 {
			t.Errorf("first told %v from %v to version %d, want the create (no task before) of version 1", s.Op, s.Before, s.After.Version)
		}
		byVersion := map[int64]task.Stored{}
		for _, s := range told[1:] {
			if _, dup := byVersion[s.After.Version]; dup {
				t.Errorf("told twice of the change to version %d", s.After.Version)
			}
			if s.Before == nil || s.Before.Version+1 != s.After.Version {
				t.Errorf("told of %v to version %d from %v, want from the version before", s.Op, s.After.Version, s.Before)
			}
			byVersion[s.After.Version] = s
		}
		for _, c := range applied {
			s, ok := byVersion[c.Task.Version]
			if !ok {
				t.Errorf("not told of the stored change to version %d (%v)", c.Task.Version, c.Op)
				continue
			}
			if s.Op != c.Op || s.After.WriteID != c.Task.WriteID {
				t.Errorf("told %v (write %s) for version %d, stored %v (write %s)", s.Op, s.After.WriteID, c.Task.Version, c.Op, c.Task.WriteID)
			}
		}
	})
}
