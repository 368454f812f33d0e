package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// TestCallbackStepTimesOutAfterItsLastHeartbeat: the worker starts a callback step's callback
// (waiting until the heartbeat deadline), a heartbeat moves the deadline, the message that
// wakes at the old deadline waits again instead of timing the attempt out, and the one after
// the new deadline fails the attempt with CALLBACK_TIMED_OUT, retryable: the next attempt
// starts a new callback.
func TestCallbackStepTimesOutAfterItsLastHeartbeat(t *testing.T) {
	t.Parallel()
	deps, _ := isoDeps(t, task.Type{
		Name: "approval",
		Plan: func(json.RawMessage) ([]task.Step, error) {
			return []task.Step{{Name: "Approve", Executor: "callback"}}, nil
		},
		Execute: executor.Callback{Heartbeat: 10 * time.Minute, Timeout: time.Hour}.Execute,
	})
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now := start
	deps.Now = func() time.Time { return now }
	svc := deps.Service()
	id, deliver := tdCreateTyped(t, deps, "approval")
	deliver()
	got := tdGet(t, deps, id)
	ref, ok := got.RunningCallback()
	if !ok || !got.SubTasks[0].WaitUntil.Equal(start.Add(10*time.Minute)) {
		t.Fatalf("after the first delivery: %+v, want the callback waiting until +10m", got.SubTasks[0])
	}
	now = start.Add(5 * time.Minute)
	if _, err := svc.Callback(context.Background(), svc.CallbackToken(id, ref), usecase.Report{Action: usecase.ActionHeartbeat}); err != nil {
		t.Fatal(err)
	}
	now = start.Add(10 * time.Minute)
	deliver() // the message of the old deadline
	if got := tdGet(t, deps, id); got.SubTasks[0].Status != task.Processing || got.SubTasks[0].Attempts != 1 || len(got.Errors) != 0 {
		t.Fatalf("at the old deadline: %+v, errors %v; want still waiting", got.SubTasks[0], got.Errors)
	}
	now = start.Add(15 * time.Minute)
	deliver()
	got = tdGet(t, deps, id)
	if len(got.Errors) != 1 || got.Errors[0].ErrorCode != "CALLBACK_TIMED_OUT" || got.Errors[0].ErrorType != task.ErrorTypeWarning {
		t.Fatalf("after the new deadline: errors %+v, want one CALLBACK_TIMED_OUT warning", got.Errors)
	}
	if _, err := svc.Callback(context.Background(), svc.CallbackToken(id, ref), usecase.Report{Action: usecase.ActionSucceed}); err != task.ErrCallbackNotFound {
		t.Errorf("the timed-out attempt's report: %v, want ErrCallbackNotFound", err)
	}
	deliver() // the retry, after its backoff (zero here)
	got = tdGet(t, deps, id)
	if next, ok := got.RunningCallback(); !ok || next.Attempt != 2 {
		t.Errorf("the next attempt's callback: %+v %v, want attempt 2 waiting", next, ok)
	}
}

// TestCallbackTypeStartsEachAttemptInOneWrite: for a type of callback steps only
// (task.Type.Callbacks, as a service task's), the worker starts each attempt with its
// callback in one stored change, so that no reader sees the step started without it; the
// message then waits for the deadline, which times the attempt out, and the next attempt
// starts the same way.
func TestCallbackTypeStartsEachAttemptInOneWrite(t *testing.T) {
	t.Parallel()
	limits := task.CallbackLimits{Heartbeat: 10 * time.Minute, Timeout: time.Hour}
	deps, _ := isoDeps(t, task.Type{
		Name: "approval",
		Plan: func(json.RawMessage) ([]task.Step, error) {
			return []task.Step{{Name: "Approve", Executor: "callback"}}, nil
		},
		Execute:   executor.Callback{Heartbeat: limits.Heartbeat, Timeout: limits.Timeout}.Execute,
		Callbacks: &limits,
	})
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now := start
	deps.Now = func() time.Time { return now }
	id, deliver := tdCreateTyped(t, deps, "approval")
	created := tdGet(t, deps, id)
	deliver()
	got := tdGet(t, deps, id)
	if ref, ok := got.RunningCallback(); !ok || ref.Attempt != 1 || got.Version != created.Version+1 || !got.SubTasks[0].WaitUntil.Equal(start.Add(10*time.Minute)) {
		t.Fatalf("after the first delivery: version %d (created %d), %+v; want attempt 1's callback, waiting until +10m, in one write", got.Version, created.Version, got.SubTasks[0])
	}
	now = start.Add(10 * time.Minute)
	deliver() // the deadline: the attempt times out; the retry's backoff is zero here
	deliver()
	got = tdGet(t, deps, id)
	if ref, ok := got.RunningCallback(); !ok || ref.Attempt != 2 || len(got.Errors) != 1 || got.Errors[0].ErrorCode != "CALLBACK_TIMED_OUT" {
		t.Fatalf("after the deadline: %+v, errors %+v; want attempt 2's callback after one CALLBACK_TIMED_OUT", got.SubTasks[0], got.Errors)
	}
}
