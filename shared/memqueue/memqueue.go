// Package memqueue is an in-process queue.Queue for `make run` and for tests that need no
// emulator. It keeps the semantics of an SQS standard queue that the worker and the event
// source mapping depend on, so that code which is right against it is right against SQS:
//
//   - at least once: a received message is hidden for its visibility timeout and comes back
//     unless it is deleted;
//   - every receive hands out a fresh receipt handle; once a message was received again, an
//     older handle no longer deletes it or changes its visibility (SQS documents that an
//     old handle "might not" delete; this queue makes the unlucky case the rule so that
//     code relying on stale handles fails locally);
//   - ReceiveCount counts receives; with a dead-letter queue, a message that was received
//     MaxReceiveCount times and is visible again moves there instead of being delivered
//     (SQS's redrive policy);
//   - delays and visibility timeouts are capped like SQS's, but not rounded to seconds,
//     so tests can use short durations.
//
// Unlike SQS it keeps messages forever (no retention period), never returns a message
// twice at once, and delivers in send order.
package memqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tasklane/tasklane/shared/queue"
)

// Limits mirrored from SQS, so that local runs clamp what AWS would and code that
// counts on more fails the same way locally.
const (
	// MaxBatch is the most messages one Receive returns.
	MaxBatch = 10
	// MaxVisibility is the longest visibility timeout a Receive may ask for.
	MaxVisibility = 12 * time.Hour
	// DefaultVisibility is the queue's visibility timeout when Options leave it unset,
	// SQS's default.
	DefaultVisibility = 30 * time.Second
)

// ErrInvalidReceiptHandle is returned for a receipt handle this queue never handed out,
// like SQS's ReceiptHandleIsInvalid.
var ErrInvalidReceiptHandle = errors.New("memqueue: receipt handle is invalid")

// ErrNotInFlight is returned by ChangeVisibility when the message is no longer hidden
// under that receipt handle: deleted, visible again, or received again since. SQS answers
// the same cases with an error (MessageNotInflight, or "message does not exist or is not
// available for visibility timeout change").
var ErrNotInFlight = errors.New("memqueue: message is not in flight under this receipt handle")

// Options configure a Queue.
type Options struct {
	// Visibility is the queue's visibility timeout, used by a Receive that asks for zero
	// or less (as SQS uses the queue's attribute). Default DefaultVisibility.
	Visibility time.Duration
	// MaxReceiveCount, with DeadLetter, is the redrive policy: a message received this
	// many times moves to DeadLetter instead of being delivered again. Zero: no redrive.
	MaxReceiveCount int
	// DeadLetter is the dead-letter queue. It must not be the queue itself.
	DeadLetter *Queue
}

// Queue is an in-process queue.Queue. Its zero value is not usable; call New.
type Queue struct {
	id   string
	opts Options

	mu       sync.Mutex
	msgs     []*message // in send order
	byID     map[string]*message
	changed  chan struct{} // closed (and replaced) when a message may have become visible
	received int           // receives handed out, for fresh receipt handles
}

type message struct {
	id           string
	body         string
	sentAt       time.Time
	dueAt        time.Time // sentAt plus the send's delay (queue.Delivery.DueAt)
	visibleAt    time.Time // delay or visibility timeout: hidden before this instant
	receiveCount int
	handle       string // of the latest receive; "" if never received
}

var _ queue.Queue = (*Queue)(nil)

// New returns an empty queue. A dead-letter queue is just another queue, created first
// and named in opts.DeadLetter.
func New(opts Options) *Queue {
	if opts.Visibility <= 0 {
		opts.Visibility = DefaultVisibility
	}
	opts.Visibility = min(opts.Visibility, MaxVisibility)
	return &Queue{
		id:      randomHex(6),
		opts:    opts,
		byID:    map[string]*message{},
		changed: make(chan struct{}),
	}
}

// Send adds m, visible after delay (at most queue.MaxDelay).
func (q *Queue) Send(ctx context.Context, m queue.Message, delay time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.add(&message{id: queue.UUID(), body: m.Encode(), sentAt: time.Now()}, delay)
	return nil
}

func (q *Queue) add(m *message, delay time.Duration) {
	m.visibleAt = time.Now().Add(clamp(delay, queue.MaxDelay))
	if m.dueAt.IsZero() {
		m.dueAt = m.sentAt.Add(clamp(delay, queue.MaxDelay))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, m)
	q.byID[m.id] = m
	q.broadcastLocked()
}

// Receive returns up to n (clamped to 1..10) visible messages and hides them for
// visibility (the queue's Options.Visibility if zero or less; at most 12 h). When none is
// visible it waits up to wait for one, without polling: it sleeps until a send or a
// visibility change, the next hidden message's time, wait, or ctx ends. A message due for
// the dead-letter queue is moved there on the way.
func (q *Queue) Receive(ctx context.Context, n int, visibility, wait time.Duration) ([]queue.Delivery, error) {
	n = min(max(n, 1), MaxBatch)
	if visibility <= 0 {
		visibility = q.opts.Visibility
	}
	visibility = min(visibility, MaxVisibility)
	deadline := time.Now().Add(max(wait, 0))
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ds, next, changed := q.take(n, visibility)
		if len(ds) > 0 {
			return ds, nil
		}
		now := time.Now()
		if !now.Before(deadline) {
			return nil, nil
		}
		sleep := deadline.Sub(now)
		if !next.IsZero() {
			sleep = min(sleep, next.Sub(now))
		}
		timer := time.NewTimer(max(sleep, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-changed:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// take hands out up to n visible messages. When there is none it returns when the first
// hidden message becomes visible (zero if none) and the channel that signals a change.
func (q *Queue) take(n int, visibility time.Duration) (ds []queue.Delivery, next time.Time, changed <-chan struct{}) {
	var dead []*message
	defer func() {
		// Outside q.mu: the dead-letter queue takes its own lock.
		for _, m := range dead {
			q.opts.DeadLetter.redrive(m)
		}
	}()
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	for i := 0; i < len(q.msgs) && len(ds) < n; i++ {
		m := q.msgs[i]
		if now.Before(m.visibleAt) {
			if next.IsZero() || m.visibleAt.Before(next) {
				next = m.visibleAt
			}
			continue
		}
		if q.opts.DeadLetter != nil && q.opts.MaxReceiveCount > 0 && m.receiveCount >= q.opts.MaxReceiveCount {
			q.removeLocked(i)
			i--
			dead = append(dead, m)
			continue
		}
		q.received++
		m.receiveCount++
		m.handle = fmt.Sprintf("%s.%s.%d.%s", q.id, m.id, q.received, randomHex(8))
		m.visibleAt = now.Add(visibility)
		ds = append(ds, queue.Delivery{
			MessageID:     m.id,
			ReceiptHandle: m.handle,
			Body:          m.body,
			ReceiveCount:  m.receiveCount,
			SentAt:        m.sentAt,
			DueAt:         m.dueAt,
		})
	}
	return ds, next, q.changed
}

// redrive adds a message moved from a source queue, keeping its ID, body, send time and
// receive count (and due time: SQS keeps message attributes) as SQS does, visible at once.
func (q *Queue) redrive(m *message) {
	moved := &message{id: m.id, body: m.body, sentAt: m.sentAt, dueAt: m.dueAt, receiveCount: m.receiveCount}
	q.add(moved, 0)
}

// held locks the queue and returns the message last received with receiptHandle, or nil when
// it was deleted or received again since (the handle is stale); unlock releases the lock. A
// handle this queue never handed out, or a done ctx, is an error (and nothing is locked).
func (q *Queue) held(ctx context.Context, receiptHandle string) (m *message, unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	id, err := q.messageID(receiptHandle)
	if err != nil {
		return nil, nil, err
	}
	q.mu.Lock()
	m, ok := q.byID[id]
	if !ok || m.handle != receiptHandle {
		m = nil
	}
	return m, q.mu.Unlock, nil
}

// Delete deletes the message received with receiptHandle. It succeeds without deleting
// when the message was deleted already or was received again since (the handle is stale),
// as SQS's DeleteMessage succeeds; it fails for a handle this queue never handed out.
func (q *Queue) Delete(ctx context.Context, receiptHandle string) error {
	m, unlock, err := q.held(ctx, receiptHandle)
	if err != nil {
		return err
	}
	defer unlock()
	if m == nil {
		return nil
	}
	for i, x := range q.msgs {
		if x == m {
			q.removeLocked(i)
			break
		}
	}
	return nil
}

// ChangeVisibility makes the message received with receiptHandle visible again d from now
// (at most queue.MaxDelay; zero or less: at once). Like SQS it fails with ErrNotInFlight
// when the message is not hidden under that handle any more.
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) error {
	m, unlock, err := q.held(ctx, receiptHandle)
	if err != nil {
		return err
	}
	defer unlock()
	now := time.Now()
	if m == nil || !now.Before(m.visibleAt) {
		return ErrNotInFlight
	}
	m.visibleAt = now.Add(clamp(d, queue.MaxDelay))
	q.broadcastLocked()
	return nil
}

// Stats counts a queue's messages like SQS's approximate-number attributes.
type Stats struct {
	// Visible is ApproximateNumberOfMessages: ready to be received.
	Visible int
	// InFlight is ApproximateNumberOfMessagesNotVisible: received, hidden, not deleted.
	InFlight int
	// Delayed is ApproximateNumberOfMessagesDelayed: sent with a delay not yet over.
	Delayed int
}

// Stats reports how many messages the queue holds in each state, for tests (is the
// dead-letter queue empty?) and for the local runner's diagnostics.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	var s Stats
	now := time.Now()
	for _, m := range q.msgs {
		switch {
		case !now.Before(m.visibleAt):
			s.Visible++
		case m.receiveCount > 0:
			s.InFlight++
		default:
			s.Delayed++
		}
	}
	return s
}

// messageID checks that receiptHandle came from this queue and returns its message's ID.
func (q *Queue) messageID(receiptHandle string) (string, error) {
	parts := strings.Split(receiptHandle, ".")
	if len(parts) != 4 || parts[0] != q.id || parts[1] == "" {
		return "", fmt.Errorf("%w: %q", ErrInvalidReceiptHandle, receiptHandle)
	}
	return parts[1], nil
}

func (q *Queue) removeLocked(i int) {
	m := q.msgs[i]
	q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
	delete(q.byID, m.id)
}

// broadcastLocked wakes every waiting Receive: a message may have become visible.
func (q *Queue) broadcastLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func clamp(d, limit time.Duration) time.Duration {
	return min(max(d, 0), limit)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SendBody adds a message with body as is (see queue.BodySender), visible after delay.
func (q *Queue) SendBody(ctx context.Context, body string, delay time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.add(&message{id: queue.UUID(), body: body, sentAt: time.Now()}, delay)
	return nil
}
