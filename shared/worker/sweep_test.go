package worker_test

// Lost messages, which the sweeper makes up for, and expiry as the worker sees it.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// The sweeper's thresholds in these tests, the deployed defaults.
const (
	sweepPendingAfter    = time.Minute
	sweepProcessingAfter = 20 * time.Minute
)

// sweep runs one sweep and checks how many messages it sent.
func (r *bundle) sweep(want int) {
	r.t.Helper()
	n, err := r.sweeper(sweepPendingAfter, sweepProcessingAfter).Sweep(r.t.Context())
	if err != nil {
		r.t.Fatalf("sweep: %v", err)
	}
	if n != want {
		r.t.Fatalf("sweep sent %d messages, want %d", n, want)
	}
}

// TestSendFailureAfterCreate: the API stored a task but its message never reached the queue.
// The create still answers with the pending task; nothing reaches a worker until the sweeper
// finds the task pending for longer than PendingAfter and sends its message; then it
// completes. A sweep whose own send fails tries again next time.
func TestSendFailureAfterCreate(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		r.queue.FailSends(1)
		created := r.create()
		if calls := r.queue.Calls(); calls.Send != 1 || calls.Failed != 1 || len(r.queue.Sent()) != 0 {
			t.Fatalf("queue calls %+v, sent %v: the create's send should have failed", calls, r.queue.Sent())
		}
		w := r.worker()
		if n := r.drain(r.queue, w.Handle); n != 0 {
			t.Fatalf("%d messages on the queue, want none", n)
		}

		r.sweep(0) // just created: its message may still be on its way
		r.clock.Advance(sweepPendingAfter / 2)
		r.sweep(0)
		r.clock.Advance(sweepPendingAfter)
		r.queue.FailSends(1)
		if n, err := r.sweeper(sweepPendingAfter, sweepProcessingAfter).Sweep(ctx); !errors.Is(err, fault.ErrInjected) || n != 0 {
			t.Fatalf("sweep with a failing send: %d, %v", n, err)
		}
		r.sweep(1)
		if sent := r.queue.Sent(); !slices.Equal(sent, []queue.Message{{TaskID: created.ID, Run: 0}}) {
			t.Fatalf("sent %+v, want the task's message of run 0", sent)
		}
		if got := r.get(created.ID); got.Status != task.Pending || got.Version != created.Version {
			t.Fatalf("sweeping changed the task: %s version %d", got.Status, got.Version)
		}
		if n := r.drain(r.queue, w.Handle); n != 1 {
			t.Fatalf("%d messages handled, want 1", n)
		}
		expectSucceeded(t, r.get(created.ID), []int{1, 1, 1})
		r.clock.Advance(sweepProcessingAfter * 2)
		r.sweep(0) // a terminal task is never swept
	})
}

// TestRetryAnnouncementLost: the client's retry put the failed task back to pending but the
// new run's message was lost; the sweeper sends it and the new run completes.
func TestRetryAnnouncementLost(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create(demoStep("Validate"), demoStep("Allocate", "failUntilRetry", 1))
		w := r.worker()
		r.drain(r.queue, w.Handle)
		if got := r.get(created.ID); got.Status != task.Failure {
			t.Fatalf("first run: %s", got.Status)
		}
		r.queue.FailSends(1)
		retried, err := r.svc.Retry(ctx, tenant, created.ID)
		if err != nil || retried.Status != task.Pending || retried.RetryCount != 1 {
			t.Fatalf("retry: %v, %+v", err, retried)
		}
		if n := r.drain(r.queue, w.Handle); n != 0 {
			t.Fatalf("%d messages on the queue, want none", n)
		}
		r.clock.Advance(2 * sweepPendingAfter)
		r.sweep(1)
		r.drain(r.queue, w.Handle)
		got := r.get(created.ID)
		if got.Status != task.Success || got.RetryCount != 1 || !slices.Equal(attemptsOf(got), []int{1, 1}) {
			t.Fatalf("after the sweep: %s, retryCount %d, attempts %v", got.Status, got.RetryCount, attemptsOf(got))
		}
	})
}

// TestStuckProcessingResent: a worker died mid-subtask and its message is gone too (deleted
// by mistake, or expired). The task is processing with nothing on its way to a worker; the
// sweeper leaves it alone while a live worker could still be on it (ProcessingAfter), then
// sends a message, and the task completes with the dead attempt counted.
func TestStuckProcessingResent(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create()
		d := r.receive()
		doomed := fault.NewStore(r.base)
		r.runs.setHook(func(ctx context.Context, a task.Attempt) error {
			if a.Index == 1 {
				doomed.OnApply(func(task.Change) error { return errKilled })
				return errKilled
			}
			return nil
		})
		if resp, _ := r.workerOn(doomed).Handle(ctx, eventsource.Event([]queue.Delivery{d}, "", "")); len(resp.BatchItemFailures) != 1 {
			t.Fatalf("the dying worker acknowledged its message: %+v", resp)
		}
		r.runs.setHook(nil)
		if err := r.work.Delete(ctx, d.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		r.expectNoMessage(r.work, "the message was deleted")
		if got := r.get(created.ID); got.Status != task.Processing || !slices.Equal(attemptsOf(got), []int{1, 1, 0}) {
			t.Fatalf("after the crash: %s, attempts %v", got.Status, attemptsOf(got))
		}

		r.clock.Advance(2 * sweepPendingAfter)
		r.sweep(0) // processing: the worker may only be slow
		r.clock.Advance(sweepProcessingAfter)
		r.sweep(1)
		w := r.worker()
		r.drain(r.queue, w.Handle)
		expectSucceeded(t, r.get(created.ID), []int{1, 2, 1})
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 2, 1}) {
			t.Errorf("steps ran %v times, want [1 2 1]", c)
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
