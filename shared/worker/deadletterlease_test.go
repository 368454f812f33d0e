package worker_test

import (
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// TestDeadLetterWithinLease: a dead letter arriving while another delivery's attempt of its
// task is still within its lease must not fail the task under that worker: it is reported as
// a batch item failure, so that it comes back later, and the task carries on. Once the task
// has ended, the dead letter is acknowledged.
func TestDeadLetterWithinLease(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create(demoStep("Only"))
		started, release := blockSteps(r)
		w := r.worker()
		ev := eventsource.Event([]queue.Delivery{r.receive()}, "", "")
		done := handleAsync(ctx, w.Handle, ev)
		waitSignal(t, started[0], "the attempt to start")
		before := r.get(created.ID)

		// The dead-letter function has no lease of its own (zero): it takes the longest an
		// invocation can run. Ten minutes into the attempt, the worker may still be in it.
		r.clock.Advance(10 * time.Minute)
		dlw := r.worker()
		resp, err := dlw.HandleDeadLetter(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].MessageId {
			t.Fatalf("dead letter within the lease: %+v %v, want it reported as a batch item failure", resp, err)
		}
		if got := r.get(created.ID); got.Version != before.Version || got.Status != task.Processing {
			t.Fatalf("the dead letter changed a task mid-attempt: %s version %d, was processing %d", got.Status, got.Version, before.Version)
		}

		close(release[0])
		if resp := <-done; len(resp.BatchItemFailures) != 0 {
			t.Errorf("the delivery: %+v", resp.BatchItemFailures)
		}
		if got := r.get(created.ID); got.Status != task.Success {
			t.Fatalf("after the attempt: %s, want success", got.Status)
		}
		if resp, _ := dlw.HandleDeadLetter(ctx, ev); len(resp.BatchItemFailures) != 0 {
			t.Errorf("dead letter of an ended task: %+v, want acknowledged", resp.BatchItemFailures)
		}
	})
}
