package task_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/task"
)

// A suspended attempt keeps its subtask processing with WaitUntil, cannot be suspended twice
// (a duplicate must not move the wait's end), and loses WaitUntil when it ends; the output
// set with WithOutput is what the finish stores.
func TestSuspendAndResume(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := fixtureNamed(t, "processing/running")
	until := now.Add(20 * time.Minute)
	c, err := f.Suspend(1, until, now)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Task.SubTasks[1]
	if !s.Waiting() || !s.WaitUntil.Equal(until) || s.Attempts != f.SubTasks[1].Attempts {
		t.Fatalf("suspended subtask = %+v", s)
	}
	if _, err := c.Task.Suspend(1, until.Add(time.Hour), now); !errors.Is(err, task.ErrInvalidTransition) {
		t.Fatalf("second Suspend: %v, want ErrInvalidTransition", err)
	}
	out := json.RawMessage(`{"seconds":1200}`)
	done, err := c.Task.WithOutput(1, out).FinishSubTask(1, until)
	if err != nil {
		t.Fatal(err)
	}
	got := done.Task.SubTasks[1]
	if got.WaitUntil != nil || got.Status != task.Success {
		t.Errorf("finished subtask = %+v", got)
	}
	if d := cmp.Diff(string(out), string(got.Output)); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if c.Task.SubTasks[1].Output != nil {
		t.Error("WithOutput changed the task it was given")
	}
	if _, ok := task.SuspendedFor(task.Suspend(time.Minute)); !ok {
		t.Error("SuspendedFor does not see a Suspend")
	}
}

func fixtureNamed(t *testing.T, name string) task.Task {
	t.Helper()
	for _, f := range fixtures() {
		if f.name == name {
			return f.t
		}
	}
	t.Fatalf("no fixture %s", name)
	return task.Task{}
}

// A cancel while an attempt is suspended until later ends the task at once, the suspended
// subtask cancelled with it (nothing runs it, nothing will report it). Once the suspension
// is over a worker may be resuming the step, and a callback's service is still to report:
// then the cancel is only requested, as for a running attempt.
func TestCancelOfASuspendedAttempt(t *testing.T) {
	t.Parallel()
	f := fixtureNamed(t, "processing/running")
	now := f.UpdatedAt.Add(time.Second)
	wait, err := f.Suspend(1, now.Add(20*time.Minute), now)
	if err != nil {
		t.Fatal(err)
	}
	callback, err := f.StartCallback(1, 20*time.Minute, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		in     task.Task
		at     time.Time
		status task.Status
	}{
		{"wait under way", wait.Task, now.Add(time.Minute), task.Cancelled},
		{"wait over", wait.Task, now.Add(20 * time.Minute), task.Processing},
		{"callback", callback.Task, now.Add(time.Minute), task.Processing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.in.Cancel(tc.at)
			if err != nil {
				t.Fatal(err)
			}
			s := c.Task.SubTasks[1]
			if c.Task.Status != tc.status || !c.Task.CancelRequested {
				t.Fatalf("status %s, cancelRequested %v; want %s with the cancel requested", c.Task.Status, c.Task.CancelRequested, tc.status)
			}
			switch tc.status {
			case task.Cancelled:
				if s.Status != task.Cancelled || s.WaitUntil != nil || s.FinishedAt == nil || !s.FinishedAt.Equal(tc.at) || c.Task.SubTasks[2].Status != task.Cancelled {
					t.Errorf("subtasks %+v, want the suspended one and the next cancelled at %v", c.Task.SubTasks, tc.at)
				}
			default:
				if !s.Waiting() {
					t.Errorf("subtask %+v, want it still waiting", s)
				}
			}
		})
	}
}
