package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// blockSteps makes every step attempt of the bundle's tasks of run announce itself on the
// returned channel and wait until release is closed (or the test ends).
func blockSteps(r *bundle) (started map[int]chan struct{}, release map[int]chan struct{}) {
	started = map[int]chan struct{}{0: make(chan struct{}, 4), 1: make(chan struct{}, 4)}
	release = map[int]chan struct{}{0: make(chan struct{}), 1: make(chan struct{})}
	r.runs.setHook(func(ctx context.Context, a task.Attempt) error {
		started[a.Task.RetryCount] <- struct{}{}
		select {
		case <-release[a.Task.RetryCount]:
		case <-ctx.Done():
		}
		return nil
	})
	return started, release
}

// handleAsync runs h on ev in a goroutine; the channel yields its response.
func handleAsync(ctx context.Context, h eventsource.Handler, ev events.SQSEvent) <-chan events.SQSEventResponse {
	out := make(chan events.SQSEventResponse, 1)
	go func() {
		resp, _ := h(ctx, ev)
		out <- resp
	}()
	return out
}

func waitSignal(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestOldRunAttemptDoesNotTakeNewRunsOutcome: run 0's attempt 1 is still running when its
// task is failed (its dead letter, long after the lease) and retried; run 1 starts the same
// subtask at attempt 1 again. When run 0's attempt then finishes, it must not record its
// outcome on run 1's attempt of the same number (finishing the subtask and the task under run
// 1's worker): the stored attempt is not its own, because the run differs.
func TestOldRunAttemptDoesNotTakeNewRunsOutcome(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create(demoStep("Only"))
		started, release := blockSteps(r)
		w := r.worker()
		old := eventsource.Event([]queue.Delivery{r.receive()}, "", "")
		oldDone := handleAsync(ctx, w.Handle, old)
		waitSignal(t, started[0], "run 0's attempt to start")

		// Long after any lease, run 0's message dies: the task fails, and is retried.
		r.clock.Advance(queue.MaxDelay + time.Minute)
		if resp, _ := w.HandleDeadLetter(ctx, old); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("dead letter past the lease not handled: %+v", resp.BatchItemFailures)
		}
		if got := r.get(created.ID); got.Status != task.Failure {
			t.Fatalf("after the dead letter: %s, want failure", got.Status)
		}
		if _, err := r.svc.Retry(ctx, tenant, created.ID); err != nil {
			t.Fatalf("retry: %v", err)
		}
		newDone := handleAsync(ctx, w.Handle, eventsource.Event([]queue.Delivery{r.receive()}, "", ""))
		waitSignal(t, started[1], "run 1's attempt to start")
		running := r.get(created.ID)
		if running.RetryCount != 1 || running.SubTasks[0].Status != task.Processing || running.SubTasks[0].Attempts != 1 {
			t.Fatalf("run 1 mid-attempt: retryCount %d, subtask %+v", running.RetryCount, running.SubTasks[0])
		}

		// Run 0's attempt finishes now.
		close(release[0])
		if resp := <-oldDone; len(resp.BatchItemFailures) != 0 {
			t.Errorf("run 0's delivery: %+v, want acknowledged", resp.BatchItemFailures)
		}
		if got := r.get(created.ID); got.Version != running.Version || got.Status != task.Processing || got.SubTasks[0].Status != task.Processing {
			t.Fatalf("run 0's late outcome was recorded on run 1: %s version %d (was %d), subtask %s",
				got.Status, got.Version, running.Version, got.SubTasks[0].Status)
		}

		// Run 1's attempt finishes and ends the task.
		close(release[1])
		if resp := <-newDone; len(resp.BatchItemFailures) != 0 {
			t.Errorf("run 1's delivery: %+v", resp.BatchItemFailures)
		}
		if got := r.get(created.ID); got.Status != task.Success || got.RetryCount != 1 || got.SubTasks[0].Attempts != 1 {
			t.Errorf("after run 1: %s retryCount %d attempts %d, want success 1 1", got.Status, got.RetryCount, got.SubTasks[0].Attempts)
		}
	})
}
