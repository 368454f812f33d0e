package worker_test

// The sweeper's batch against its two thresholds.

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
	"github.com/tasklane/tasklane/shared/worker"
)

// sweepGetCounter counts the Gets the sweeper makes: each is a GetItem in DynamoDB.
type sweepGetCounter struct {
	task.Store
	gets atomic.Int64
}

func (s *sweepGetCounter) Get(ctx context.Context, id string, now time.Time) (task.Task, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, id, now)
}

// TestSweepPendingNotStarved: more processing tasks than a batch are waiting out a retry
// backoff, all older than a pending task whose message was lost. The sweep still re-sends the
// pending task's message, reads nothing but it, and leaves the processing tasks alone until
// they are stale by their own threshold; then it re-sends the oldest of them, a batch's worth.
func TestSweepPendingNotStarved(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fs, err := filestore.Open(filepath.Join(t.TempDir(), "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fs.Close() })
	store := &sweepGetCounter{Store: fs}
	base := tasktest.Base
	create := func(created time.Time) task.Task {
		t.Helper()
		return tasktest.Create(t, store, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, created))
	}
	const batch = 2
	var processing []string
	for i := range 5 {
		tk := create(base.Add(time.Duration(i) * time.Second))
		tasktest.Drive(t, store, tk, task.Processing, base.Add(time.Duration(i+1)*time.Minute))
		processing = append(processing, tk.ID)
	}
	pending := create(base.Add(6 * time.Minute))

	q := memqueue.New(memqueue.Options{Visibility: time.Minute})
	now := base.Add(10 * time.Minute)
	sw := &worker.Sweeper{Store: store, Queue: q, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler),
		PendingAfter: time.Minute, ProcessingAfter: 20 * time.Minute, Batch: batch}
	received := func() []string {
		t.Helper()
		ds, err := q.Receive(ctx, 10, time.Hour, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			m, err := queue.Decode(d.Body)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.TaskID)
		}
		return ids
	}

	if n, err := sw.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 message", n, err)
	}
	if got := received(); !slices.Equal(got, []string{pending.ID}) {
		t.Errorf("sent %v, want the pending task %s", got, pending.ID)
	}
	if n := store.gets.Load(); n != 1 {
		t.Errorf("the sweep read %d tasks, want 1: processing tasks not yet stale cost no read", n)
	}

	// Past the processing threshold of all five: a batch of them, the oldest, besides the
	// pending task, whose message has still not been taken.
	now = base.Add(26 * time.Minute)
	if n, err := sw.Sweep(ctx); err != nil || n != 1+batch {
		t.Fatalf("Sweep = %d, %v; want %d messages", n, err, 1+batch)
	}
	want := append([]string{pending.ID}, processing[:batch]...)
	if got := received(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("sent %v, want %v", got, want)
	}
}
