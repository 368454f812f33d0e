package executor_test

import (
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/task"
)

// TestWaitSuspendsThenSucceeds: the wait executor does not sleep: its first call suspends the
// attempt for its seconds, and the resumed call succeeds with {"seconds": n}.
func TestWaitSuspendsThenSucceeds(t *testing.T) {
	t.Parallel()
	w := executor.Wait{Seconds: 3600}
	start := time.Now()
	out, err := w.Execute(ctx(t), attempt())
	if d, ok := task.SuspendedFor(err); !ok || d != time.Hour || out != nil {
		t.Fatalf("first call: %s %v, want a suspension of 1h", out, err)
	}
	if time.Since(start) > time.Second {
		t.Error("the wait executor slept")
	}
	a := attempt()
	a.Resumed = true
	out, err = w.Execute(ctx(t), a)
	if err != nil || string(out) != `{"seconds":3600}` {
		t.Fatalf("resumed: %s %v", out, err)
	}
}
