package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/callbackurl"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/sqsbatch"
)

// DefaultSchedule is the wait before each retry, from the attempt before it: Standard
// Webhooks' example schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), whose last attempt
// is 27 h 35 min after the first, so every event is tried for more than the 24 hours the
// contract promises.
var DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// DefaultTimeout bounds one attempt, connection and response included: a receiver should
// answer at once and do its work later.
const DefaultTimeout = 10 * time.Second

// Deliverer is the delivery worker on the webhook queue (functions/webhook, and the local
// runner's poller). Each record is one attempt to POST one event to one URL, signed with
// Secret; the records of a batch are attempted concurrently, each within Timeout, so a slow
// receiver holds up only its own deliveries, for at most Timeout.
//
// An attempt that fails with a network error, a timeout, 429 or 5xx is retried after the
// next wait of Schedule, in a new message on Queue (not the same message made visible
// again: see Message). A wait longer than SQS's 15-minute delay is made of hops: the
// message arrives early, is sent on with the rest of the wait, and no attempt is made. After
// the last wait the delivery is given up and its message goes to DeadLetter. A 410 Gone
// records the URL in Gone and ends this and every later delivery to it; any other answer
// that is not 2xx (a 3xx included: redirects are not followed) ends the delivery too, to
// DeadLetter. Only a failure to re-send (the queue unreachable) is a batch item failure, so
// that SQS hands the same message out again.
type Deliverer struct {
	Secret Secret
	// Queue takes the retries (the webhook queue itself).
	Queue queue.BodySender
	// DeadLetter takes the deliveries given up; nil: they are only logged.
	DeadLetter queue.BodySender
	// Gone remembers the URLs that answered 410; nil: a 410 ends only its own delivery.
	Gone GoneList
	// Client makes the POSTs; nil: NewClient(false), which refuses private addresses.
	Client *http.Client
	// Timeout bounds each attempt; zero: DefaultTimeout.
	Timeout time.Duration
	// Schedule is the wait before each retry; nil: DefaultSchedule.
	Schedule []time.Duration
	// MaxDelay is the longest delay of one message (a hop); zero: queue.MaxDelay.
	MaxDelay time.Duration
	Now      func() time.Time
	Log      *slog.Logger

	// seenGone are the URLs this process saw gone, so that each is read from Gone once.
	seenGone sync.Map
}

// NewClient is the HTTP client of deliveries: it dials through callbackurl.Control (local
// false refuses private, loopback and link-local addresses after name resolution), uses no
// proxy (a proxy would dial for us, past the control), and follows no redirect.
func NewClient(local bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: callbackurl.Control(local)}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       30 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: DefaultTimeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Handle is the Lambda handler of the webhook queue: its records at once (see sqsbatch), so
// that a slow receiver does not hold up the others.
func (d *Deliverer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return sqsbatch.Handle(ctx, ev, d.record), nil
}

// record handles one delivery and reports whether its message may be deleted. A panic fails
// only this record (as in the worker).
func (d *Deliverer) record(ctx context.Context, rec events.SQSMessage) (acked bool) {
	defer func() {
		if p := recover(); p != nil {
			d.Log.ErrorContext(ctx, "webhook delivery panicked; it will be redelivered", "messageId", rec.MessageId, "panic", p, "stack", string(debug.Stack()))
			acked = false
		}
	}()
	m, err := DecodeMessage(rec.Body)
	if err != nil {
		d.Log.ErrorContext(ctx, "not a webhook delivery; dropped", "messageId", rec.MessageId, "err", err)
		return true
	}
	log := d.Log.With("webhookId", m.ID, "url", m.URL, "attempts", m.Attempts)
	now := d.now()
	if wait := m.NotBefore.Sub(now); wait > 0 {
		return d.send(ctx, log, m, wait) // a hop of a long wait
	}
	if d.gone(ctx, log, m.URL) {
		log.InfoContext(ctx, "webhook not delivered: the URL answered 410 Gone before")
		return true
	}
	status, err := d.attempt(ctx, m, now)
	switch {
	case err == nil && status >= 200 && status < 300:
		log.InfoContext(ctx, "webhook delivered", "status", status)
		return true
	case err == nil && status == http.StatusGone:
		log.InfoContext(ctx, "webhook receiver answered 410 Gone; no more deliveries to this URL")
		d.seenGone.Store(m.URL, true)
		if d.Gone != nil {
			if err := d.Gone.MarkGone(ctx, m.URL, now); err != nil {
				log.WarnContext(ctx, "recording the gone URL failed; its next delivery will find out again", "err", err)
			}
		}
		return true
	case err == nil && status != http.StatusTooManyRequests && status < 500:
		m.LastError = fmt.Sprintf("answered %d", status)
		return d.giveUp(ctx, log, m)
	}
	if err != nil {
		m.LastError = err.Error()
	} else {
		m.LastError = fmt.Sprintf("answered %d", status)
	}
	if m.First.IsZero() {
		m.First = now
	}
	m.Attempts++
	schedule := d.schedule()
	if m.Attempts > len(schedule) {
		return d.giveUp(ctx, log, m)
	}
	wait := schedule[m.Attempts-1]
	m.NotBefore = now.Add(wait)
	log.InfoContext(ctx, "webhook attempt failed; retrying", "err", m.LastError, "retryIn", wait)
	return d.send(ctx, log, m, wait)
}

// attempt POSTs the event once, within Timeout, and returns the answer's status.
func (d *Deliverer) attempt(ctx context.Context, m Message, now time.Time) (int, error) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(m.Event))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Tasklane-Webhooks/1")
	for k, v := range d.Secret.SignedHeaders(m.ID, now, m.Event) {
		req.Header.Set(k, v)
	}
	client := d.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

var defaultClient = NewClient(false)

// send puts m back on the queue, visible after wait (at most MaxDelay: the rest is hopped).
func (d *Deliverer) send(ctx context.Context, log *slog.Logger, m Message, wait time.Duration) bool {
	limit := d.MaxDelay
	if limit <= 0 {
		limit = queue.MaxDelay
	}
	if err := d.Queue.SendBody(ctx, m.Encode(), min(wait, limit)); err != nil {
		log.WarnContext(ctx, "re-sending the webhook delivery failed; the same message comes back", "err", err)
		return false
	}
	return true
}

// giveUp ends a delivery that will not succeed: to DeadLetter when there is one.
func (d *Deliverer) giveUp(ctx context.Context, log *slog.Logger, m Message) bool {
	log.WarnContext(ctx, "webhook delivery given up", "err", m.LastError)
	if d.DeadLetter == nil {
		return true
	}
	if err := d.DeadLetter.SendBody(ctx, m.Encode(), 0); err != nil {
		log.WarnContext(ctx, "sending the given-up delivery to the dead-letter queue failed; it comes back", "err", err)
		return false
	}
	return true
}

// gone reports whether url answered 410 before. A failed read is logged and taken for
// "not gone": one more POST to a gone URL is better than a lost webhook.
func (d *Deliverer) gone(ctx context.Context, log *slog.Logger, url string) bool {
	if _, ok := d.seenGone.Load(url); ok {
		return true
	}
	if d.Gone == nil {
		return false
	}
	g, err := d.Gone.Gone(ctx, url)
	if err != nil {
		log.WarnContext(ctx, "reading the gone URLs failed; delivering", "err", err)
		return false
	}
	if g {
		d.seenGone.Store(url, true)
	}
	return g
}

func (d *Deliverer) schedule() []time.Duration {
	if d.Schedule == nil {
		return DefaultSchedule
	}
	return d.Schedule
}

func (d *Deliverer) now() time.Time {
	if d.Now == nil {
		return time.Now().UTC()
	}
	return d.Now()
}
