package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/webhook"
)

// TestScheduleOutlastsADay: the default retries go on for more than the 24 hours the
// contract promises.
func TestScheduleOutlastsADay(t *testing.T) {
	t.Parallel()
	var total time.Duration
	for _, d := range webhook.DefaultSchedule {
		total += d
	}
	if total < 24*time.Hour {
		t.Errorf("the schedule retries for %v, less than 24 h", total)
	}
}

// sent records SendBody calls.
type sent struct {
	bodies []string
	delays []time.Duration
}

func (s *sent) SendBody(_ context.Context, body string, delay time.Duration) error {
	s.bodies = append(s.bodies, body)
	s.delays = append(s.delays, delay)
	return nil
}

func record(m webhook.Message) events.SQSEvent {
	return events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: m.Encode()}}}
}

// TestLongWaitHops: a delivery due in 40 minutes arrives early (SQS delays stop at 15) and is
// sent on, unattempted, with the longest delay; its schedule is unchanged.
func TestLongWaitHops(t *testing.T) {
	t.Parallel()
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { posts.Add(1) }))
	t.Cleanup(srv.Close)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	q := &sent{}
	d := &webhook.Deliverer{Queue: q, Client: webhook.NewClient(true), Now: func() time.Time { return now }, Log: apptest.Logger(t)}
	m := webhook.Message{URL: srv.URL, ID: "evt-1", Event: []byte(`{"id":"evt-1"}`), Attempts: 3, First: now.Add(-time.Hour), NotBefore: now.Add(40 * time.Minute)}
	resp, _ := d.Handle(context.Background(), record(m))
	if len(resp.BatchItemFailures) != 0 || posts.Load() != 0 {
		t.Fatalf("failures %v, posts %d", resp.BatchItemFailures, posts.Load())
	}
	if len(q.bodies) != 1 || q.delays[0] != queue.MaxDelay {
		t.Fatalf("sent %v after %v, want one hop of %v", q.bodies, q.delays, queue.MaxDelay)
	}
	got, err := webhook.DecodeMessage(q.bodies[0])
	if err != nil || got.Attempts != 3 || !got.NotBefore.Equal(m.NotBefore) {
		t.Errorf("hop %+v (%v), want the message unchanged", got, err)
	}
}

// TestAnswers: what each answer of a receiver does with the delivery.
func TestAnswers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status       int
		retried      bool // re-sent for a later attempt
		deadLettered bool
	}{
		{200, false, false}, {204, false, false},
		{429, true, false}, {500, true, false}, {503, true, false},
		{400, false, true}, {404, false, true}, {301, false, true},
		{410, false, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "http://169.254.169.254/")
			w.WriteHeader(c.status)
		}))
		q, dlq := &sent{}, &sent{}
		gone := &webhook.Memory{}
		d := &webhook.Deliverer{Queue: q, DeadLetter: dlq, Gone: gone, Client: webhook.NewClient(true), Log: apptest.QuietLogger(t)}
		resp, _ := d.Handle(context.Background(), record(webhook.Message{URL: srv.URL, ID: "evt-1", Event: []byte(`{}`)}))
		srv.Close()
		if len(resp.BatchItemFailures) != 0 {
			t.Errorf("%d: batch item failures %v", c.status, resp.BatchItemFailures)
		}
		if (len(q.bodies) == 1) != c.retried || (len(dlq.bodies) == 1) != c.deadLettered {
			t.Errorf("%d: retried %d, dead-lettered %d; want %t, %t", c.status, len(q.bodies), len(dlq.bodies), c.retried, c.deadLettered)
		}
		if g, _ := gone.Gone(context.Background(), srv.URL); g != (c.status == 410) {
			t.Errorf("%d: gone %t", c.status, g)
		}
		if c.retried && q.delays[0] != webhook.DefaultSchedule[0] {
			t.Errorf("%d: retried after %v, want %v", c.status, q.delays[0], webhook.DefaultSchedule[0])
		}
	}
}

// TestSlowReceiverTimesOut: an attempt ends at the deliverer's timeout (and is retried), and
// a slow receiver does not hold up another's delivery in the same batch.
func TestSlowReceiverTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(func() { close(release); slow.Close() })
	var fastAt atomic.Int64
	start := time.Now()
	fast := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { fastAt.Store(int64(time.Since(start))) }))
	t.Cleanup(fast.Close)
	q := &sent{}
	d := &webhook.Deliverer{Queue: q, Client: webhook.NewClient(true), Timeout: 300 * time.Millisecond, Log: apptest.QuietLogger(t)}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "slow", Body: webhook.Message{URL: slow.URL, ID: "e1", Event: []byte(`{}`)}.Encode()},
		{MessageId: "fast", Body: webhook.Message{URL: fast.URL, ID: "e2", Event: []byte(`{}`)}.Encode()},
	}}
	resp, _ := d.Handle(context.Background(), ev)
	took := time.Since(start)
	if len(resp.BatchItemFailures) != 0 || len(q.bodies) != 1 {
		t.Fatalf("failures %v, re-sent %v: want the slow one retried", resp.BatchItemFailures, q.bodies)
	}
	if took > 3*time.Second || time.Duration(fastAt.Load()) > 200*time.Millisecond {
		t.Errorf("batch took %v, fast receiver answered after %v", took, time.Duration(fastAt.Load()))
	}
}
