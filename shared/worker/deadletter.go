package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// HandleDeadLetter is the Lambda handler for the dead-letter queue. A message lands there
// after the worker failed it maxReceiveCount times (a poison task, a store outage, a bug);
// its task must not hang in pending or processing, so it ends in failure with a
// DELIVERY_FAILED error, and a client may retry it. Messages whose task already ended, or
// that name no task, are only logged.
func (w *Worker) HandleDeadLetter(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		if !w.deadLetter(ctx, rec) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// deadLetter handles one dead letter and reports whether it may be deleted. A panic is
// recovered and fails only this record, as in the worker's Handle: the batch's other dead
// letters still end their tasks.
func (w *Worker) deadLetter(ctx context.Context, rec events.SQSMessage) (acked bool) {
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
	log := w.Log.With("taskId", m.TaskID, "messageId", rec.MessageId)
	t, err := w.Store.Get(ctx, m.TaskID, w.Now())
	if errors.Is(err, task.ErrNotFound) {
		return true
	}
	failed := false
	if err == nil {
		current := func(t task.Task) bool { return t.Status.Active() && m.Run == t.RetryCount }
		_, err = w.applyIf(ctx, &t, log, current, func(t task.Task) (task.Change, error) {
			failed = true
			return t.Fail(task.Error{
				ErrorCode: "DELIVERY_FAILED",
				Message:   fmt.Sprintf("the task's work message failed %s times and was moved to the dead-letter queue", receiveCount(rec)),
			}, w.Now())
		})
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
