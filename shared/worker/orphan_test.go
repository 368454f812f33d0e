package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/task"
)

// TestOrphanedAttempt: an attempt found mid-way waits out its lease (its worker may be
// alive), unless it started before OrphanedBefore, the local runner's start after a crash:
// then its worker is known to be gone and the attempt is taken over at once.
func TestOrphanedAttempt(t *testing.T) {
	t.Parallel()
	for _, orphaned := range []bool{false, true} {
		name := map[bool]string{false: "lease honoured", true: "orphan taken over"}[orphaned]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			deps := apptest.OpenEmbedded(t)
			id := tdCreate(t, deps, `{"steps":[{"name":"A"},{"name":"B"}]}`)
			ctx := tdCtx(t)
			if ds, err := deps.Queue.Receive(ctx, 10, time.Minute, 0); err != nil || len(ds) != 1 {
				t.Fatalf("create's message: %v %v", ds, err)
			}
			// A worker claimed the task and started A's first attempt, then died.
			tk := tdGet(t, deps, id)
			for _, step := range []func(task.Task) (task.Change, int, error){
				func(t task.Task) (task.Change, int, error) { c, err := t.Claim(time.Now()); return c, 0, err },
				func(t task.Task) (task.Change, int, error) { return t.StartAttempt(time.Now()) },
			} {
				ch, _, err := step(tk)
				if err != nil {
					t.Fatal(err)
				}
				if err := deps.Store.Apply(context.Background(), ch); err != nil {
					t.Fatal(err)
				}
				tk = ch.Task
			}
			w := deps.Worker()
			w.Lease = time.Hour
			if orphaned {
				w.OrphanedBefore = time.Now()
			}
			if _, err := w.Handle(ctx, tdEvent(t, "message.json", id, 0)); err != nil {
				t.Fatal(err)
			}
			got := tdGet(t, deps, id)
			if orphaned {
				if got.Status != task.Success || got.SubTasks[0].Attempts != 2 {
					t.Errorf("orphaned attempt not taken over: status %s, A's attempts %d", got.Status, got.SubTasks[0].Attempts)
				}
				return
			}
			if got.Status != task.Processing || got.SubTasks[0].Attempts != 1 {
				t.Errorf("attempt under a live lease run again: status %s, A's attempts %d", got.Status, got.SubTasks[0].Attempts)
			}
		})
	}
}
