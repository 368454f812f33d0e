package task_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// transition is one transition method with its arguments fixed, so that every method can be
// tried from every starting state.
type transition struct {
	name string
	do   func(in task.Task, now time.Time) (task.Change, error)
	// want maps a fixture name to the sentinel its refusal must wrap; a fixture missing from
	// the map must be accepted.
	refused map[string]error
}

func allExcept(err error, accepted ...string) map[string]error {
	m := map[string]error{}
	for _, f := range fixtures() {
		m[f.name] = err
	}
	for _, a := range accepted {
		if _, ok := m[a]; !ok {
			panic("unknown fixture " + a)
		}
		delete(m, a)
	}
	return m
}

func transitions() []transition {
	inv := task.ErrInvalidTransition
	return []transition{
		{
			name:    "Claim",
			do:      func(in task.Task, now time.Time) (task.Change, error) { return in.Claim(now) },
			refused: allExcept(inv, "pending"),
		},
		{
			name: "StartAttempt",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				c, _, err := in.StartAttempt(now)
				return c, err
			},
			// all-done has no next subtask; a requested cancel stops the next attempt.
			refused: allExcept(inv, "processing/claimed", "processing/running", "processing/between"),
		},
		{
			name: "FinishSubTask",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				return in.FinishSubTask(in.NextSubTask(), now)
			},
			// the running subtask may finish even with a cancel requested.
			refused: allExcept(inv, "processing/running", "processing/running+cancelRequested"),
		},
		{
			name: "RetryAttempt",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				return in.RetryAttempt(in.NextSubTask(), task.Error{ErrorCode: "FLAKY", Message: "try again"}, now)
			},
			refused: allExcept(inv, "processing/running", "processing/running+cancelRequested"),
		},
		{
			name: "Fail",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				return in.Fail(task.Error{ErrorCode: "BOOM", Message: "it broke"}, now)
			},
			refused: map[string]error{"success": inv, "failure": inv, "cancelled": inv},
		},
		{
			name: "Succeed",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				return in.Succeed(json.RawMessage(`{"done":true}`), "", now)
			},
			refused: allExcept(inv, "processing/all-done"),
		},
		{
			name:    "Cancel",
			do:      func(in task.Task, now time.Time) (task.Change, error) { return in.Cancel(now) },
			refused: map[string]error{"success": task.ErrNotCancellable, "failure": task.ErrNotCancellable, "cancelled": task.ErrNotCancellable},
		},
		{
			name: "ConfirmCancel",
			do:   func(in task.Task, now time.Time) (task.Change, error) { return in.ConfirmCancel(now) },
			// A subtask left processing is an attempt whose worker died: it ends cancelled too.
			refused: allExcept(inv, "processing/between+cancelRequested", "processing/running+cancelRequested"),
		},
		{
			name: "ClaimAndStart",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				c, _, err := in.ClaimAndStart(now)
				return c, err
			},
			refused: allExcept(inv, "pending"),
		},
		{
			name: "FinishAndStart",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				c, _, err := in.FinishAndStart(in.NextSubTask(), now)
				return c, err
			},
			// a requested cancel stops the next attempt (FinishAndConfirmCancel instead).
			refused: allExcept(inv, "processing/running"),
		},
		{
			name: "FinishAndSucceed",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				return in.FinishAndSucceed(in.NextSubTask(), json.RawMessage(`{"done":true}`), "", now)
			},
			// no fixture runs its last subtask; fold_test.go covers the accepted case.
			refused: allExcept(inv),
		},
		{
			name: "FinishAndConfirmCancel",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				return in.FinishAndConfirmCancel(in.NextSubTask(), now)
			},
			refused: allExcept(inv, "processing/running+cancelRequested"),
		},
		{
			name: "Suspend",
			do: func(in task.Task, now time.Time) (task.Change, error) {
				return in.Suspend(1, now.Add(time.Hour), now)
			},
			refused: allExcept(inv, "processing/running", "processing/running+cancelRequested"),
		},
		{
			name:    "Retry(allowed)",
			do:      func(in task.Task, now time.Time) (task.Change, error) { return in.Retry(now, true) },
			refused: allExcept(task.ErrNotRetryable, "failure"),
		},
		{
			name:    "Retry(not allowed)",
			do:      func(in task.Task, now time.Time) (task.Change, error) { return in.Retry(now, false) },
			refused: allExcept(task.ErrNotRetryable),
		},
	}
}

// TestTransitionMatrix tries every transition from every starting state, with a clock ahead
// of the stored task, one behind it, and one in another time zone.
func TestTransitionMatrix(t *testing.T) {
	t.Parallel()
	clocks := []struct {
		name string
		now  time.Time
	}{
		{"now-later", later},
		{"now-earlier", earlier},
		{"now-not-UTC", later.In(time.FixedZone("UTC+5", 5*3600))},
	}
	for _, tr := range transitions() {
		for _, f := range fixtures() {
			for _, clk := range clocks {
				t.Run(tr.name+"/"+f.name+"/"+clk.name, func(t *testing.T) {
					t.Parallel()
					in := f.t
					snap := snapshot(in)
					c, err := tr.do(in, clk.now)
					if want, refused := tr.refused[f.name]; refused {
						checkRefused(t, in, snap, c, err, want)
						return
					}
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if c.Empty() {
						// Only a repeated cancel may change nothing.
						if tr.name != "Cancel" || !in.CancelRequested {
							t.Fatalf("unexpected empty change")
						}
						return
					}
					checkChange(t, in, snap, c, clk.now)
					if c.Task.UpdatedAt.Location() != time.UTC {
						t.Errorf("UpdatedAt location = %v, want UTC", c.Task.UpdatedAt.Location())
					}
					if !c.Task.Status.Valid() {
						t.Errorf("result status %q is not valid", c.Task.Status)
					}
					if got, want := c.Task.Cancellable(), c.Task.Status.Active(); got != want {
						t.Errorf("Cancellable() = %v in %s", got, c.Task.Status)
					}
					if c.Task.Status.Terminal() {
						if c.Task.FinishedAt == nil || !c.Task.FinishedAt.Equal(c.Task.UpdatedAt) {
							t.Errorf("terminal %s: finishedAt = %s, want updatedAt %v", c.Task.Status, fmtTime(c.Task.FinishedAt), c.Task.UpdatedAt)
						}
						if c.Task.ExpiresAt == nil || c.Task.FinishedAt == nil || !c.Task.ExpiresAt.Equal(c.Task.FinishedAt.Add(fixtureRetention)) {
							t.Errorf("terminal %s: expiresAt = %s, want finishedAt + %v", c.Task.Status, fmtTime(c.Task.ExpiresAt), fixtureRetention)
						}
						if c.Task.CancelRequested && c.Task.Status != task.Cancelled {
							t.Errorf("terminal %s keeps cancelRequested", c.Task.Status)
						}
					} else if c.Task.FinishedAt != nil || c.Task.ExpiresAt != nil {
						t.Errorf("active %s has finishedAt %s / expiresAt %s", c.Task.Status, fmtTime(c.Task.FinishedAt), fmtTime(c.Task.ExpiresAt))
					}
					if c.Task.Progress < 0 || c.Task.Progress > 100 {
						t.Errorf("progress = %d", c.Task.Progress)
					}
				})
			}
		}
	}
}
