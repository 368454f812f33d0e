package worker_test

// The API announces a run before it stores it (see "No task without a message" in the
// worker's package comment): a message ahead of its write, a write that never lands, a send
// that fails, a crash between the two; and expiry as the worker sees it.

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
	"github.com/tasklane/tasklane/shared/worker"
)

// counted wraps h to count the records it is handed.
func counted(h eventsource.Handler, n *atomic.Int64) eventsource.Handler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		n.Add(int64(len(ev.Records)))
		return h(ctx, ev)
	}
}

// drainUntil drains the work queue through h until cond holds, failing the test after 20 s:
// for messages that come back after a delay, which one drain may end before.
func (r *bundle) drainUntil(h eventsource.Handler, what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.drain(r.queue, h); !cond(); r.drain(r.queue, h) {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sentFor returns the messages sent for task id.
func (r *bundle) sentFor(id string) []queue.Message {
	var out []queue.Message
	for _, m := range r.queue.Sent() {
		if m.TaskID == id {
			out = append(out, m)
		}
	}
	return out
}

// TestStoreFailsAfterSend: the create's message went out and its write failed. The create is
// an error and nothing is stored; the worker, finding no task, sends the message again while
// the write might still land (StoreGrace), and drops it after the grace, without a trace.
func TestStoreFailsAfterSend(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		r.store.FailCreates(1)
		if c, err := r.svc.Create(t.Context(), tenant, usecase.CreateRequest{Spec: task.Spec{Type: demo.Name}}); !errors.Is(err, fault.ErrInjected) {
			t.Fatalf("create with a failing write: %+v, %v; want the write's error", c, err)
		}
		sent := r.queue.Sent()
		if len(sent) != 1 || sent[0].AnnouncedAt.IsZero() {
			t.Fatalf("sent %+v, want the create's announcement", sent)
		}
		id := sent[0].TaskID
		var handled atomic.Int64
		w := r.worker()
		h := counted(w.Handle, &handled)
		if n := r.drain(r.queue, h); n != 1 {
			t.Fatalf("%d messages handled, want the announcement", n)
		}
		if got := r.sentFor(id); len(got) != 2 || got[1] != sent[0] {
			t.Fatalf("sent %+v for %s, want the announcement again, as it was", got, id)
		}

		r.clock.Advance(worker.StoreGrace)
		r.drainUntil(h, "the re-sent message", func() bool { return handled.Load() == 2 })
		time.Sleep(1500 * time.Millisecond) // longer than any re-send's delay
		r.expectNoMessage(r.work, "the message was dropped after the grace")
		if got := r.sentFor(id); len(got) != 2 {
			t.Errorf("sent %d messages for %s, want no more after the grace", len(got), id)
		}
		if _, err := r.base.Get(t.Context(), id, r.clock.Now()); !errors.Is(err, task.ErrNotFound) {
			t.Errorf("task %s: %v, want not found", id, err)
		}
		if n := len(r.store.Applied()); n != 0 {
			t.Errorf("%d changes applied", n)
		}
	})
}

// TestMessageAheadOfCreate: the worker receives the announcement before the API's write has
// landed (here: while the write is held back). It finds no task, has the message come back,
// and runs the task, each step once, once it is stored.
func TestMessageAheadOfCreate(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		w := r.worker()
		var once sync.Once
		r.store.OnCreate(func(tk task.Task) error {
			once.Do(func() {
				if n := r.drain(r.queue, w.Handle); n != 1 {
					t.Errorf("%d messages handled before the write, want the announcement", n)
				}
			})
			return nil
		})
		created := r.create()
		if got := r.sentFor(created.ID); len(got) != 2 {
			t.Fatalf("sent %+v, want the announcement and its re-send", got)
		}
		r.drainUntil(w.Handle, "the task to succeed", func() bool { return r.get(created.ID).Status == task.Success })
		expectSucceeded(t, r.get(created.ID), []int{1, 1, 1})
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 1, 1}) {
			t.Errorf("steps ran %v times, want [1 1 1]", c)
		}
	})
}

// TestMessageAheadOfRetry: a retry's message reaches the worker while the task is still
// failed at the earlier run (the retry's write not landed yet). It is not taken for a stale
// message of an old run: it comes back, and the new run completes.
func TestMessageAheadOfRetry(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		created := r.create(demoStep("Validate"), demoStep("Allocate", "failUntilRetry", 1))
		w := r.worker()
		r.drain(r.queue, w.Handle)
		if got := r.get(created.ID); got.Status != task.Failure {
			t.Fatalf("first run: %s", got.Status)
		}
		var once sync.Once
		r.store.BeforeApply(func(ctx context.Context, c task.Change) {
			if c.Op == task.OpRetry {
				once.Do(func() {
					if n := r.drain(r.queue, w.Handle); n != 1 {
						t.Errorf("%d messages handled before the retry's write, want its announcement", n)
					}
				})
			}
		})
		if _, err := r.svc.Retry(t.Context(), tenant, created.ID); err != nil {
			t.Fatal(err)
		}
		r.drainUntil(w.Handle, "the new run to succeed", func() bool { return r.get(created.ID).Status == task.Success })
		if got := r.get(created.ID); got.RetryCount != 1 || !slices.Equal(attemptsOf(got), []int{1, 1}) {
			t.Fatalf("after the retry: retryCount %d, attempts %v", got.RetryCount, attemptsOf(got))
		}
	})
}

// TestSendFailure: the create's (or the retry's) message cannot be sent. The use case fails
// with nothing stored and nothing on the queue; the client's second try goes through and the
// task completes.
func TestSendFailure(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		r.queue.FailSends(1)
		if c, err := r.svc.Create(ctx, tenant, usecase.CreateRequest{Spec: task.Spec{Type: demo.Name}}); !errors.Is(err, fault.ErrInjected) {
			t.Fatalf("create with a failing send: %+v, %v", c, err)
		}
		if got := r.active(); len(got) != 0 {
			t.Fatalf("a create whose send failed stored %v", got)
		}
		r.expectNoMessage(r.work, "the send failed")

		created := r.create(demoStep("Validate"), demoStep("Allocate", "failUntilRetry", 1))
		w := r.worker()
		r.drain(r.queue, w.Handle)
		failed := r.get(created.ID)
		r.queue.FailSends(1)
		if _, err := r.svc.Retry(ctx, tenant, created.ID); !errors.Is(err, fault.ErrInjected) {
			t.Fatalf("retry with a failing send: %v", err)
		}
		if got := r.get(created.ID); got.Status != task.Failure || got.Version != failed.Version {
			t.Fatalf("a retry whose send failed changed the task: %s v%d, was v%d", got.Status, got.Version, failed.Version)
		}
		if _, err := r.svc.Retry(ctx, tenant, created.ID); err != nil {
			t.Fatal(err)
		}
		r.drain(r.queue, w.Handle)
		if got := r.get(created.ID); got.Status != task.Success || got.RetryCount != 1 {
			t.Fatalf("after the second retry: %s, retryCount %d", got.Status, got.RetryCount)
		}
	})
}

// TestCrashBetweenSendAndStore: the API process dies after the send, before its write
// (simulated: the write never reaches the store). The client had no answer and asks again
// with its Idempotency-Key: that create is stored, the only task of the key, and runs once;
// the first message, for a task that never was, is dropped after the grace. Nothing the
// client was told of is lost.
func TestCrashBetweenSendAndStore(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		req := usecase.CreateRequest{Spec: task.Spec{Type: demo.Name}, IdempotencyKey: "k", BodyHash: "h"}
		r.store.OnCreate(func(task.Task) error { return errKilled })
		if _, err := r.svc.Create(ctx, tenant, req); !errors.Is(err, errKilled) {
			t.Fatalf("create in a dying process: %v", err)
		}
		r.store.OnCreate(nil)
		orphan := r.queue.Sent()[0].TaskID
		c, err := r.svc.Create(ctx, tenant, req)
		if err != nil || c.Replayed || c.Task.ID == orphan {
			t.Fatalf("the client's second create: %+v, %v; want a new task", c, err)
		}
		var handled atomic.Int64
		w := r.worker()
		h := counted(w.Handle, &handled)
		r.drain(r.queue, h) // the task runs; the orphan comes back later
		expectSucceeded(t, r.get(c.Task.ID), []int{1, 1, 1})
		r.clock.Advance(worker.StoreGrace)
		r.drainUntil(h, "the orphan's re-send", func() bool { return handled.Load() >= 3 })
		time.Sleep(1500 * time.Millisecond)
		r.expectNoMessage(r.work, "the orphan was dropped")
		if _, err := r.base.Get(ctx, orphan, r.clock.Now()); !errors.Is(err, task.ErrNotFound) {
			t.Errorf("the orphan's task: %v, want not found", err)
		}
		replay, err := r.svc.Create(ctx, tenant, req)
		if err != nil || !replay.Replayed || replay.Task.ID != c.Task.ID {
			t.Errorf("replay: %+v, %v; want the one task of the key", replay, err)
		}
		if c := r.runs.counts(c.Task.ID, 3); !slices.Equal(c, []int{1, 1, 1}) {
			t.Errorf("steps ran %v times, want [1 1 1]", c)
		}
	})
}

// TestExpiredTaskAtWorker: a message (a late duplicate, a dead letter) for a task whose
// retention has run out is acknowledged, and the task, still stored until DynamoDB's TTL
// deletes it, is left unchanged.
func TestExpiredTaskAtWorker(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		done := r.createSpec(task.Spec{Retention: task.MinRetention})
		failed := r.createSpec(task.Spec{Retention: task.MinRetention}, demoStep("Validate", "failUntilRetry", 1))
		w := r.worker()
		r.drain(r.queue, w.Handle)
		before := map[string]task.Task{done.ID: r.get(done.ID), failed.ID: r.get(failed.ID)}
		if before[done.ID].Status != task.Success || before[failed.ID].Status != task.Failure {
			t.Fatalf("tasks ended %s and %s", before[done.ID].Status, before[failed.ID].Status)
		}
		applied := len(r.store.Applied())

		r.clock.Advance(task.MinRetention + time.Second)
		for id := range before {
			if _, err := r.store.Get(ctx, id, r.clock.Now()); !errors.Is(err, task.ErrNotFound) {
				t.Fatalf("task %s not expired: %v", id, err)
			}
			if err := r.work.Send(ctx, queue.Message{TaskID: id}, 0); err != nil {
				t.Fatal(err)
			}
			if err := r.dlq.Send(ctx, queue.Message{TaskID: id}, 0); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range []struct {
			q queue.Queue
			f eventsource.Handler
		}{{r.queue, w.Handle}, {r.dlq, w.HandleDeadLetter}} {
			handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				resp, err := h.f(ctx, ev)
				if len(resp.BatchItemFailures) != 0 {
					t.Errorf("messages for expired tasks not acknowledged: %+v", resp.BatchItemFailures)
				}
				return resp, err
			}
			if n := r.drain(h.q, handler); n != 2 {
				t.Errorf("%d messages handled, want 2", n)
			}
			r.expectNoMessage(h.q, "every message was acknowledged")
		}
		if n := len(r.store.Applied()); n != applied {
			t.Errorf("%d changes applied to expired tasks", n-applied)
		}
		for id, was := range before {
			got, err := r.base.Get(ctx, id, was.UpdatedAt)
			if err != nil || got.Version != was.Version || got.Status != was.Status {
				t.Errorf("task %s changed after expiry: %v, %s version %d, was %s version %d", id, err, got.Status, got.Version, was.Status, was.Version)
			}
		}
	})
}
