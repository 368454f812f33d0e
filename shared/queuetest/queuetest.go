// Package queuetest is the conformance suite for queue.Queue implementations: the SQS
// queue and the in-process queue must both pass it, so that what the worker and the event
// source mapping rely on (at-least-once delivery, visibility timeouts, delays, receipt
// handles) holds the same way locally and in AWS.
//
// Timing assertions are one-sided lower bounds, measured on the caller's clock from before
// the call that started the timer: a message must never appear earlier than its delay or
// visibility allows. That something happens "soon" is only checked against a generous
// Options.Timeout, never as a performance figure, so that a slow machine cannot fail the
// suite.
package queuetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/queue"
)

// Options tune the suite to an implementation.
type Options struct {
	// Unit is what the suite's delays and visibility timeouts are multiples of. SQS counts
	// whole seconds, so the default is one second; an in-process queue can run the suite
	// faster with a few tens of milliseconds.
	Unit time.Duration
	// Timeout bounds the wait for something that must happen (a message to come back).
	// Default: 60 units, at least 30 seconds.
	Timeout time.Duration
}

// long is a visibility timeout that no subtest outlives: a message hidden for it stays
// hidden unless the test changes it.
const long = 10 * time.Minute

// Run runs the suite with the default Options (whole seconds, valid for SQS). newQueue
// must return a fresh, empty queue for each call; every subtest runs in parallel on its
// own queue.
func Run(t *testing.T, newQueue func(t *testing.T) queue.Queue) {
	t.Helper()
	RunWith(t, newQueue, Options{})
}

// RunWith runs the suite with opts; see Run.
//
// What it asserts:
//   - RoundTrip: a sent message is received once with its body, a message ID, a receipt
//     handle, ReceiveCount 1, its send time and its due time; Delete removes it for good and succeeds
//     again for the same handle (SQS deletes idempotently); ChangeVisibility of a deleted
//     message fails.
//   - RedeliveredAfterVisibility: a message not deleted comes back, not before its
//     visibility timeout, with the same message ID and due time, ReceiveCount 2 and a new
//     receipt handle.
//   - ChangeVisibilityZero: ChangeVisibility(0) makes a hidden message visible at once.
//   - ChangeVisibilityShortens and ChangeVisibilityExtends: ChangeVisibility(d) hides the
//     message for d from the call, whatever the receive asked for.
//   - Delay: a message sent with a delay is not received before the delay is over, and is
//     due (DueAt) when it ends.
//   - Batch: more than ten messages are all received, over several calls of at most ten,
//     none lost and none handed out twice while hidden.
//   - LongPollWakesOnSend: a waiting Receive returns a message sent during the wait.
//   - ReceiveStopsOnCancel: cancelling ctx ends a waiting Receive with ctx's error.
//   - StaleReceiptHandle: after a message was received again, Delete with the first
//     receipt handle never loses it silently. SQS documents that such a Delete succeeds
//     but "might not" delete; the in-process queue never deletes. So either the message is
//     still there (the current handle still works and it is delivered again), or the Delete
//     succeeded and did delete it (then the current holder is told: its ChangeVisibility
//     fails, and the message never comes back). A message that is neither deliverable nor
//     reported gone, or a failed Delete that deleted anyway, fails the test.
func RunWith(t *testing.T, newQueue func(t *testing.T) queue.Queue, opts Options) {
	t.Helper()
	if opts.Unit <= 0 {
		opts.Unit = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = max(60*opts.Unit, 30*time.Second)
	}
	s := suite{u: opts.Unit, timeout: opts.Timeout}
	tests := []struct {
		name string
		fn   func(t *testing.T, q queue.Queue)
	}{
		{"RoundTrip", s.roundTrip},
		{"RedeliveredAfterVisibility", s.redelivered},
		{"ChangeVisibilityZero", s.changeVisibilityZero},
		{"ChangeVisibilityShortens", s.changeVisibilityShortens},
		{"ChangeVisibilityExtends", s.changeVisibilityExtends},
		{"Delay", s.delay},
		{"Batch", s.batch},
		{"LongPollWakesOnSend", s.longPollWakesOnSend},
		{"ReceiveStopsOnCancel", s.receiveStopsOnCancel},
		{"StaleReceiptHandle", s.staleReceiptHandle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newQueue(t))
		})
	}
}

type suite struct {
	u       time.Duration
	timeout time.Duration
}

// received is a delivery with the bounds of the Receive call that returned it.
type received struct {
	queue.Delivery
	called, returned time.Time
}

// next receives the one message the test expects, hiding it for visibility, and fails the
// test if none comes within the timeout or if more than one comes.
func (s suite) next(t *testing.T, q queue.Queue, visibility time.Duration) received {
	t.Helper()
	ctx := t.Context()
	deadline := time.Now().Add(s.timeout)
	for time.Now().Before(deadline) {
		called := time.Now()
		ds, err := q.Receive(ctx, 10, visibility, min(5*s.u, time.Until(deadline)))
		returned := time.Now()
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(ds) > 1 {
			t.Fatalf("Receive returned %d messages, want the single one in the queue: %+v", len(ds), ds)
		}
		if len(ds) == 1 {
			return received{Delivery: ds[0], called: called, returned: returned}
		}
	}
	t.Fatalf("no message received within %v", s.timeout)
	return received{}
}

// none fails the test if a message is received before until.
func (s suite) none(t *testing.T, q queue.Queue, until time.Time, why string) {
	t.Helper()
	for {
		left := time.Until(until)
		if left <= 0 {
			return
		}
		ds, err := q.Receive(t.Context(), 10, long, left)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(ds) > 0 {
			t.Fatalf("%s, but Receive returned %+v", why, ds)
		}
	}
}

// send sends a fresh message and returns it with the time before the call.
func send(t *testing.T, q queue.Queue, delay time.Duration) (queue.Message, time.Time) {
	t.Helper()
	m := queue.Message{TaskID: "task-" + randomHex(), Run: 2}
	before := time.Now()
	if err := q.Send(t.Context(), m, delay); err != nil {
		t.Fatalf("Send: %v", err)
	}
	return m, before
}

func checkBody(t *testing.T, d queue.Delivery, want queue.Message) {
	t.Helper()
	got, err := queue.Decode(d.Body)
	if err != nil {
		t.Fatalf("body %q: %v", d.Body, err)
	}
	if got != want {
		t.Fatalf("body decodes to %+v, want %+v", got, want)
	}
}

// notBefore fails the test if the message arrived earlier than d after start.
func notBefore(t *testing.T, r received, start time.Time, d time.Duration, what string) {
	t.Helper()
	if got := r.returned.Sub(start); got < d {
		t.Fatalf("%s: message received %v after the call that hid it, want at least %v", what, got, d)
	}
}

func (s suite) roundTrip(t *testing.T, q queue.Queue) {
	ctx := t.Context()
	m, before := send(t, q, 0)
	after := time.Now()
	r := s.next(t, q, 2*s.u)
	checkBody(t, r.Delivery, m)
	if r.MessageID == "" || r.ReceiptHandle == "" {
		t.Fatalf("delivery without message ID or receipt handle: %+v", r.Delivery)
	}
	if r.ReceiveCount != 1 {
		t.Fatalf("ReceiveCount = %d, want 1", r.ReceiveCount)
	}
	// The send time comes from the queue's clock; a minute of skew still catches a wrong
	// unit or a missing attribute.
	const skew = time.Minute
	if r.SentAt.Before(before.Add(-skew)) || r.SentAt.After(after.Add(skew)) {
		t.Fatalf("SentAt = %v, want between %v and %v", r.SentAt, before, after)
	}
	// The due time comes from the sender's clock, this one, to the millisecond.
	if r.DueAt.Before(before.Truncate(time.Millisecond)) || r.DueAt.After(after) {
		t.Fatalf("DueAt = %v, want between %v and %v (sent without delay)", r.DueAt, before, after)
	}
	if err := q.Delete(ctx, r.ReceiptHandle); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := q.Delete(ctx, r.ReceiptHandle); err != nil {
		t.Fatalf("Delete again with the same handle: %v, want success as SQS", err)
	}
	if err := q.ChangeVisibility(ctx, r.ReceiptHandle, 0); err == nil {
		t.Fatalf("ChangeVisibility of a deleted message succeeded, want an error")
	}
	// Past the visibility timeout it asked for, the deleted message must not come back.
	s.none(t, q, r.called.Add(4*s.u), "the message was deleted")
}

func (s suite) redelivered(t *testing.T, q queue.Queue) {
	m, _ := send(t, q, 0)
	first := s.next(t, q, 2*s.u)
	second := s.next(t, q, long)
	notBefore(t, second, first.called, 2*s.u, "visibility timeout")
	checkBody(t, second.Delivery, m)
	if second.MessageID != first.MessageID {
		t.Fatalf("redelivered MessageID = %q, want %q", second.MessageID, first.MessageID)
	}
	if second.ReceiveCount != 2 {
		t.Fatalf("redelivered ReceiveCount = %d, want 2", second.ReceiveCount)
	}
	if !second.DueAt.Equal(first.DueAt) {
		t.Fatalf("redelivered DueAt = %v, want the message's %v", second.DueAt, first.DueAt)
	}
	if second.ReceiptHandle == first.ReceiptHandle {
		t.Fatalf("redelivery reused receipt handle %q, want a fresh one", first.ReceiptHandle)
	}
	if err := q.Delete(t.Context(), second.ReceiptHandle); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func (s suite) changeVisibilityZero(t *testing.T, q queue.Queue) {
	send(t, q, 0)
	first := s.next(t, q, long)
	if err := q.ChangeVisibility(t.Context(), first.ReceiptHandle, 0); err != nil {
		t.Fatalf("ChangeVisibility(0): %v", err)
	}
	// Hidden for ten minutes otherwise: only ChangeVisibility(0) brings it back within
	// the timeout.
	second := s.next(t, q, long)
	if second.MessageID != first.MessageID || second.ReceiveCount != 2 {
		t.Fatalf("after ChangeVisibility(0) got %+v, want message %q with ReceiveCount 2", second.Delivery, first.MessageID)
	}
}

func (s suite) changeVisibilityShortens(t *testing.T, q queue.Queue) {
	send(t, q, 0)
	first := s.next(t, q, long)
	start := time.Now()
	if err := q.ChangeVisibility(t.Context(), first.ReceiptHandle, 2*s.u); err != nil {
		t.Fatalf("ChangeVisibility: %v", err)
	}
	second := s.next(t, q, long)
	notBefore(t, second, start, 2*s.u, "ChangeVisibility")
	if second.MessageID != first.MessageID || second.ReceiveCount != 2 {
		t.Fatalf("after ChangeVisibility got %+v, want message %q with ReceiveCount 2", second.Delivery, first.MessageID)
	}
}

func (s suite) changeVisibilityExtends(t *testing.T, q queue.Queue) {
	send(t, q, 0)
	first := s.next(t, q, 3*s.u)
	start := time.Now()
	if err := q.ChangeVisibility(t.Context(), first.ReceiptHandle, 6*s.u); err != nil {
		t.Fatalf("ChangeVisibility: %v (%v after the receive that hid it for %v)", err, start.Sub(first.called), 3*s.u)
	}
	second := s.next(t, q, long)
	notBefore(t, second, start, 6*s.u, "ChangeVisibility")
	if second.MessageID != first.MessageID || second.ReceiveCount != 2 {
		t.Fatalf("after ChangeVisibility got %+v, want message %q with ReceiveCount 2", second.Delivery, first.MessageID)
	}
}

func (s suite) delay(t *testing.T, q queue.Queue) {
	m, start := send(t, q, 2*s.u)
	sent := time.Now()
	r := s.next(t, q, long)
	notBefore(t, r, start, 2*s.u, "delay")
	// Due when the delay ends, by the sender's clock to the millisecond (SQS rounds a delay
	// up to a second).
	if due := r.DueAt.Add(-2 * s.u); due.Before(start.Truncate(time.Millisecond)) || due.After(sent.Add(time.Second)) {
		t.Fatalf("DueAt = %v, want the send (%v to %v) plus the delay %v", r.DueAt, start, sent, 2*s.u)
	}
	checkBody(t, r.Delivery, m)
	if r.ReceiveCount != 1 {
		t.Fatalf("ReceiveCount = %d, want 1", r.ReceiveCount)
	}
}

func (s suite) batch(t *testing.T, q queue.Queue) {
	ctx := t.Context()
	const n = 25
	sent := map[queue.Message]bool{}
	for i := range n {
		m := queue.Message{TaskID: fmt.Sprintf("task-%02d-%s", i, randomHex()), Run: i}
		if err := q.Send(ctx, m, 0); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		sent[m] = false
	}
	ids := map[string]bool{}
	var handles []string
	deadline := time.Now().Add(s.timeout)
	for len(ids) < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d messages within %v", len(ids), n, s.timeout)
		}
		ds, err := q.Receive(ctx, 10, long, 2*s.u)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(ds) > 10 {
			t.Fatalf("Receive returned %d messages, want at most 10", len(ds))
		}
		for _, d := range ds {
			if ids[d.MessageID] {
				t.Fatalf("message %s handed out twice while hidden", d.MessageID)
			}
			ids[d.MessageID] = true
			handles = append(handles, d.ReceiptHandle)
			m, err := queue.Decode(d.Body)
			if err != nil {
				t.Fatalf("body %q: %v", d.Body, err)
			}
			seen, ok := sent[m]
			if !ok || seen {
				t.Fatalf("received %+v: not sent, or received under two message IDs", m)
			}
			sent[m] = true
		}
	}
	for _, h := range handles {
		if err := q.Delete(ctx, h); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
}

func (s suite) longPollWakesOnSend(t *testing.T, q queue.Queue) {
	type result struct {
		ds  []queue.Delivery
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Long enough that an implementation that only looks at the end of the wait
		// would hit the test's timeout instead; SQS caps it at 20 s.
		ds, err := q.Receive(t.Context(), 10, long, min(s.timeout/2, 20*time.Second))
		done <- result{ds, err}
	}()
	time.Sleep(s.u)
	m, _ := send(t, q, 0)
	var r result
	select {
	case r = <-done:
	case <-time.After(s.timeout):
		t.Fatalf("waiting Receive did not return within %v after a send", s.timeout)
	}
	if r.err != nil {
		t.Fatalf("Receive: %v", r.err)
	}
	if len(r.ds) != 1 {
		// A long poll that started before the send may legitimately miss it only if it
		// returned empty at the end of its wait, which the timeout above rules out.
		t.Fatalf("waiting Receive returned %d messages, want the one sent during the wait", len(r.ds))
	}
	checkBody(t, r.ds[0], m)
}

func (s suite) receiveStopsOnCancel(t *testing.T, q queue.Queue) {
	ctx, cancel := context.WithCancel(t.Context())
	const wait = 10 * time.Second
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := q.Receive(ctx, 10, long, wait)
		done <- err
	}()
	time.Sleep(s.u)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Receive after cancel returned %v, want context.Canceled", err)
		}
		// Not a speed test: only a Receive that ignored ctx would sit out the whole wait.
		if took := time.Since(start); took >= wait {
			t.Fatalf("Receive returned after %v, its whole wait: cancelling ctx did not end it", took)
		}
	case <-time.After(s.timeout):
		t.Fatalf("Receive did not return within %v of cancelling its context", s.timeout)
	}
}

func (s suite) staleReceiptHandle(t *testing.T, q queue.Queue) {
	ctx := t.Context()
	m, _ := send(t, q, 0)
	first := s.next(t, q, s.u)
	second := s.next(t, q, 3*s.u)
	if second.ReceiveCount != 2 || second.ReceiptHandle == first.ReceiptHandle {
		t.Fatalf("second receive %+v, want ReceiveCount 2 and a new receipt handle", second.Delivery)
	}
	errStale := q.Delete(ctx, first.ReceiptHandle)
	errCurrent := q.ChangeVisibility(ctx, second.ReceiptHandle, 0)
	if errCurrent == nil {
		// Not deleted: the message must be delivered again.
		third := s.next(t, q, long)
		checkBody(t, third.Delivery, m)
		if third.MessageID != first.MessageID || third.ReceiveCount != 3 {
			t.Fatalf("after a stale Delete got %+v, want message %q with ReceiveCount 3", third.Delivery, first.MessageID)
		}
		t.Logf("Delete with a stale handle (err: %v) left the message in the queue", errStale)
		if err := q.Delete(ctx, third.ReceiptHandle); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		return
	}
	// The current handle no longer works: the message must be gone for good, and the
	// stale Delete must have said it succeeded.
	s.none(t, q, second.called.Add(5*s.u), fmt.Sprintf("ChangeVisibility with the current handle failed (%v), so the message should be deleted", errCurrent))
	if errStale != nil {
		t.Fatalf("Delete with a stale handle failed (%v) but deleted the message", errStale)
	}
	t.Logf("Delete with a stale handle deleted the message; the current holder's ChangeVisibility failed: %v", errCurrent)
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
