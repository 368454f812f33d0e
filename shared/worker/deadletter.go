package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/logscope"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// HandleDeadLetter is the Lambda handler for the dead-letter queue. A message lands there
// after the worker failed it maxReceiveCount times (a poison task, a store outage, a bug);
// its task must not hang in pending or processing, so it ends in failure with a
// DELIVERY_FAILED error, and a client may retry it. Messages whose task already ended, or
// that name no task, are only logged.
//
// One exception: a task whose attempt is still within its lease (see Worker.Lease) may be in
// the hands of a worker of another delivery (a duplicate message), and
// failing it would pull the task from under that worker, whose outcome would then be lost.
// Such a dead letter is reported as a batch item failure, so that it comes back after the
// dead-letter queue's visibility timeout and is judged again: by then the task has ended or
// moved on (acknowledged), or the attempt's lease has run out and its worker is gone (the
// task fails, as for any other dead letter).
func (w *Worker) HandleDeadLetter(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	lease := w.Lease
	if lease <= 0 {
		lease = DeadLetterLease
	}
	ctx = scope(ctx)
	for _, rec := range ev.Records {
		if !w.deadLetter(logscope.Start(ctx, "messageId", rec.MessageId), rec, lease) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// deadLetter handles one dead letter and reports whether it may be deleted. A panic is
// recovered and fails only this record, as in the worker's Handle: the batch's other dead
// letters still end their tasks.
func (w *Worker) deadLetter(ctx context.Context, rec events.SQSMessage, lease time.Duration) (acked bool) {
	defer func() {
		if p := recover(); p != nil {
			w.Log.ErrorContext(ctx, "dead letter handling panicked; it will be redelivered", "messageId", rec.MessageId, "panic", p, "stack", string(debug.Stack()))
			acked = false
		}
	}()
	m, err := queue.Decode(rec.Body)
	if err != nil {
		w.Log.ErrorContext(ctx, "dead letter without a task", "messageId", rec.MessageId, "body", truncate(rec.Body, 200))
		return true
	}
	logscope.Add(ctx, logscope.TaskID, m.TaskID)
	log := w.Log
	t, err := w.Store.Get(ctx, m.TaskID, w.Now())
	if err == nil {
		logscope.Add(ctx, logscope.Tenant, t.Owner)
	}
	if errors.Is(err, task.ErrNotFound) {
		return true
	}
	if err == nil && m.Run == t.RetryCount {
		if d := w.leaseLeft(&t, lease); d > 0 {
			log.InfoContext(ctx, "dead letter of a task whose attempt may still be running; it comes back later", "leaseLeft", d)
			return false
		}
	}
	failed := false
	if err == nil {
		// Re-read after a lost race, a task with an attempt started meanwhile is that
		// delivery's: it is not failed, and the dead letter is dropped (the task has a
		// live message again).
		current := func(t task.Task) bool {
			return t.Status.Active() && m.Run == t.RetryCount && w.leaseLeft(&t, lease) <= 0
		}
		var v task.Verdict
		v, err = w.write(ctx, &t, log, onlyIf(current, func(t task.Task) (task.Change, error) {
			return t.Fail(task.Error{
				ErrorCode: "DELIVERY_FAILED",
				Message:   fmt.Sprintf("the task's work message failed %s times and was moved to the dead-letter queue", receiveCount(rec)),
			}, w.Now())
		}))
		failed = v == task.Changed
		if v == task.Stopped {
			log.InfoContext(ctx, "task moved on elsewhere; message dropped", "status", t.Status)
		}
		if errors.Is(err, task.ErrNotFound) {
			err = nil // gone since it was read: nothing left to fail
		}
	}
	if err != nil {
		log.ErrorContext(ctx, "dead letter not recorded; it will be redelivered", "err", err)
		return false
	}
	if failed && t.Status == task.Failure {
		log.WarnContext(ctx, "task failed: its message reached the dead-letter queue")
	} else {
		log.InfoContext(ctx, "dead letter of a task that had moved on; nothing to do", "status", t.Status)
	}
	return true
}

// DeadLetterLease is the lease the dead-letter handler gives an attempt when Worker.Lease is
// zero: 15 minutes, the longest a Lambda invocation can run, so that no worker can still be
// in an attempt started earlier. The worker's own fallback, its invocation's time left, does
// not do here: the dead-letter function's timeout says nothing about the worker function's.
const DeadLetterLease = queue.MaxDelay

func receiveCount(rec events.SQSMessage) string {
	if n := rec.Attributes["ApproximateReceiveCount"]; n != "" {
		return n
	}
	return "several"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
