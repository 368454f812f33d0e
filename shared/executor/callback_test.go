package executor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/task"
)

// A callback step first awaits its callback (heartbeat and timeout as given, the heartbeat
// at most the timeout); resumed, its deadline passed unreported, it times out, retryable.
func TestCallbackAwaitsThenTimesOut(t *testing.T) {
	t.Parallel()
	a := task.Attempt{Task: task.Task{SubTasks: []task.SubTask{{Name: "Approve"}}}, Attempt: 1}
	_, err := executor.Callback{Heartbeat: time.Hour, Timeout: time.Minute}.Execute(context.Background(), a)
	hb, to, ok := task.AwaitsCallback(err)
	if !ok || hb != time.Minute || to != time.Minute {
		t.Fatalf("first call: %v (heartbeat %s, timeout %s), want AwaitCallback(1m, 1m)", err, hb, to)
	}
	if d, ok := task.SuspendedFor(err); !ok || d != time.Minute {
		t.Errorf("SuspendedFor = %s, %v", d, ok)
	}
	a.Resumed = true
	_, err = executor.Callback{Heartbeat: time.Minute, Timeout: time.Hour}.Execute(context.Background(), a)
	var ce *task.CodedError
	if !task.IsRetryable(err) || !errors.As(err, &ce) || ce.Code != "CALLBACK_TIMED_OUT" {
		t.Errorf("resumed: %v, want a retryable CALLBACK_TIMED_OUT", err)
	}
}
