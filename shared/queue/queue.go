// Package queue is the work queue between the API and the worker: the message a task's run
// is announced with, and the operations the SQS queue and the in-process queue both offer.
// Delivery is at least once: a message not deleted comes back after its visibility timeout,
// and the same message may arrive twice.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// MaxDelay is SQS's ceiling for a message delay and a visibility timeout change.
const MaxDelay = 15 * time.Minute

// Message announces that a task has work to do. Run is the task's retryCount when the
// message was sent; a worker ignores a message of an earlier run.
type Message struct {
	TaskID string `json:"taskId"`
	Run    int    `json:"run"`
	// AnnouncedAt is when the run's first message was sent: by the API, just before it
	// stored the task (or its retry). Every later message of the run (the worker's
	// continuations) keeps it, so that a worker that does not find the task, or finds an
	// earlier run, can tell a write still on its way from one that never happened
	// (worker.StoreGrace). Zero in a message sent without it: the run is taken as stored.
	AnnouncedAt time.Time `json:"announcedAt,omitzero"`
}

// Encode is the message body on the wire.
func (m Message) Encode() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// Decode parses a message body; a body that is not a message is a poison message.
func Decode(body string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Message{}, fmt.Errorf("queue message: %w", err)
	}
	if m.TaskID == "" {
		return Message{}, fmt.Errorf("queue message: no taskId")
	}
	return m, nil
}

// Sender is what the API needs: announce a task's run, optionally later.
type Sender interface {
	Send(ctx context.Context, m Message, delay time.Duration) error
}

// Delivery is one received message, as SQS hands it out.
type Delivery struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	// ReceiveCount is how many times the message was received, this time included.
	ReceiveCount int
	SentAt       time.Time
	// DueAt is when the message first became visible: its send plus the delay it was sent
	// with. How long past it a worker takes the message is how late the queue runs, which
	// SentAt alone cannot tell for the delayed messages of backoffs and waits. Zero for a
	// message sent without it (by hand, or by another sender): read SentAt then.
	DueAt time.Time
}

// Queue is the whole queue: sending, and the receive side that Lambda's event source mapping
// (or the local poller standing in for it) and the worker's backoff use.
type Queue interface {
	Sender
	// Receive waits up to wait for up to max messages and hides them for visibility.
	Receive(ctx context.Context, max int, visibility, wait time.Duration) ([]Delivery, error)
	// Delete acknowledges a message for good.
	Delete(ctx context.Context, receiptHandle string) error
	// ChangeVisibility makes a received message visible again after d (at most MaxDelay):
	// the worker's backoff before another attempt.
	ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) error
}

// UUID returns a random version-4 UUID, the form of SQS's message ids and of Lambda's
// request ids, which the in-process queue and the event source mapping imitate.
func UUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// BodySender sends a message that is not a task's announcement, body as given: a webhook
// delivery (shared/webhook) or a refused intake message on its dead-letter queue
// (shared/intake). The SQS and in-process queues both implement it.
type BodySender interface {
	SendBody(ctx context.Context, body string, delay time.Duration) error
}

// BodyQueue is a whole queue of messages that are not task announcements (the webhook and
// intake queues): received like the work queue, sent with SendBody.
type BodyQueue interface {
	Queue
	BodySender
}

// DueAttribute is the SQS message attribute that carries Delivery.DueAt, in epoch
// milliseconds by the sender's clock (SentTimestamp is SQS's own; the two are close enough
// for a lateness measured in seconds). Lambda hands message attributes to the worker in its
// event, so the worker reads it there too.
const DueAttribute = "dueAt"

// FormatDue writes t as a DueAttribute's value.
func FormatDue(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// ParseDue reads a DueAttribute's value; ok is false for one that is no time. Anyone who
// may send to the queue can set the attribute, so a malformed one is read as absent (the
// Delivery's DueAt zero), never as a failure of the message or of the receive it came in.
func ParseDue(v string) (due time.Time, ok bool) {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}
