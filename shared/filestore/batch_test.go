package filestore

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// batched opens a store whose every write goes through bolt's Batch (none is taken for a
// lone one) and waits long enough for writes released together to share a transaction.
func batched(t *testing.T) *Store {
	t.Helper()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"))
	t.Cleanup(func() { _ = s.Close() })
	s.db.MaxBatchDelay = 50 * time.Millisecond
	s.writing.Add(1)
	return s
}

// together runs fn(0..n-1) at once and waits for all of them.
func together(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// TestBatchKeepsConditions: writes that share a transaction are judged one after another,
// each against what those before it wrote: of creates that race for one idempotency key one
// wins and the others are told about it, and a refused write (a taken id) neither fails nor
// undoes the others of its batch.
func TestBatchKeepsConditions(t *testing.T) {
	t.Parallel()
	s := batched(t)
	const n = 8

	tasks := make([]task.Task, n)
	for i := range tasks {
		tasks[i] = tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Millisecond))
	}
	errs := make([]error, n)
	together(n, func(i int) {
		idem := &task.Idempotency{Owner: "tenant-a", Key: "same-key", TaskID: tasks[i].ID, ExpiresAt: tasktest.At(time.Hour)}
		errs[i] = s.Create(t.Context(), tasks[i], idem)
	})
	winner := -1
	for i, err := range errs {
		var exists *task.IdempotencyExistsError
		switch {
		case err == nil && winner >= 0:
			t.Errorf("creates %d and %d both took the idempotency key", winner, i)
		case err == nil:
			winner = i
		case !errors.As(err, &exists):
			t.Errorf("create %d: %v, want nil or an *IdempotencyExistsError", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no create took the key: %v", errs)
	}
	for i, err := range errs {
		var exists *task.IdempotencyExistsError
		if errors.As(err, &exists) && exists.Existing.TaskID != tasks[winner].ID {
			t.Errorf("create %d was told the key belongs to %s, want the winner %s", i, exists.Existing.TaskID, tasks[winner].ID)
		}
	}

	// Half the creates name a stored task (another body: refused), half are new.
	fresh := make([]task.Task, n)
	for i := range fresh {
		fresh[i] = tasktest.New(t, "tenant-b", tasktest.TypeAlpha, tasktest.At(time.Minute+time.Duration(i)*time.Millisecond))
		if i%2 == 1 {
			fresh[i].ID = tasks[winner].ID
		}
	}
	together(n, func(i int) { errs[i] = s.Create(t.Context(), fresh[i], nil) })
	for i, err := range errs {
		if i%2 == 1 {
			if err == nil {
				t.Errorf("create %d over the stored task %s succeeded", i, fresh[i].ID)
			}
			continue
		}
		if err != nil {
			t.Errorf("create %d: %v", i, err)
			continue
		}
		if _, err := s.Get(t.Context(), fresh[i].ID, tasktest.At(time.Hour)); err != nil {
			t.Errorf("task %d, created in a batch with refused writes: %v", i, err)
		}
	}
	if got, err := s.Get(t.Context(), tasks[winner].ID, tasktest.At(time.Hour)); err != nil || got.Owner != "tenant-a" {
		t.Errorf("the task whose id the refused creates named: %+v, %v", got, err)
	}
}
