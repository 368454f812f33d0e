package fault_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

func newQueue(t *testing.T) (*fault.Queue, *memqueue.Queue) {
	t.Helper()
	inner := memqueue.New(memqueue.Options{})
	return fault.NewQueue(inner), inner
}

// receive returns what inner hands out within a short wait.
func receive(t *testing.T, q queue.Queue) []queue.Delivery {
	t.Helper()
	ds, err := q.Receive(t.Context(), 10, time.Minute, 20*time.Millisecond)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return ds
}

func TestQueueTransparent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q, inner := newQueue(t)
	m := queue.Message{TaskID: "t1", Run: 2}
	if err := q.Send(ctx, m, 0); err != nil {
		t.Fatal(err)
	}
	ds := receive(t, q)
	if len(ds) != 1 || ds[0].Body != m.Encode() {
		t.Fatalf("received %+v", ds)
	}
	if err := q.ChangeVisibility(ctx, ds[0].ReceiptHandle, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := q.Delete(ctx, ds[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if s := inner.Stats(); s != (memqueue.Stats{}) {
		t.Errorf("inner queue not empty: %+v", s)
	}
	if got := q.Sent(); len(got) != 1 || got[0] != m {
		t.Errorf("Sent %+v", got)
	}
	if c := q.Calls(); c != (fault.QueueCalls{Send: 1, ChangeVisibility: 1, Delete: 1, Receive: 1}) {
		t.Errorf("calls %+v", c)
	}
}

func TestQueueFailNext(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q, inner := newQueue(t)
	q.FailSends(2)
	for i := range 2 {
		if err := q.Send(ctx, queue.Message{TaskID: "t"}, 0); !errors.Is(err, fault.ErrInjected) {
			t.Fatalf("send %d: %v, want ErrInjected", i, err)
		}
	}
	if s := inner.Stats(); s.Visible != 0 || len(q.Sent()) != 0 {
		t.Fatalf("a failed send reached the queue: %+v", s)
	}
	if err := q.Send(ctx, queue.Message{TaskID: "t"}, 0); err != nil {
		t.Fatalf("third send: %v", err)
	}

	q.FailReceives(1)
	if _, err := q.Receive(ctx, 10, time.Minute, 0); !errors.Is(err, fault.ErrInjected) {
		t.Fatalf("receive: %v, want ErrInjected", err)
	}
	ds := receive(t, q)
	if len(ds) != 1 {
		t.Fatalf("received %d", len(ds))
	}
	h := ds[0].ReceiptHandle

	q.FailChangeVisibility(1)
	if err := q.ChangeVisibility(ctx, h, 0); !errors.Is(err, fault.ErrInjected) {
		t.Fatalf("change visibility: %v, want ErrInjected", err)
	}
	if s := inner.Stats(); s.InFlight != 1 {
		t.Fatalf("a failed ChangeVisibility took effect: %+v", s)
	}
	q.FailDeletes(1)
	if err := q.Delete(ctx, h); !errors.Is(err, fault.ErrInjected) {
		t.Fatalf("delete: %v, want ErrInjected", err)
	}
	if s := inner.Stats(); s.InFlight != 1 {
		t.Fatalf("a failed Delete took effect: %+v", s)
	}
	if err := q.Delete(ctx, h); err != nil {
		t.Fatalf("delete after the fault: %v", err)
	}
	if c := q.Calls(); c.Failed != 5 {
		t.Errorf("%d failures counted, want 5", c.Failed)
	}
}

func TestQueueLostSend(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q, inner := newQueue(t)
	boom := errors.New("timeout")
	q.OnSend(func(m queue.Message, _ time.Duration) error {
		if m.TaskID == "lost" {
			return fault.Lost(boom)
		}
		return nil
	})
	if err := q.Send(ctx, queue.Message{TaskID: "lost"}, 0); !errors.Is(err, boom) {
		t.Fatalf("send: %v, want the lost response's error", err)
	}
	if err := q.Send(ctx, queue.Message{TaskID: "fine"}, 0); err != nil {
		t.Fatalf("send: %v", err)
	}
	if s := inner.Stats(); s.Visible != 2 {
		t.Fatalf("%d messages in the queue, want both: a lost response still sends", s.Visible)
	}
	q.OnSend(nil)
	if err := q.Send(ctx, queue.Message{TaskID: "lost"}, 0); err != nil {
		t.Fatalf("send after OnSend(nil): %v", err)
	}
}

func newStore(t *testing.T) (*fault.Store, task.Task) {
	t.Helper()
	fs, err := filestore.Open(filepath.Join(t.TempDir(), "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fs.Close() })
	now := time.Now().UTC()
	tk := task.Task{ID: task.NewID(now), Type: "demo", Owner: "tenant-a", Status: task.Pending,
		SubTasks: []task.SubTask{{Name: "One", Status: task.Pending}}, MaxAttempts: 3,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	return fault.NewStore(fs), tk
}

func TestStoreFailNext(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tk := newStore(t)
	s.FailCreates(1)
	if err := s.Create(ctx, tk, nil); !errors.Is(err, fault.ErrInjected) {
		t.Fatalf("create: %v, want ErrInjected", err)
	}
	if _, err := s.Inner().Get(ctx, tk.ID, time.Now()); !errors.Is(err, task.ErrNotFound) {
		t.Fatalf("a failed create stored the task: %v", err)
	}
	if err := s.Create(ctx, tk, nil); err != nil {
		t.Fatal(err)
	}
	s.FailGets(1)
	if _, err := s.Get(ctx, tk.ID, time.Now()); !errors.Is(err, fault.ErrInjected) {
		t.Fatalf("get: %v, want ErrInjected", err)
	}
	ch, err := tk.Claim(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.FailApplies(1)
	if err := s.Apply(ctx, ch); !errors.Is(err, fault.ErrInjected) {
		t.Fatalf("apply: %v, want ErrInjected", err)
	}
	if got, _ := s.Get(ctx, tk.ID, time.Now()); got.Version != 1 || len(s.Applied()) != 0 {
		t.Fatalf("a failed apply wrote: version %d", got.Version)
	}
	if err := s.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if got := s.Applied(); len(got) != 1 || got[0].Task.Version != 2 {
		t.Fatalf("Applied %+v", got)
	}
}

func TestStoreLostApply(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tk := newStore(t)
	if err := s.Create(ctx, tk, nil); err != nil {
		t.Fatal(err)
	}
	s.OnApply(func(task.Change) error { return fault.Lost(nil) })
	ch, _ := tk.Claim(time.Now())
	if err := s.Apply(ctx, ch); !errors.Is(err, fault.ErrInjected) {
		t.Fatalf("apply: %v, want the injected error", err)
	}
	if got, _ := s.Get(ctx, tk.ID, time.Now()); got.Status != task.Processing || len(s.Applied()) != 1 {
		t.Fatalf("a lost response did not write: %s", got.Status)
	}
	// Retried, the same change is found stored (the store recognises its own write by its
	// WriteID, see the conformance suite's Apply/Resent); another change computed from the
	// version the caller read conflicts: what a caller that believed the failure sees.
	s.OnApply(nil)
	if err := s.Apply(ctx, ch); err != nil {
		t.Fatalf("repeated apply: %v, want success: it was written", err)
	}
	cancel, _ := tk.Cancel(time.Now())
	if err := s.Apply(ctx, cancel); !task.IsConflict(err) {
		t.Fatalf("another change from the version read: %v, want a conflict", err)
	}
	if n := len(s.Applied()); n != 2 {
		t.Fatalf("Applied %d changes, want 2 (the lost one and its re-send)", n)
	}
}

// TestStoreBeforeApply: a hook lands another writer's change between the caller's read and
// its write, so the caller's conditional write loses.
func TestStoreBeforeApply(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tk := newStore(t)
	if err := s.Create(ctx, tk, nil); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	s.BeforeApply(func(ctx context.Context, c task.Change) {
		calls.Add(1)
		if c.FromStatus != task.Pending || c.Task.Status != task.Processing {
			return // the nested cancel below
		}
		cur, err := s.Get(ctx, c.Task.ID, time.Now())
		if err != nil {
			t.Error(err)
			return
		}
		cancel, err := cur.Cancel(time.Now())
		if err != nil {
			t.Error(err)
			return
		}
		if err := s.Apply(ctx, cancel); err != nil {
			t.Errorf("cancel: %v", err)
		}
	})
	claim, _ := tk.Claim(time.Now())
	if err := s.Apply(ctx, claim); !task.IsConflict(err) {
		t.Fatalf("claim: %v, want a conflict with the cancel landed before it", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("hook ran %d times, want 2 (the claim and the nested cancel)", n)
	}
	if got, _ := s.Get(ctx, tk.ID, time.Now()); got.Status != task.Cancelled {
		t.Errorf("task is %s, want cancelled", got.Status)
	}
	s.BeforeApply(nil)
}
