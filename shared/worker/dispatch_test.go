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

// tally is a worker's handler that counts the records it is handed.
type tally struct {
	w *worker.Worker
	n atomic.Int64
}

func (c *tally) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	c.n.Add(int64(len(ev.Records)))
	return c.w.Handle(ctx, ev)
}

// drainSent drains the work queue through c until c has been handed as many records as were
// sent through the bundle's queue, those sent meanwhile included (re-sends that come back
// after a delay, which one drain may end before), failing the test after 20 s. The tests
// using it acknowledge every record, so each message is handed over once.
func (r *bundle) drainSent(c *tally) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.drain(r.queue, c.handle); c.n.Load() < int64(len(r.queue.Sent())); r.drain(r.queue, c.handle) {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out: %d records handled of %d messages sent", c.n.Load(), len(r.queue.Sent()))
		}
		time.Sleep(20 * time.Millisecond)
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

// expectDropped checks that the messages for id, all copies of the first, stopped once the
// grace was over: one more long poll after the longest re-send delay brings nothing, and no
// task id was stored.
func (r *bundle) expectDropped(id string, sent int) {
	r.t.Helper()
	time.Sleep(1500 * time.Millisecond) // longer than the last re-send's delay (SQS: 1 s)
	r.expectNoMessage(r.work, "the message was dropped after the grace")
	got := r.sentFor(id)
	if len(got) != sent {
		r.t.Errorf("%d messages sent for %s, want no more after the grace than the %d before it", len(got), id, sent)
	}
	for _, m := range got {
		if m != got[0] {
			r.t.Errorf("re-sent %+v, want the announcement as it was, %+v", m, got[0])
		}
	}
	if _, err := r.base.Get(r.t.Context(), id, r.clock.Now()); !errors.Is(err, task.ErrNotFound) {
		r.t.Errorf("task %s: %v, want not found", id, err)
	}
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
		w := &tally{w: r.worker()}
		r.drain(r.queue, w.handle)
		if got := r.sentFor(id); len(got) < 2 {
			t.Fatalf("sent %+v for %s, want the announcement again: its write may still land", got, id)
		}
		r.clock.Advance(worker.StoreGrace)
		r.drainSent(w)
		r.expectDropped(id, len(r.sentFor(id)))
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
		w := &tally{w: r.worker()}
		var once sync.Once
		r.store.OnCreate(func(tk task.Task) error {
			once.Do(func() {
				if n := r.drain(r.queue, w.handle); n < 1 {
					t.Errorf("no message handled before the write, want the announcement")
				}
			})
			return nil
		})
		created := r.create()
		if got := r.sentFor(created.ID); len(got) < 2 {
			t.Fatalf("sent %+v, want the announcement and its re-send", got)
		}
		r.drainSent(w)
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
		w := &tally{w: r.worker()}
		r.drainSent(w)
		if got := r.get(created.ID); got.Status != task.Failure {
			t.Fatalf("first run: %s", got.Status)
		}
		var once sync.Once
		r.store.BeforeApply(func(ctx context.Context, c task.Change) {
			if c.Op == task.OpRetry {
				once.Do(func() {
					if n := r.drain(r.queue, w.handle); n < 1 {
						t.Errorf("no message handled before the retry's write, want its announcement")
					}
				})
			}
		})
		if _, err := r.svc.Retry(t.Context(), tenant, created.ID); err != nil {
			t.Fatal(err)
		}
		if got := r.sentFor(created.ID); len(got) < 3 || got[len(got)-1].Run != 1 {
			t.Fatalf("sent %+v, want the retry's announcement again", got)
		}
		r.drainSent(w)
		if got := r.get(created.ID); got.Status != task.Success || got.RetryCount != 1 || !slices.Equal(attemptsOf(got), []int{1, 1}) {
			t.Fatalf("after the retry: %s, retryCount %d, attempts %v", got.Status, got.RetryCount, attemptsOf(got))
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
		w := &tally{w: r.worker()}
		r.drain(r.queue, w.handle) // the task runs; the orphan comes back
		expectSucceeded(t, r.get(c.Task.ID), []int{1, 1, 1})
		r.clock.Advance(worker.StoreGrace)
		r.drainSent(w)
		r.expectDropped(orphan, len(r.sentFor(orphan)))
		replay, err := r.svc.Create(ctx, tenant, req)
		if err != nil || !replay.Replayed || replay.Task.ID != c.Task.ID {
			t.Errorf("replay: %+v, %v; want the one task of the key", replay, err)
		}
		if got := r.active(); len(got) != 0 {
			t.Errorf("active tasks %v, want none", got)
		}
		if n := r.runs.counts(c.Task.ID, 3); !slices.Equal(n, []int{1, 1, 1}) {
			t.Errorf("steps ran %v times, want [1 1 1]", n)
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
