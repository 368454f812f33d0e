package memqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/queuetest"
)

// unit is the time step of these tests: short, since the queue does not round to seconds.
const unit = 50 * time.Millisecond

func TestConformance(t *testing.T) {
	queuetest.RunWith(t, func(t *testing.T) queue.Queue {
		return memqueue.New(memqueue.Options{})
	}, queuetest.Options{Unit: unit})
}

func receiveOne(t *testing.T, q *memqueue.Queue, visibility time.Duration) queue.Delivery {
	t.Helper()
	ds, err := q.Receive(t.Context(), 10, visibility, 10*time.Second)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(ds) != 1 {
		t.Fatalf("Receive returned %d messages, want 1", len(ds))
	}
	return ds[0]
}

func expectEmpty(t *testing.T, q *memqueue.Queue, wait time.Duration) {
	t.Helper()
	ds, err := q.Receive(t.Context(), 10, time.Hour, wait)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(ds) != 0 {
		t.Fatalf("Receive returned %+v, want nothing", ds)
	}
}

func TestStaleHandleNeverDeletes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := memqueue.New(memqueue.Options{})
	if err := q.Send(ctx, queue.Message{TaskID: "t1"}, 0); err != nil {
		t.Fatal(err)
	}
	first := receiveOne(t, q, unit)
	second := receiveOne(t, q, time.Hour)
	if err := q.Delete(ctx, first.ReceiptHandle); err != nil {
		t.Fatalf("Delete with a stale handle: %v, want success without effect (as SQS)", err)
	}
	if err := q.ChangeVisibility(ctx, first.ReceiptHandle, 0); !errors.Is(err, memqueue.ErrNotInFlight) {
		t.Fatalf("ChangeVisibility with a stale handle: %v, want ErrNotInFlight", err)
	}
	if got := q.Stats(); got != (memqueue.Stats{InFlight: 1}) {
		t.Fatalf("Stats after a stale Delete = %+v, want the message in flight", got)
	}
	if err := q.ChangeVisibility(ctx, second.ReceiptHandle, 0); err != nil {
		t.Fatalf("ChangeVisibility with the current handle: %v", err)
	}
	third := receiveOne(t, q, time.Hour)
	if third.MessageID != first.MessageID || third.ReceiveCount != 3 {
		t.Fatalf("got %+v, want message %s again with ReceiveCount 3", third, first.MessageID)
	}
	if err := q.Delete(ctx, third.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if got := q.Stats(); got != (memqueue.Stats{}) {
		t.Fatalf("Stats after Delete = %+v, want empty", got)
	}
}

func TestInvalidReceiptHandle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := memqueue.New(memqueue.Options{})
	other := memqueue.New(memqueue.Options{})
	if err := other.Send(ctx, queue.Message{TaskID: "t1"}, 0); err != nil {
		t.Fatal(err)
	}
	foreign := receiveOne(t, other, time.Hour).ReceiptHandle
	for _, h := range []string{"", "garbage", "a.b.c.d", foreign} {
		if err := q.Delete(ctx, h); !errors.Is(err, memqueue.ErrInvalidReceiptHandle) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidReceiptHandle", h, err)
		}
		if err := q.ChangeVisibility(ctx, h, 0); !errors.Is(err, memqueue.ErrInvalidReceiptHandle) {
			t.Errorf("ChangeVisibility(%q) = %v, want ErrInvalidReceiptHandle", h, err)
		}
	}
	if got := other.Stats(); got.InFlight != 1 {
		t.Fatalf("other queue's message touched: %+v", got)
	}
}

func TestChangeVisibilityAfterTimeoutFails(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := memqueue.New(memqueue.Options{})
	if err := q.Send(ctx, queue.Message{TaskID: "t1"}, 0); err != nil {
		t.Fatal(err)
	}
	d := receiveOne(t, q, unit)
	time.Sleep(2 * unit)
	// Visible again but not received again: SQS answers MessageNotInflight.
	if err := q.ChangeVisibility(ctx, d.ReceiptHandle, time.Minute); !errors.Is(err, memqueue.ErrNotInFlight) {
		t.Fatalf("ChangeVisibility after the timeout = %v, want ErrNotInFlight", err)
	}
	// Delete still works with the latest handle, as in SQS.
	if err := q.Delete(ctx, d.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	expectEmpty(t, q, 0)
	if got := q.Stats(); got != (memqueue.Stats{}) {
		t.Fatalf("Stats = %+v, want empty", got)
	}
}

func TestDeadLetterRedrive(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dlq := memqueue.New(memqueue.Options{})
	q := memqueue.New(memqueue.Options{MaxReceiveCount: 2, DeadLetter: dlq})
	m := queue.Message{TaskID: "poison", Run: 1}
	if err := q.Send(ctx, m, 0); err != nil {
		t.Fatal(err)
	}
	// A receive waiting on the dead-letter queue is woken by the move.
	dlqGot := make(chan []queue.Delivery, 1)
	go func() {
		ds, err := dlq.Receive(ctx, 10, time.Hour, 10*time.Second)
		if err != nil {
			t.Errorf("dead-letter Receive: %v", err)
		}
		dlqGot <- ds
	}()
	first := receiveOne(t, q, unit)
	second := receiveOne(t, q, unit)
	if second.ReceiveCount != 2 {
		t.Fatalf("second ReceiveCount = %d, want 2", second.ReceiveCount)
	}
	// The third receive finds the message due for redrive: it moves instead.
	expectEmpty(t, q, 4*unit)
	if got := q.Stats(); got != (memqueue.Stats{}) {
		t.Fatalf("source queue Stats = %+v, want empty", got)
	}
	ds := <-dlqGot
	if len(ds) != 1 {
		t.Fatalf("dead-letter queue gave %d messages, want 1", len(ds))
	}
	d := ds[0]
	if d.MessageID != first.MessageID || d.Body != m.Encode() || !d.SentAt.Equal(first.SentAt) {
		t.Fatalf("dead letter %+v, want message %s with its body and send time", d, first.MessageID)
	}
	if d.ReceiveCount != 3 {
		t.Fatalf("dead letter ReceiveCount = %d, want 3 (SQS keeps counting)", d.ReceiveCount)
	}
	// The source queue's old handle does not reach the moved message.
	if err := q.Delete(ctx, second.ReceiptHandle); err != nil {
		t.Fatalf("Delete with the source queue's handle: %v", err)
	}
	if err := dlq.Delete(ctx, d.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
}

func TestDeletedBeforeRedriveStays(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dlq := memqueue.New(memqueue.Options{})
	q := memqueue.New(memqueue.Options{MaxReceiveCount: 1, DeadLetter: dlq})
	if err := q.Send(ctx, queue.Message{TaskID: "ok"}, 0); err != nil {
		t.Fatal(err)
	}
	d := receiveOne(t, q, unit)
	if err := q.Delete(ctx, d.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	expectEmpty(t, q, 3*unit)
	if got := dlq.Stats(); got != (memqueue.Stats{}) {
		t.Fatalf("dead-letter Stats = %+v, want empty", got)
	}
}

func TestReceiveBatchLimits(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := memqueue.New(memqueue.Options{})
	for i := range 15 {
		if err := q.Send(ctx, queue.Message{TaskID: fmt.Sprint("t", i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := q.Receive(ctx, 100, time.Hour, 0)
	if err != nil || len(ds) != 10 {
		t.Fatalf("Receive(100) = %d messages, %v; want 10 (SQS's maximum)", len(ds), err)
	}
	// In send order.
	for i, d := range ds {
		if want := (queue.Message{TaskID: fmt.Sprint("t", i)}).Encode(); d.Body != want {
			t.Fatalf("message %d body %s, want %s", i, d.Body, want)
		}
	}
	ds, err = q.Receive(ctx, 0, time.Hour, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Receive(0) = %d messages, %v; want 1 (SQS's minimum)", len(ds), err)
	}
	if got := q.Stats(); got != (memqueue.Stats{Visible: 4, InFlight: 11}) {
		t.Fatalf("Stats = %+v", got)
	}
}

func TestDefaultVisibility(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := memqueue.New(memqueue.Options{Visibility: 2 * unit})
	if err := q.Send(ctx, queue.Message{TaskID: "t"}, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if d := receiveOne(t, q, 0); d.ReceiveCount != 1 {
		t.Fatalf("ReceiveCount %d", d.ReceiveCount)
	}
	d := receiveOne(t, q, time.Hour)
	if time.Since(start) < 2*unit || d.ReceiveCount != 2 {
		t.Fatalf("redelivered after %v with ReceiveCount %d; want after the queue's visibility %v", time.Since(start), d.ReceiveCount, 2*unit)
	}
}

func TestDelayedStats(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := memqueue.New(memqueue.Options{})
	if err := q.Send(ctx, queue.Message{TaskID: "t"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := q.Stats(); got != (memqueue.Stats{Delayed: 1}) {
		t.Fatalf("Stats = %+v, want one delayed", got)
	}
	expectEmpty(t, q, 2*unit)
}

// TestWaitWakesOnTimer checks that a waiting Receive wakes when a hidden message's time
// comes, without any send or visibility change to wake it.
func TestWaitWakesOnTimer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := memqueue.New(memqueue.Options{})
	start := time.Now()
	if err := q.Send(ctx, queue.Message{TaskID: "t"}, 2*unit); err != nil {
		t.Fatal(err)
	}
	d := receiveOne(t, q, time.Hour)
	if time.Since(start) < 2*unit || d.ReceiveCount != 1 {
		t.Fatalf("received after %v, ReceiveCount %d; want not before the delay", time.Since(start), d.ReceiveCount)
	}
}

// TestConcurrentConsumers checks under -race that competing consumers that delete what
// they receive process every message exactly once.
func TestConcurrentConsumers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	q := memqueue.New(memqueue.Options{})
	const n = 300
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				ds, err := q.Receive(ctx, 10, time.Hour, 10*time.Second)
				if err != nil {
					return
				}
				for _, d := range ds {
					mu.Lock()
					seen[d.Body]++
					done := len(seen) == n
					mu.Unlock()
					if err := q.Delete(context.Background(), d.ReceiptHandle); err != nil {
						t.Errorf("Delete: %v", err)
					}
					if done {
						cancel()
					}
				}
			}
		})
	}
	for i := range n {
		if err := q.Send(ctx, queue.Message{TaskID: fmt.Sprint("t", i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		t.Error("consumers did not receive every message within 30 s")
		cancel()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("received %d distinct messages, want %d", len(seen), n)
	}
	for b, c := range seen {
		if c != 1 {
			t.Fatalf("message %s received %d times", b, c)
		}
	}
	if got := q.Stats(); got != (memqueue.Stats{}) {
		t.Fatalf("Stats = %+v, want empty", got)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	q := memqueue.New(memqueue.Options{})
	if err := q.Send(ctx, queue.Message{TaskID: "t"}, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a cancelled context = %v", err)
	}
	if _, err := q.Receive(ctx, 1, time.Second, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive with a cancelled context = %v", err)
	}
}
