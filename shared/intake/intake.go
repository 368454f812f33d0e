// Package intake creates tasks from messages: the intake queue's consumer (functions/intake,
// and the local runner's poller on emulators). A message body is a create body plus "tenant"
// and optional "idempotencyKey" (apigw.DecodeIntake reads it by the API's rules), and the
// task is created through the same use case as POST /v1/tasks, keyed by the idempotencyKey
// or, without one, by the SQS message id: a message delivered twice (SQS is at least once,
// an EventBridge target may send twice) creates its task once, within the idempotency
// record's 24 hours.
//
// A message that can never be a task (not JSON, an unknown type, bad input, no valid
// tenant, a key reused with another body) is not retried: it is published as a
// tasklane.task.rejected event saying why, sent as it came to the intake dead-letter queue,
// and deleted. A transient failure (the store or a queue unreachable) is a batch item
// failure, so that SQS delivers it again, and after the queue's maxReceiveCount moves it to
// the same dead-letter queue.
package intake

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/sqsbatch"
	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// Handler consumes the intake queue.
type Handler struct {
	Service *usecase.Service
	// DeadLetter is the intake dead-letter queue, where refused messages go as they came.
	DeadLetter queue.BodySender
	// Events receives the tasklane.task.rejected events; nil: they are only logged.
	Events event.Sink
	Now    func() time.Time
	Log    *slog.Logger
}

// Rejection is the data of a tasklane.task.rejected event.
type Rejection struct {
	// ErrorCode is what the API would have answered the same create with.
	ErrorCode string `json:"errorCode"`
	Reason    string `json:"reason"`
	MessageID string `json:"messageId"`
	// Body is the message body (its first 8 KiB, if it is text).
	Body string `json:"body"`
}

// maxRejectedBody bounds the body a rejection carries: an event must stay well under
// EventBridge's 256 KB entry.
const maxRejectedBody = 8 << 10

// Handle is the Lambda handler of the intake queue (ReportBatchItemFailures). The records of
// a batch are handled concurrently (sqsbatch); two copies of one message racing each other are one
// create and one replay.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return sqsbatch.Handle(ctx, ev, h.record), nil
}

// record handles one message and reports whether it may be deleted.
func (h *Handler) record(ctx context.Context, rec events.SQSMessage) (acked bool) {
	defer func() {
		if p := recover(); p != nil {
			h.Log.ErrorContext(ctx, "intake message handling panicked; it will be redelivered", "messageId", rec.MessageId, "panic", p, "stack", string(debug.Stack()))
			acked = false
		}
	}()
	log := h.Log.With("messageId", rec.MessageId)
	msg, err := apigw.DecodeIntake(h.Service, []byte(rec.Body))
	if err != nil {
		return h.reject(ctx, log, rec, "", err)
	}
	if msg.Request.IdempotencyKey == "" {
		msg.Request.IdempotencyKey = rec.MessageId
	}
	log = log.With("tenant", msg.Tenant, "idempotencyKey", msg.Request.IdempotencyKey)
	created, err := h.Service.Create(ctx, usecase.Principal{Tenant: msg.Tenant}, msg.Request)
	switch {
	case err == nil:
		log.InfoContext(ctx, "task created from an intake message", "taskId", created.Task.ID, "replayed", created.Replayed)
		return true
	case errors.Is(err, task.ErrNotFound):
		// A replay whose task already expired: it was created once.
		log.InfoContext(ctx, "intake message already made a task, which has expired")
		return true
	case permanent(err):
		return h.reject(ctx, log, rec, msg.Tenant, err)
	}
	log.WarnContext(ctx, "intake message failed; it will be redelivered", "err", err)
	return false
}

// permanent reports whether err means the message can never be a task.
func permanent(err error) bool {
	return errors.Is(err, task.ErrInvalidInput) || errors.Is(err, task.ErrUnknownType) || errors.Is(err, usecase.ErrIdempotencyKeyReused)
}

// reject publishes the rejection and sends the message to the dead-letter queue; it reports
// whether both were done (if not, the message comes back and is rejected again, with the
// same event id).
func (h *Handler) reject(ctx context.Context, log *slog.Logger, rec events.SQSMessage, tenant string, cause error) bool {
	r := Rejection{ErrorCode: apigw.ErrorCode(cause), Reason: cause.Error(), MessageID: rec.MessageId, Body: truncate(rec.Body)}
	log.InfoContext(ctx, "intake message rejected", "errorCode", r.ErrorCode, "reason", r.Reason)
	if h.DeadLetter != nil {
		if err := h.DeadLetter.SendBody(ctx, rec.Body, 0); err != nil {
			log.WarnContext(ctx, "sending the rejected message to the dead-letter queue failed; it will be redelivered", "err", err)
			return false
		}
	}
	if h.Events == nil {
		return true
	}
	data, err := strictjson.Marshal(r)
	if err != nil {
		log.ErrorContext(ctx, "rejection does not marshal", "err", err)
		return true
	}
	ev := event.Event{
		SpecVersion: event.SpecVersion, ID: event.ID(rec.MessageId, 0, event.Rejected), Source: event.Source,
		Type: event.Rejected, Subject: rec.MessageId, Time: h.Now().UTC().Format(apigw.TimeFormat),
		Tenant: tenant, DataContentType: event.DataContentType, Data: data,
	}
	if err := h.Events.Publish(ctx, []event.Event{ev}); err != nil {
		log.WarnContext(ctx, "publishing the rejection failed; the message will be redelivered", "err", err)
		return false
	}
	return true
}

// truncate keeps the first maxRejectedBody bytes of body, cut at a rune boundary.
func truncate(body string) string {
	if len(body) <= maxRejectedBody {
		return body
	}
	b := body[:maxRejectedBody]
	for len(b) > 0 && !utf8.ValidString(b) {
		b = b[:len(b)-1]
	}
	return b
}
