package task_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tasklane/tasklane/shared/task"
)

// TestFoldedEqualsTwoInTurn: each folded transition yields the task its two parts yield
// applied in turn, but for the version (one step, not two) and the write ID; its change is
// conditional on the task it was asked of, and named by the folded op.
func TestFoldedEqualsTwoInTurn(t *testing.T) {
	t.Parallel()
	result := json.RawMessage(`{"done":true}`)
	tests := []struct {
		name   string
		in     task.Task
		op     task.Op
		folded func(in task.Task, now time.Time) (task.Change, int, error)
		first  func(in task.Task, now time.Time) (task.Change, error)
		second func(in task.Task, now time.Time) (task.Change, int, error)
		index  int // the subtask the folded change started, or -1
	}{
		{
			name: "claim and start", in: build(task.Pending, false, P, P, P), op: task.OpClaimAndStart,
			folded: func(in task.Task, now time.Time) (task.Change, int, error) { return in.ClaimAndStart(now) },
			first:  func(in task.Task, now time.Time) (task.Change, error) { return in.Claim(now) },
			second: func(in task.Task, now time.Time) (task.Change, int, error) { return in.StartAttempt(now) },
			index:  0,
		},
		{
			name: "claim and start after a retry", in: retriedPending(), op: task.OpClaimAndStart,
			folded: func(in task.Task, now time.Time) (task.Change, int, error) { return in.ClaimAndStart(now) },
			first:  func(in task.Task, now time.Time) (task.Change, error) { return in.Claim(now) },
			second: func(in task.Task, now time.Time) (task.Change, int, error) { return in.StartAttempt(now) },
			index:  1,
		},
		{
			name: "finish and start", in: build(task.Processing, false, S, R, P), op: task.OpFinishAndStart,
			folded: func(in task.Task, now time.Time) (task.Change, int, error) { return in.FinishAndStart(1, now) },
			first:  func(in task.Task, now time.Time) (task.Change, error) { return in.FinishSubTask(1, now) },
			second: func(in task.Task, now time.Time) (task.Change, int, error) { return in.StartAttempt(now) },
			index:  2,
		},
		{
			name: "finish and succeed", in: build(task.Processing, false, S, S, R), op: task.OpFinishAndSucceed,
			folded: func(in task.Task, now time.Time) (task.Change, int, error) {
				c, err := in.FinishAndSucceed(2, result, "https://example.com/r", now)
				return c, -1, err
			},
			first: func(in task.Task, now time.Time) (task.Change, error) { return in.FinishSubTask(2, now) },
			second: func(in task.Task, now time.Time) (task.Change, int, error) {
				c, err := in.Succeed(result, "https://example.com/r", now)
				return c, -1, err
			},
			index: -1,
		},
		{
			name: "finish and succeed, cancel requested too late", in: build(task.Processing, true, S, S, R), op: task.OpFinishAndSucceed,
			folded: func(in task.Task, now time.Time) (task.Change, int, error) {
				c, err := in.FinishAndSucceed(2, result, "", now)
				return c, -1, err
			},
			first: func(in task.Task, now time.Time) (task.Change, error) { return in.FinishSubTask(2, now) },
			second: func(in task.Task, now time.Time) (task.Change, int, error) {
				c, err := in.Succeed(result, "", now)
				return c, -1, err
			},
			index: -1,
		},
		{
			name: "finish and confirm cancel", in: build(task.Processing, true, S, R, P), op: task.OpFinishAndConfirmCancel,
			folded: func(in task.Task, now time.Time) (task.Change, int, error) {
				c, err := in.FinishAndConfirmCancel(1, now)
				return c, -1, err
			},
			first: func(in task.Task, now time.Time) (task.Change, error) { return in.FinishSubTask(1, now) },
			second: func(in task.Task, now time.Time) (task.Change, int, error) {
				c, err := in.ConfirmCancel(now)
				return c, -1, err
			},
			index: -1,
		},
	}
	for _, tt := range tests {
		for _, now := range []time.Time{later, earlier} {
			t.Run(tt.name+"/"+now.String(), func(t *testing.T) {
				t.Parallel()
				snap := snapshot(tt.in)
				got, i, err := tt.folded(tt.in, now)
				if err != nil {
					t.Fatalf("folded: %v", err)
				}
				checkChange(t, tt.in, snap, got, now)
				if got.Op != tt.op {
					t.Errorf("Op = %q, want %q", got.Op, tt.op)
				}
				if i != tt.index {
					t.Errorf("index = %d, want %d", i, tt.index)
				}
				one, err := tt.first(tt.in, now)
				if err != nil {
					t.Fatalf("first part: %v", err)
				}
				two, j, err := tt.second(one.Task, now)
				if err != nil {
					t.Fatalf("second part: %v", err)
				}
				if j != i {
					t.Errorf("index = %d, the parts in turn %d", i, j)
				}
				if d := cmp.Diff(two.Task, got.Task, cmpopts.IgnoreFields(task.Task{}, "Version", "WriteID")); d != "" {
					t.Errorf("folded task differs from the two parts in turn (-parts +folded):\n%s", d)
				}
			})
		}
	}
}

// retriedPending is a task retried after its second subtask failed: pending, the first
// subtask kept, the others to start over.
func retriedPending() task.Task {
	c, err := build(task.Failure, false, S, F, P).Retry(later, true)
	if err != nil {
		panic(err)
	}
	return c.Task
}

// TestFoldedRefusals: where a part is refused the folded transition is refused, from the
// status it was asked of, with the part's reason.
func TestFoldedRefusals(t *testing.T) {
	t.Parallel()
	spent := build(task.Processing, false, S, R, P)
	spent.SubTasks[2].Attempts = spent.MaxAttempts
	spentPending := build(task.Pending, false, P, P)
	spentPending.SubTasks[0].Attempts = spentPending.MaxAttempts
	tests := []struct {
		name string
		in   task.Task
		do   func(in task.Task) (task.Change, int, error)
		want error
		// index is the subtask a refused start names (-1: none), as StartAttempt names it.
		index int
	}{
		{"finish and start, next budget spent", spent, func(in task.Task) (task.Change, int, error) { return in.FinishAndStart(1, later) }, task.ErrAttemptsSpent, 2},
		{"claim and start, budget spent", spentPending, func(in task.Task) (task.Change, int, error) { return in.ClaimAndStart(later) }, task.ErrAttemptsSpent, 0},
		{"finish and start the last", build(task.Processing, false, S, S, R), func(in task.Task) (task.Change, int, error) { return in.FinishAndStart(2, later) }, task.ErrInvalidTransition, -1},
		{"finish and start, not the running one", build(task.Processing, false, S, R, P), func(in task.Task) (task.Change, int, error) { return in.FinishAndStart(0, later) }, task.ErrInvalidTransition, -1},
		{"finish and start, cancel requested", build(task.Processing, true, S, R, P), func(in task.Task) (task.Change, int, error) { return in.FinishAndStart(1, later) }, task.ErrInvalidTransition, -1},
		{"finish and succeed, more to do", build(task.Processing, false, S, R, P), func(in task.Task) (task.Change, int, error) {
			c, err := in.FinishAndSucceed(1, nil, "", later)
			return c, -1, err
		}, task.ErrInvalidTransition, -1},
		{"finish and confirm cancel, none requested", build(task.Processing, false, S, R, P), func(in task.Task) (task.Change, int, error) {
			c, err := in.FinishAndConfirmCancel(1, later)
			return c, -1, err
		}, task.ErrInvalidTransition, -1},
		{"finish and confirm cancel of the last", build(task.Processing, true, S, S, R), func(in task.Task) (task.Change, int, error) {
			c, err := in.FinishAndConfirmCancel(2, later)
			return c, -1, err
		}, task.ErrInvalidTransition, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, i, err := tt.do(tt.in)
			checkRefused(t, tt.in, snap, c, err, tt.want)
			if i != tt.index {
				t.Errorf("index = %d, want %d", i, tt.index)
			}
			var te *task.TransitionError
			if errors.As(err, &te) && errors.As(te.Err, new(*task.TransitionError)) {
				t.Errorf("refusal wraps the part's TransitionError (%v): want its reason only", err)
			}
		})
	}
}
