package storetest

import (
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// idemFor is the record the API writes with tk for a request with key and body hash.
func idemFor(tk task.Task, owner, key, hash string) *task.Idempotency {
	return &task.Idempotency{Owner: owner, Key: key, BodyHash: hash, TaskID: tk.ID, ExpiresAt: tk.CreatedAt.Add(task.IdempotencyTTL)}
}

func createIdem(t *testing.T, s task.Store, tk task.Task, idem *task.Idempotency) {
	t.Helper()
	if err := s.Create(t.Context(), tk, idem); err != nil {
		t.Fatalf("Create(%s) with key %s/%s: %v", tk.ID, idem.Owner, idem.Key, err)
	}
}

// assertIdemExists checks that Create(tk, idem) is refused with the first use's record, and
// that tk was not written.
func assertIdemExists(t *testing.T, s task.Store, tk task.Task, idem *task.Idempotency, first task.Idempotency) {
	t.Helper()
	err := s.Create(t.Context(), tk, idem)
	e, ok := task.AsIdempotencyExists(err)
	if !ok {
		t.Errorf("Create(%s) with used key %s/%s = %v, want a *task.IdempotencyExistsError", tk.ID, idem.Owner, idem.Key, err)
	} else {
		ex := e.Existing
		if ex.TaskID != first.TaskID || ex.BodyHash != first.BodyHash || ex.Owner != first.Owner || ex.Key != first.Key {
			t.Errorf("Existing = {owner %q key %q task %q hash %q}, want the first use {owner %q key %q task %q hash %q}",
				ex.Owner, ex.Key, ex.TaskID, ex.BodyHash, first.Owner, first.Key, first.TaskID, first.BodyHash)
		}
	}
	// Atomic: the refused task is nowhere.
	assertNotFound(t, s, tk.ID, tk.CreatedAt)
	p, err := s.List(t.Context(), task.ListQuery{Owner: tk.Owner, Limit: 100, Now: tk.CreatedAt})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, got := range p.Tasks {
		if got.ID == tk.ID {
			t.Errorf("List shows task %s, whose Create was refused", tk.ID)
		}
	}
}

func testIdempotencyExists(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	first := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0))
	rec := idemFor(first, "tenant-a", "key-1", "hash-1")
	createIdem(t, s, first, rec)
	assertSameTask(t, "Get after Create with a key", first, mustGet(t, s, first.ID, tasktest.At(time.Second)))

	tests := []struct {
		name  string
		after time.Duration // the second create's time, after the first
		hash  string
	}{
		{"same body, at once", time.Millisecond, "hash-1"},
		{"other body", time.Second, "hash-2"},
		{"just before the record expires", task.IdempotencyTTL - time.Millisecond, "hash-1"},
	}
	for _, tc := range tests {
		second := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, first.CreatedAt.Add(tc.after))
		assertIdemExists(t, s, second, idemFor(second, "tenant-a", "key-1", tc.hash), *rec)
	}
	// The first task is untouched, and is the owner's only one.
	assertSameTask(t, "first task after refused creates", first, mustGet(t, s, first.ID, tasktest.At(time.Minute)))
	p, err := s.List(t.Context(), task.ListQuery{Owner: "tenant-a", Limit: 100, Now: tasktest.At(time.Minute)})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(p.Tasks) != 1 || p.Tasks[0].ID != first.ID {
		t.Errorf("List = %v, want only %s", ids(p.Tasks), first.ID)
	}
}

// testIdempotencyOwnersAndKeys: a key is scoped by its owner, and (owner, key) pairs that
// a careless concatenation would confuse are distinct.
func testIdempotencyOwnersAndKeys(t *testing.T, newStore newStoreFunc) {
	pairs := [][2]string{ // owner, key
		{"tenant-a", "key-1"},
		{"tenant-b", "key-1"},
		{"tenant-a", "key-2"},
		{"tenant-a#x", "y"},
		{"tenant-a", "x#y"},
		{"tenant-a:x", "y"},
		{"tenant-a", "x:y"},
		{"tenant-a/x", "y"},
		{"tenant-a", "x/y"},
		{"tenant-a|x", "y"},
		{"tenant-a", "x|y"},
		{"tenant-ax", "y"},
		{"tenant-a", "xy"},
		{"TENANT-A", "key-1"},
		{"tenant-a", "KEY-1"},
	}
	s := newStore(t)
	recs := make([]*task.Idempotency, len(pairs))
	for i, p := range pairs {
		tk := tasktest.New(t, p[0], tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Second))
		recs[i] = idemFor(tk, p[0], p[1], "hash-"+p[0]+"-"+p[1])
		createIdem(t, s, tk, recs[i])
	}
	// Each pair is now used, by its own task.
	for i, p := range pairs {
		tk := tasktest.New(t, p[0], tasktest.TypeAlpha, tasktest.At(time.Hour))
		assertIdemExists(t, s, tk, idemFor(tk, p[0], p[1], "other"), *recs[i])
	}
}

func testIdempotencyExpired(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	first := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0))
	rec1 := idemFor(first, "tenant-a", "key-1", "hash-1")
	rec1.ExpiresAt = tasktest.At(time.Hour)
	createIdem(t, s, first, rec1)

	// After the record's expiry the key is free again, and the new use replaces the old.
	second := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, rec1.ExpiresAt.Add(time.Millisecond))
	rec2 := idemFor(second, "tenant-a", "key-1", "hash-2")
	createIdem(t, s, second, rec2)
	assertSameTask(t, "task created over an expired key", second, mustGet(t, s, second.ID, second.CreatedAt))
	assertSameTask(t, "the first task", first, mustGet(t, s, first.ID, second.CreatedAt))

	third := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, second.CreatedAt.Add(time.Second))
	assertIdemExists(t, s, third, idemFor(third, "tenant-a", "key-1", "hash-3"), *rec2)

	// Long after, again.
	fourth := tasktest.New(t, "tenant-a", tasktest.TypeBeta, rec2.ExpiresAt.Add(time.Hour))
	rec4 := idemFor(fourth, "tenant-a", "key-1", "hash-4")
	createIdem(t, s, fourth, rec4)
	fifth := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, fourth.CreatedAt.Add(time.Millisecond))
	assertIdemExists(t, s, fifth, idemFor(fifth, "tenant-a", "key-1", "hash-5"), *rec4)
}

// testIdempotencyExistingID: a Create refused because its task id exists writes no
// idempotency record either.
func testIdempotencyExistingID(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	first := tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0)))
	if err := s.Create(t.Context(), first, idemFor(first, "tenant-a", "key-1", "hash-1")); err == nil {
		t.Fatalf("Create of existing id %s with a key succeeded, want an error", first.ID)
	}
	// The key was not recorded: a new task can use it.
	second := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(time.Second))
	rec := idemFor(second, "tenant-a", "key-1", "hash-2")
	createIdem(t, s, second, rec)
	third := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(2*time.Second))
	assertIdemExists(t, s, third, idemFor(third, "tenant-a", "key-1", "hash-3"), *rec)
}
