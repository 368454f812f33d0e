package fault

import (
	"context"
	"sync"
	"time"

	"github.com/tasklane/tasklane/shared/queue"
)

// Queue wraps a queue.Queue and fails its calls on demand. It stands for SQS misbehaving:
//   - a failed Send is the API's announcement of a new task (or a retry) that never reached
//     the queue, before the task was stored: the API must store nothing and answer an error
//     (see "No task without a message" in shared/worker);
//   - a failed ChangeVisibility is the worker's backoff not taking effect; the message must
//     still come back, after its visibility timeout;
//   - a failed Delete is an acknowledgement lost on the way; the message comes back and the
//     worker must recognise it as a duplicate;
//   - a failed Receive is the poller's outage, which the event source mapping rides out.
//
// For each operation a test can fail the next n calls (FailSends, ...) or decide call by
// call with a function (OnSend, ...); the counter is consumed first. A decision wrapped in
// Lost performs the call and then reports the error, like a response lost after SQS acted.
type Queue struct {
	inner queue.Queue

	sends, changes, deletes, receives counter

	mu       sync.Mutex
	onSend   func(m queue.Message, delay time.Duration) error
	onChange func(receiptHandle string, d time.Duration) error
	onDelete func(receiptHandle string) error
	sent     []queue.Message
	calls    QueueCalls
}

// QueueCalls counts the calls a Queue saw and how many of them it failed.
type QueueCalls struct {
	Send, ChangeVisibility, Delete, Receive int
	// Failed counts the calls that returned an injected error (lost responses included).
	Failed int
}

var _ queue.Queue = (*Queue)(nil)

// NewQueue wraps inner; with no fault set the wrapper is transparent.
func NewQueue(inner queue.Queue) *Queue {
	return &Queue{inner: inner}
}

// Inner is the wrapped queue, for what a test does behind the code under test's back
// (a memqueue's Stats, a raw receive).
func (q *Queue) Inner() queue.Queue { return q.inner }

// FailSends makes the next n Sends fail with ErrInjected without sending anything.
func (q *Queue) FailSends(n int) { q.sends.set(n) }

// FailChangeVisibility makes the next n ChangeVisibility calls fail with ErrInjected
// without changing anything.
func (q *Queue) FailChangeVisibility(n int) { q.changes.set(n) }

// FailDeletes makes the next n Deletes fail with ErrInjected without deleting anything.
func (q *Queue) FailDeletes(n int) { q.deletes.set(n) }

// FailReceives makes the next n Receives fail with ErrInjected without receiving anything.
func (q *Queue) FailReceives(n int) { q.receives.set(n) }

// OnSend sets a function consulted on every Send (after the FailSends budget): nil lets the
// call through, an error fails it, Lost(err) sends and then fails. OnSend(nil) removes it.
func (q *Queue) OnSend(f func(m queue.Message, delay time.Duration) error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onSend = f
}

// OnChangeVisibility is OnSend for ChangeVisibility.
func (q *Queue) OnChangeVisibility(f func(receiptHandle string, d time.Duration) error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onChange = f
}

// OnDelete is OnSend for Delete.
func (q *Queue) OnDelete(f func(receiptHandle string) error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onDelete = f
}

// Sent returns the messages handed to the wrapped queue, in order: what actually reached
// the queue, so a test can check what was re-sent, and how often.
func (q *Queue) Sent() []queue.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queue.Message(nil), q.sent...)
}

// Calls returns the call counts so far.
func (q *Queue) Calls() QueueCalls {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls
}

// decide returns the injected outcome of one call, nil to let it through: the operation's
// counter first, then its function f.
func (q *Queue) decide(c *counter, f func() error) error {
	if c.take() {
		return ErrInjected
	}
	if f != nil {
		return f()
	}
	return nil
}

// do runs call unless err is a plain injected failure, and counts injected failures; a
// Lost err is returned after call succeeded.
func (q *Queue) do(err error, call func() error) error {
	if err != nil && !isLost(err) {
		q.count(func(c *QueueCalls) { c.Failed++ })
		return err
	}
	if cerr := call(); cerr != nil {
		return cerr
	}
	if err != nil {
		q.count(func(c *QueueCalls) { c.Failed++ })
	}
	return err
}

func (q *Queue) count(f func(*QueueCalls)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f(&q.calls)
}

// Send implements queue.Sender.
func (q *Queue) Send(ctx context.Context, m queue.Message, delay time.Duration) error {
	q.mu.Lock()
	q.calls.Send++
	f := q.onSend
	q.mu.Unlock()
	err := q.decide(&q.sends, func() error {
		if f == nil {
			return nil
		}
		return f(m, delay)
	})
	return q.do(err, func() error {
		if err := q.inner.Send(ctx, m, delay); err != nil {
			return err
		}
		q.mu.Lock()
		q.sent = append(q.sent, m)
		q.mu.Unlock()
		return nil
	})
}

// Receive implements queue.Queue.
func (q *Queue) Receive(ctx context.Context, max int, visibility, wait time.Duration) ([]queue.Delivery, error) {
	q.count(func(c *QueueCalls) { c.Receive++ })
	if q.receives.take() {
		q.count(func(c *QueueCalls) { c.Failed++ })
		return nil, ErrInjected
	}
	return q.inner.Receive(ctx, max, visibility, wait)
}

// Delete implements queue.Queue.
func (q *Queue) Delete(ctx context.Context, receiptHandle string) error {
	q.mu.Lock()
	q.calls.Delete++
	f := q.onDelete
	q.mu.Unlock()
	err := q.decide(&q.deletes, func() error {
		if f == nil {
			return nil
		}
		return f(receiptHandle)
	})
	return q.do(err, func() error { return q.inner.Delete(ctx, receiptHandle) })
}

// ChangeVisibility implements queue.Queue.
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) error {
	q.mu.Lock()
	q.calls.ChangeVisibility++
	f := q.onChange
	q.mu.Unlock()
	err := q.decide(&q.changes, func() error {
		if f == nil {
			return nil
		}
		return f(receiptHandle, d)
	})
	return q.do(err, func() error { return q.inner.ChangeVisibility(ctx, receiptHandle, d) })
}
