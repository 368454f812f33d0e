package worker_test

import (
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/task"
)

// TestReserve: a delivery whose invocation has less time left than the worker's reserve
// still runs one attempt (so every delivery makes progress), then continues the task in a
// new message instead of starting the next subtask; with time to spare it runs them all.
func TestReserve(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		reserve   time.Duration
		wantDone  int // subtasks succeeded after one delivery
		wantAck   bool
		wantSends int // messages the delivery sent to continue the task
	}{
		{"time to spare", time.Second, 3, true, 0},
		{"less time than the reserve", time.Hour, 1, true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			deps := apptest.OpenEmbedded(t)
			id := tdCreate(t, deps, `{"steps":[{"name":"A"},{"name":"B"},{"name":"C"}]}`)
			// Take the create's own message off the queue: the test delivers by hand.
			ctx := tdCtx(t)
			if ds, err := deps.Queue.Receive(ctx, 10, time.Minute, 0); err != nil || len(ds) != 1 {
				t.Fatalf("create's message: %v %v", ds, err)
			}
			w := deps.Worker()
			w.Reserve = c.reserve
			resp, err := w.Handle(ctx, tdEvent(t, "message.json", id, 0))
			if err != nil || (len(resp.BatchItemFailures) == 0) != c.wantAck {
				t.Fatalf("handle: %+v %v", resp, err)
			}
			got := tdGet(t, deps, id)
			done := 0
			for _, s := range got.SubTasks {
				if s.Status == task.Success {
					done++
				}
			}
			if done != c.wantDone {
				t.Errorf("%d subtasks succeeded in one delivery, want %d (%+v)", done, c.wantDone, got.SubTasks)
			}
			ds, err := deps.Queue.Receive(ctx, 10, time.Minute, 0)
			if err != nil || len(ds) != c.wantSends {
				t.Errorf("continuation messages: %d (%v), want %d", len(ds), err, c.wantSends)
			}
		})
	}
}
