package worker_test

// The worker's folded writes (issue #9): the claim is written with the first start, each
// finish with the step that follows it in the same delivery. These tests hold which changes
// are written, and that every guarantee of the unfolded writes stays: a crash after a folded
// write still spends the attempt it started, a cancel requested during a step is honoured
// with that step's finish, and where the next step is not taken in this delivery (too little
// time left, a failing Result) the finish is written alone.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// opsOf names the changes, in order.
func opsOf(changes []task.Change) []task.Op {
	out := make([]task.Op, len(changes))
	for i, c := range changes {
		out[i] = c.Op
	}
	return out
}

// TestFoldedWrites: one delivery runs a task of three subtasks in four writes.
func TestFoldedWrites(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		created := r.create()
		resp, err := r.worker().Handle(t.Context(), eventsource.Event([]queue.Delivery{r.receive()}, "", ""))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handle: %v, failures %+v", err, resp.BatchItemFailures)
		}
		want := []task.Op{task.OpClaimAndStart, task.OpFinishAndStart, task.OpFinishAndStart, task.OpFinishAndSucceed}
		if got := opsOf(r.applied(created.ID)); !slices.Equal(got, want) {
			t.Errorf("changes %q, want %q", got, want)
		}
		expectSucceeded(t, r.get(created.ID), []int{1, 1, 1})
	})
}

// TestCrashAfterFoldedWrite: the worker dies in the second subtask, whose attempt was
// recorded with the first one's finish. The first subtask stays succeeded and is not run
// again; the dead attempt counts, and the next delivery takes it over as attempt 2.
func TestCrashAfterFoldedWrite(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create()
		ev := eventsource.Event([]queue.Delivery{r.receive()}, "", "")
		doomed := fault.NewStore(r.base)
		r.runs.setHook(func(ctx context.Context, a task.Attempt) error {
			if a.Task.ID != created.ID || a.Index != 1 || a.Attempt != 1 {
				return nil
			}
			// The process dies here: nothing it does reaches the store any more.
			doomed.OnApply(func(task.Change) error { return errKilled })
			doomed.OnGet(func(string) error { return errKilled })
			return task.Retryable(errKilled)
		})
		if resp, _ := r.workerOn(doomed).Handle(ctx, ev); len(resp.BatchItemFailures) != 1 {
			t.Fatalf("the dead worker's delivery: failures %+v, want its message", resp.BatchItemFailures)
		}
		r.runs.setHook(nil)
		if got, want := opsOf(doomed.Applied()), []task.Op{task.OpClaimAndStart, task.OpFinishAndStart}; !slices.Equal(got, want) {
			t.Errorf("the dead worker's changes %q, want %q", got, want)
		}
		mid := r.get(created.ID)
		if !slices.Equal(statusesOf(mid), []task.Status{task.Success, task.Processing, task.Pending}) || !slices.Equal(attemptsOf(mid), []int{1, 1, 0}) {
			t.Fatalf("after the crash: subtasks %v, attempts %v; want the second's attempt recorded", statusesOf(mid), attemptsOf(mid))
		}

		// Redelivered without a deadline (so no lease to wait out), the task completes.
		if resp, err := r.worker().Handle(ctx, ev); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("redelivery: %v, failures %+v", err, resp.BatchItemFailures)
		}
		want := []task.Op{task.OpStartAttempt, task.OpFinishAndStart, task.OpFinishAndSucceed}
		if got := opsOf(r.applied(created.ID)); !slices.Equal(got, want) {
			t.Errorf("the redelivery's changes %q, want %q", got, want)
		}
		done := r.get(created.ID)
		if done.Status != task.Success || !slices.Equal(attemptsOf(done), []int{1, 2, 1}) {
			t.Errorf("task %s, attempts %v; want success, [1 2 1]", done.Status, attemptsOf(done))
		}
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 2, 1}) {
			t.Errorf("steps ran %v times, want [1 2 1]: the first must not run again", c)
		}
	})
}

// TestCancelDuringStepFolded: a cancel requested while a subtask runs is written, after the
// subtask succeeded, with its finish: the task ends cancelled before the next subtask. Asked
// during the last subtask it comes too late, and the finish is written with the success.
func TestCancelDuringStepFolded(t *testing.T) {
	cases := []struct {
		name     string
		during   int
		status   task.Status
		subtasks []task.Status
		ops      []task.Op
		runs     []int
	}{
		{"first", 0, task.Cancelled, []task.Status{task.Success, task.Cancelled, task.Cancelled},
			[]task.Op{task.OpClaimAndStart, task.OpCancel, task.OpFinishAndConfirmCancel}, []int{1, 0, 0}},
		{"last", 2, task.Success, []task.Status{task.Success, task.Success, task.Success},
			[]task.Op{task.OpClaimAndStart, task.OpFinishAndStart, task.OpFinishAndStart, task.OpCancel, task.OpFinishAndSucceed}, []int{1, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			onBackends(t, func(t *testing.T, r *bundle) {
				ctx := t.Context()
				created := r.create()
				r.runs.setHook(func(ctx context.Context, a task.Attempt) error {
					if a.Task.ID != created.ID || a.Index != tc.during {
						return nil
					}
					got, err := r.svc.Cancel(ctx, tenant, created.ID)
					if err != nil || !got.CancelRequested {
						t.Errorf("cancel during the step: %v, cancelRequested %v", err, got.CancelRequested)
					}
					return nil
				})
				resp, err := r.worker().Handle(ctx, eventsource.Event([]queue.Delivery{r.receive()}, "", ""))
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("handle: %v, failures %+v", err, resp.BatchItemFailures)
				}
				got := r.get(created.ID)
				if got.Status != tc.status || !slices.Equal(statusesOf(got), tc.subtasks) {
					t.Errorf("task %s, subtasks %v; want %s, %v", got.Status, statusesOf(got), tc.status, tc.subtasks)
				}
				if ops := opsOf(r.applied(created.ID)); !slices.Equal(ops, tc.ops) {
					t.Errorf("changes %q, want %q", ops, tc.ops)
				}
				if c := r.runs.counts(created.ID, 3); !slices.Equal(c, tc.runs) {
					t.Errorf("steps ran %v times, want %v", c, tc.runs)
				}
				if got.Status == task.Success {
					expectSucceededAfter(t, got, []int{1, 1, 1}, 1) // the cancel's request
				}
			})
		})
	}
}

// TestFinishAloneWithoutTimeLeft: with too little time left for another subtask, the finish
// is written alone and the task continues in a new message, whose delivery records the next
// start itself; only the last finish rides with the success.
func TestFinishAloneWithoutTimeLeft(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create()
		w := r.worker()
		w.Reserve = time.Hour // longer than any invocation here: one subtask per delivery
		hctx, cancel := context.WithTimeout(ctx, r.visibility)
		resp, err := w.Handle(hctx, eventsource.Event([]queue.Delivery{r.receive()}, "", ""))
		cancel()
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handle: %v, failures %+v", err, resp.BatchItemFailures)
		}
		if got, want := opsOf(r.applied(created.ID)), []task.Op{task.OpClaimAndStart, task.OpFinishSubTask}; !slices.Equal(got, want) {
			t.Errorf("first delivery's changes %q, want %q", got, want)
		}
		if sent := r.queue.Sent(); len(sent) != 2 || sent[1].TaskID != created.ID {
			t.Errorf("sent %+v, want the create's message and the task continued in one new message", sent)
		}
		mid := r.get(created.ID)
		if !slices.Equal(statusesOf(mid), []task.Status{task.Success, task.Pending, task.Pending}) || !slices.Equal(attemptsOf(mid), []int{1, 0, 0}) {
			t.Errorf("after the first delivery: subtasks %v, attempts %v; want no second attempt recorded", statusesOf(mid), attemptsOf(mid))
		}

		r.drain(r.queue, w.Handle)
		want := []task.Op{task.OpClaimAndStart, task.OpFinishSubTask, task.OpStartAttempt, task.OpFinishSubTask, task.OpStartAttempt, task.OpFinishAndSucceed}
		if got := opsOf(r.applied(created.ID)); !slices.Equal(got, want) {
			t.Errorf("changes %q, want %q", got, want)
		}
		got := r.get(created.ID)
		if got.Status != task.Success || !slices.Equal(attemptsOf(got), []int{1, 1, 1}) {
			t.Errorf("task %s, attempts %v; want success, [1 1 1]", got.Status, attemptsOf(got))
		}
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 1, 1}) {
			t.Errorf("steps ran %v times, want once each", c)
		}
	})
}

// TestFinishAloneWhenResultFails: the type's Result fails once the last subtask is done: the
// finish is written alone, then the failure.
func TestFinishAloneWhenResultFails(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		created := r.create()
		typ := demo.Type()
		typ.Result = func(*task.Task) (json.RawMessage, string, error) { return nil, "", errors.New("no result today") }
		types, err := task.NewRegistry(typ)
		if err != nil {
			t.Fatal(err)
		}
		w := r.worker()
		w.Types = types
		resp, err := w.Handle(t.Context(), eventsource.Event([]queue.Delivery{r.receive()}, "", ""))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handle: %v, failures %+v", err, resp.BatchItemFailures)
		}
		want := []task.Op{task.OpClaimAndStart, task.OpFinishAndStart, task.OpFinishAndStart, task.OpFinishSubTask, task.OpFail}
		if got := opsOf(r.applied(created.ID)); !slices.Equal(got, want) {
			t.Errorf("changes %q, want %q", got, want)
		}
		got := r.get(created.ID)
		if n := len(got.Errors); got.Status != task.Failure || n == 0 || got.Errors[n-1].ErrorCode != "RESULT_FAILED" {
			t.Errorf("task %s, errors %+v; want failure with RESULT_FAILED", got.Status, got.Errors)
		}
		if !slices.Equal(statusesOf(got), []task.Status{task.Success, task.Success, task.Success}) {
			t.Errorf("subtasks %v, want all succeeded", statusesOf(got))
		}
	})
}
