package worker_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// TestSuspendedAttemptWaitsWithoutCompute: a step that suspends its attempt (a wait step) is
// not slept through: the delivery ends at once with the task's next message delayed, chained
// in delays of at most SQS's 15 minutes, a delivery before the wait's end only sends the next
// link, and the one after it resumes the same attempt, whose output is stored and ends the
// task. The attempt is counted once.
func TestSuspendedAttemptWaitsWithoutCompute(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var calls []task.Attempt
	deps, _ := isoDeps(t, task.Type{
		Name: "waits",
		Plan: func(json.RawMessage) ([]task.Step, error) { return []task.Step{{Name: "Wait"}}, nil },
		Execute: func(_ context.Context, a task.Attempt) (json.RawMessage, error) {
			mu.Lock()
			calls = append(calls, a)
			mu.Unlock()
			if !a.Resumed {
				return nil, task.Suspend(20 * time.Minute)
			}
			return json.RawMessage(`{"waited":1200}`), nil
		},
		Result: func(t *task.Task) (json.RawMessage, string, error) { return t.SubTasks[0].Output, "", nil },
	})
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now := start
	deps.Now = func() time.Time { return now }
	q := fault.NewQueue(deps.Queue)
	var delays []time.Duration
	q.OnSend(func(_ queue.Message, d time.Duration) error { delays = append(delays, d); return nil })
	deps.Queue = q
	id, deliver := tdCreateTyped(t, deps, "waits")
	deliver()
	got := tdGet(t, deps, id)
	if s := got.SubTasks[0]; !s.Waiting() || !s.WaitUntil.Equal(start.Add(20*time.Minute)) || s.Attempts != 1 {
		t.Fatalf("after the first delivery: subtask %+v, want waiting until +20m after 1 attempt", s)
	}
	now = start.Add(15 * time.Minute)
	deliver()
	now = start.Add(20 * time.Minute)
	deliver()
	got = tdGet(t, deps, id)
	if got.Status != task.Success || got.SubTasks[0].Attempts != 1 || got.SubTasks[0].WaitUntil != nil {
		t.Fatalf("after the wait: %s, subtask %+v; want success after 1 attempt", got.Status, got.SubTasks[0])
	}
	if d := cmp.Diff(`{"waited":1200}`, string(got.SubTasks[0].Output)); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if d := cmp.Diff(`{"waited":1200}`, string(got.Result)); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	// The create's message, then the chain: 15 minutes (SQS's most), then the 5 left.
	if d := cmp.Diff([]time.Duration{0, 15 * time.Minute, 5 * time.Minute}, delays); d != "" {
		t.Errorf("send delays (-want +got):\n%s", d)
	}
	if len(calls) != 2 || calls[0].Resumed || !calls[1].Resumed {
		t.Errorf("step calls %+v, want one to start the wait and one resumed", calls)
	}
}

// TestCancelEndsASuspendedAttempt: a cancel of a task whose attempt waits ends it cancelled
// at once (nothing runs to stop: task.Task.Cancel), not at the wait's delayed message; that
// message, when it comes, is dropped without resuming the step.
func TestCancelEndsASuspendedAttempt(t *testing.T) {
	t.Parallel()
	resumed := false
	deps, _ := isoDeps(t, task.Type{
		Name: "waits",
		Plan: func(json.RawMessage) ([]task.Step, error) { return []task.Step{{Name: "Wait"}, {Name: "After"}}, nil },
		Execute: func(_ context.Context, a task.Attempt) (json.RawMessage, error) {
			if a.Resumed {
				resumed = true
			}
			return nil, task.Suspend(time.Hour)
		},
	})
	c, err := deps.Service().Create(context.Background(), usecase.Principal{Tenant: tdTenant}, usecase.CreateRequest{Spec: task.Spec{Type: "waits"}})
	if err != nil {
		t.Fatal(err)
	}
	id := c.Task.ID
	if _, err := deps.Worker().Handle(tdCtx(t), tdEvent(t, "message.json", id, 0)); err != nil {
		t.Fatal(err)
	}
	if got := tdGet(t, deps, id); !got.SubTasks[0].Waiting() {
		t.Fatalf("after the first delivery: %+v, want the attempt waiting", got.SubTasks[0])
	}
	if _, err := deps.Service().Cancel(context.Background(), usecase.Principal{Tenant: tdTenant}, id); err != nil {
		t.Fatal(err)
	}
	got := tdGet(t, deps, id)
	if got.Status != task.Cancelled || !got.CancelRequested || got.SubTasks[0].Status != task.Cancelled || got.SubTasks[1].Status != task.Cancelled {
		t.Fatalf("after cancel: %s cancelRequested=%v, subtasks %v; want cancelled at once", got.Status, got.CancelRequested, statusesOf(got))
	}
	deps.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } // the wait's message
	resp, err := deps.Worker().Handle(tdCtx(t), tdEvent(t, "message.json", id, 0))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %+v %v", resp, err)
	}
	if after := tdGet(t, deps, id); after.Version != got.Version || resumed {
		t.Errorf("the wait's message changed the task (version %d to %d) or resumed the step (%v)", got.Version, after.Version, resumed)
	}
}
