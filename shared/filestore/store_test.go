package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tasklane/tasklane/shared/storetest"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

func mustOpen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) task.Store {
		s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

// TestReopen: tasks, their changes, the indexes and idempotency records are in the file, not
// in memory, so a restart of `make run` keeps them.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tasks.db")
	base := tasktest.Base
	newTask := func(at time.Time) task.Task {
		return tasktest.NewSpec(t, "tenant-a", task.Spec{Type: tasktest.TypeAlpha, Input: json.RawMessage(`{"x":1}`)}, at)
	}

	s := mustOpen(t, path)
	first, second := newTask(base), newTask(base.Add(time.Second))
	idem := &task.Idempotency{Owner: "tenant-a", Key: "k", BodyHash: "h", TaskID: first.ID, ExpiresAt: base.Add(task.IdempotencyTTL)}
	if err := s.Create(ctx, first, idem); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, second, nil); err != nil {
		t.Fatal(err)
	}
	claim, err := second.Claim(base.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, claim); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = mustOpen(t, path)
	t.Cleanup(func() { _ = s.Close() })
	now := base.Add(time.Hour)
	for _, want := range []task.Task{first, claim.Task} {
		got, err := s.Get(ctx, want.ID, now)
		if err != nil {
			t.Fatalf("Get(%s) after reopen: %v", want.ID, err)
		}
		if got.Status != want.Status || got.Version != want.Version || !got.UpdatedAt.Equal(want.UpdatedAt) || string(got.Input) != string(want.Input) {
			t.Errorf("after reopen got %s %s v%d updated %s, want %s v%d updated %s", got.ID, got.Status, got.Version, got.UpdatedAt, want.Status, want.Version, want.UpdatedAt)
		}
	}
	p, err := s.List(ctx, task.ListQuery{Owner: "tenant-a", SortKey: task.SortUpdated, Desc: true, Limit: 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(p.Tasks), []string{second.ID, first.ID}; !slices.Equal(got, want) {
		t.Errorf("List after reopen = %v, want %v", got, want)
	}
	if active, err := s.Active(ctx, now); err != nil || !slices.Equal(active, []string{second.ID, first.ID}) {
		t.Errorf("Active after reopen = %v, %v; want the processing %s, then the pending %s", active, err, second.ID, first.ID)
	}
	third := newTask(base.Add(2 * time.Second))
	err = s.Create(ctx, third, &task.Idempotency{Owner: "tenant-a", Key: "k", BodyHash: "h2", TaskID: third.ID, ExpiresAt: third.CreatedAt.Add(task.IdempotencyTTL)})
	if e, ok := task.AsIdempotencyExists(err); !ok || e.Existing.TaskID != first.ID {
		t.Errorf("Create with a key used before the restart = %v, want IdempotencyExistsError naming %s", err, first.ID)
	}
	// Another change from version 1 still conflicts: the version is in the file too. (The
	// applied claim itself, re-sent, is success: its WriteID is in the file as well; see
	// the conformance suite's Apply/Resent.)
	cancel, err := second.Cancel(base.Add(2 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, cancel); !task.IsConflict(err) {
		t.Errorf("Apply of a change from version 1 after reopen = %v, want a conflict", err)
	}
	if err := s.Apply(ctx, claim); err != nil {
		t.Errorf("re-sent Apply of the applied claim after reopen = %v, want success", err)
	}
}

// TestOpenLocked: a second Open of a file in use fails instead of waiting forever.
func TestOpenLocked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path)
	t.Cleanup(func() { _ = s.Close() })
	if s2, err := Open(path); err == nil {
		_ = s2.Close()
		t.Fatal("second Open of a file in use succeeded")
	}
}

// TestOpenOtherLayout: a file of another layout version is refused, not misread; among them
// version 1, whose active index had no status in its keys.
func TestOpenOtherLayout(t *testing.T) {
	for _, v := range []string{"1", "99"} {
		path := filepath.Join(t.TempDir(), "tasks.db")
		s := mustOpen(t, path)
		if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte(v)) }); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s2, err := Open(path); err == nil {
			_ = s2.Close()
			t.Errorf("Open of a file with layout %s succeeded", v)
		}
	}
}

// TestListPosition: a position is the store's own and tied to its sort key; a malformed one
// or one of the other order is an error, never a silent restart from the first page.
func TestListPosition(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"))
	t.Cleanup(func() { _ = s.Close() })
	now := tasktest.Base
	created := encodeCursor(tagCreated, append(appendMillis(nil, now), "X"...))
	for _, tc := range []struct {
		name  string
		key   task.SortKey
		after []byte
	}{
		{"empty", task.SortCreated, []byte{}},
		{"short", task.SortCreated, []byte("c123")},
		{"other sort key", task.SortUpdated, created},
	} {
		_, err := s.List(t.Context(), task.ListQuery{Owner: "tenant-a", SortKey: tc.key, Limit: 5, After: tc.after, Now: now})
		if err == nil {
			t.Errorf("%s: List accepted position %q", tc.name, tc.after)
		}
	}
	if _, err := s.List(t.Context(), task.ListQuery{Owner: "tenant-a", SortKey: task.SortCreated, Limit: 5, After: created, Now: now}); err != nil {
		t.Errorf("List with a position of its own: %v", err)
	}
	if _, err := s.List(t.Context(), task.ListQuery{Owner: "tenant-a", Limit: 0, Now: now}); err == nil {
		t.Error("List with limit 0 succeeded")
	}
}

// TestListScanBudget: a filter that matches nothing among more than maxScan entries ends
// the page early with a Next, and the walk still ends.
func TestListScanBudget(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"))
	t.Cleanup(func() { _ = s.Close() })
	base := tasktest.Base
	// Written in one transaction, so that the set-up stays fast.
	n := maxScan + maxScan/2
	var last task.Task
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range n {
			at := base.Add(time.Duration(i) * time.Millisecond)
			tk, err := tasktest.Types.New(task.NewID(at), "tenant-a", task.Spec{Type: tasktest.TypeAlpha}, at)
			if err != nil {
				return err
			}
			b, err := json.Marshal(tk)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketTasks).Put([]byte(tk.ID), b); err != nil {
				return err
			}
			if err := putIndexes(tx, tk); err != nil {
				return err
			}
			last = tk
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	claim, err := last.Claim(base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(t.Context(), claim); err != nil {
		t.Fatal(err)
	}
	q := task.ListQuery{Owner: "tenant-a", Statuses: []task.Status{task.Processing}, Limit: 10, Now: base.Add(2 * time.Hour)}
	var seen []string
	pages := 0
	for {
		p, err := s.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		seen = append(seen, ids(p.Tasks)...)
		if p.Next == nil {
			break
		}
		if pages > 10 {
			t.Fatal("the walk does not end")
		}
		q.After = p.Next
	}
	if pages != 2 || !slices.Equal(seen, []string{last.ID}) {
		t.Errorf("walk took %d pages and saw %v, want 2 pages (the first cut short) and [%s]", pages, seen, last.ID)
	}
}

func TestContextCancelled(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"))
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	now := tasktest.Base
	if _, err := s.Get(ctx, "X", now); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context = %v", err)
	}
	if err := s.Create(ctx, task.Task{ID: "X", Owner: "o"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a cancelled context = %v", err)
	}
	if _, err := s.Get(t.Context(), "X", now); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("Create with a cancelled context wrote the task: Get = %v", err)
	}
	if _, err := s.Active(ctx, now); !errors.Is(err, context.Canceled) {
		t.Errorf("Active with a cancelled context = %v", err)
	}
}

func ids(ts []task.Task) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.ID
	}
	return out
}

// TestUpgradeFromVersion2: a file of layout version 2 (no all-owners indexes) opens, its
// all-owners indexes built from its tasks, so an admin's list of every tenant sees them.
func TestUpgradeFromVersion2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	base := tasktest.Base
	s := mustOpen(t, path)
	var want []string
	for i, owner := range []string{"tenant-a", "tenant-b", "tenant-a"} {
		at := base.Add(time.Duration(i) * time.Second)
		tk := tasktest.Create(t, s, tasktest.NewSpec(t, owner, task.Spec{Type: tasktest.TypeAlpha}, at))
		want = append(want, tk.ID)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketAllCrt, bucketAllUpd} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path)
	t.Cleanup(func() { _ = s.Close() })
	for _, key := range []task.SortKey{task.SortCreated, task.SortUpdated} {
		p, err := s.List(t.Context(), task.ListQuery{SortKey: key, Limit: 10, Now: base.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tk := range p.Tasks {
			got = append(got, tk.ID)
		}
		if !slices.Equal(got, want) || p.Next != nil {
			t.Errorf("%s: all-owners list after upgrade %v (next %q), want %v", key, got, p.Next, want)
		}
	}
}

// TestActive: Active lists the tasks pending or processing and last updated before its bound,
// processing ones first, each oldest first, as every write leaves them: a task that ended is
// gone from it, one that was claimed moves from pending to processing, a retried one is back.
func TestActive(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"))
	t.Cleanup(func() { _ = s.Close() })
	base := tasktest.Base
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	create := func(min int) task.Task {
		return tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, at(min)))
	}
	pendingOld, pendingNew := create(1), create(9)
	claimed := tasktest.Drive(t, s, create(0), task.Processing, at(2))
	tasktest.Drive(t, s, create(3), task.Success, at(4))
	failed := tasktest.Drive(t, s, create(5), task.Failure, at(6))
	retried := tasktest.Apply(t, s, tasktest.Transition(t, failed, func(x task.Task) (task.Change, error) { return x.Retry(at(7), true) }))
	tasktest.Drive(t, s, create(8), task.Failure, at(8))

	for _, c := range []struct {
		before time.Time
		want   []string
	}{
		{at(10), []string{claimed.ID, pendingOld.ID, retried.ID, pendingNew.ID}},
		{at(7), []string{claimed.ID, pendingOld.ID}}, // the retry is at 7: not before it
		{at(7).Add(time.Nanosecond), []string{claimed.ID, pendingOld.ID, retried.ID}},
		{at(0), nil},
	} {
		got, err := s.Active(ctx, c.before)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Active(%s) = %v, want %v", c.before.Format(time.RFC3339Nano), got, c.want)
		}
	}
}
