package eventsource_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/queue"
)

const (
	unit = 50 * time.Millisecond
	arn  = "arn:aws:sqs:eu-west-1:123456789012:tasks"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func opts() eventsource.Options {
	return eventsource.Options{Visibility: 2 * unit, Wait: unit, QueueARN: arn, Log: quiet()}
}

func sendN(t *testing.T, q queue.Sender, n int) []queue.Message {
	t.Helper()
	var ms []queue.Message
	for i := range n {
		m := queue.Message{TaskID: fmt.Sprint("t", i), Run: i}
		if err := q.Send(t.Context(), m, 0); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// calls records the handler's invocations.
type calls struct {
	mu     sync.Mutex
	events []events.SQSEvent
	ctxs   []context.Context
	byBody map[string]int
}

func (c *calls) record(ctx context.Context, ev events.SQSEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byBody == nil {
		c.byBody = map[string]int{}
	}
	c.events = append(c.events, ev)
	c.ctxs = append(c.ctxs, ctx)
	for _, r := range ev.Records {
		c.byBody[r.Body]++
	}
}

func (c *calls) count(body string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byBody[body]
}

// poll runs eventsource.Poll until the test ends and returns a function that stops it and reports
// Poll's result.
func poll(t *testing.T, q queue.Queue, h eventsource.Handler, o eventsource.Options) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- eventsource.Poll(ctx, q, h, o) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Poll did not return within 30 s of cancelling its context")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// eventually waits (without asserting how fast) until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventRecordsAsLambda(t *testing.T) {
	sent := time.UnixMilli(1795336200123)
	ev := eventsource.Event([]queue.Delivery{
		{MessageID: "m1", ReceiptHandle: "h1", Body: `{"taskId":"t","run":0}`, ReceiveCount: 2, SentAt: sent, DueAt: sent.Add(time.Minute)},
		{MessageID: "m2", ReceiptHandle: "h2", Body: `{"taskId":"u","run":0}`, ReceiveCount: 1},
	}, arn, "eu-west-1")
	if len(ev.Records) != 2 {
		t.Fatalf("records %+v", ev.Records)
	}
	r := ev.Records[0]
	sum := md5.Sum([]byte(r.Body))
	if r.MessageId != "m1" || r.ReceiptHandle != "h1" || r.Body != `{"taskId":"t","run":0}` ||
		r.EventSource != "aws:sqs" || r.EventSourceARN != arn || r.AWSRegion != "eu-west-1" ||
		r.Md5OfBody != hex.EncodeToString(sum[:]) ||
		r.Attributes["ApproximateReceiveCount"] != "2" || r.Attributes["SentTimestamp"] != "1795336200123" ||
		r.MessageAttributes == nil {
		t.Fatalf("record %+v", r)
	}
	if due := r.MessageAttributes[queue.DueAttribute]; due.DataType != "Number" || due.StringValue == nil || *due.StringValue != "1795336260123" {
		t.Errorf("due attribute %+v, want the Number 1795336260123", due)
	}
	if r := ev.Records[1]; r.MessageAttributes == nil || len(r.MessageAttributes) != 0 || r.Attributes["SentTimestamp"] != "" {
		t.Errorf("a delivery without send and due times: %+v, want neither attribute", r)
	}
}

func TestSuccessDeletesAll(t *testing.T) {
	t.Parallel()
	q := memqueue.New(memqueue.Options{})
	ms := sendN(t, q, 25)
	var c calls
	stop := poll(t, q, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		c.record(ctx, ev)
		return events.SQSEventResponse{}, nil
	}, opts())
	eventually(t, "every message is deleted", func() bool { return q.Stats() == memqueue.Stats{} })
	if err := stop(); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	for _, m := range ms {
		if n := c.count(m.Encode()); n != 1 {
			t.Errorf("message %s handled %d times, want 1", m.Encode(), n)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ev := range c.events {
		if len(ev.Records) < 1 || len(ev.Records) > 10 {
			t.Errorf("event with %d records, want 1..10", len(ev.Records))
		}
		for _, r := range ev.Records {
			// Region comes from the ARN; the record is built as Lambda builds it.
			if r.EventSource != "aws:sqs" || r.EventSourceARN != arn || r.AWSRegion != "eu-west-1" ||
				r.Attributes["ApproximateReceiveCount"] != "1" || r.Attributes["SentTimestamp"] == "" || r.MessageId == "" || r.ReceiptHandle == "" {
				t.Errorf("record %+v", r)
			}
			if _, err := strconv.ParseInt(r.Attributes["SentTimestamp"], 10, 64); err != nil {
				t.Errorf("SentTimestamp %q", r.Attributes["SentTimestamp"])
			}
		}
		// The handler runs with the function timeout as deadline, in a Lambda context.
		ctx := c.ctxs[i]
		if _, ok := ctx.Deadline(); !ok {
			t.Error("handler context without deadline")
		}
		if lc, ok := lambdacontext.FromContext(ctx); !ok || lc.AwsRequestID == "" {
			t.Error("handler context without a Lambda request ID")
		}
	}
}

func TestBatchItemFailuresAreRedelivered(t *testing.T) {
	t.Parallel()
	q := memqueue.New(memqueue.Options{})
	ms := sendN(t, q, 6)
	failing := map[string]bool{ms[1].Encode(): true, ms[4].Encode(): true}
	var c calls
	stop := poll(t, q, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		c.record(ctx, ev)
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			// Fail each of them on its first delivery only.
			if failing[r.Body] && r.Attributes["ApproximateReceiveCount"] == "1" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}, opts())
	eventually(t, "every message is deleted", func() bool { return q.Stats() == memqueue.Stats{} })
	if err := stop(); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	for _, m := range ms {
		want := 1
		if failing[m.Encode()] {
			want = 2
		}
		if n := c.count(m.Encode()); n != want {
			t.Errorf("message %s handled %d times, want %d", m.Encode(), n, want)
		}
	}
}

func TestHandlerErrorRedeliversAll(t *testing.T) {
	t.Parallel()
	q := memqueue.New(memqueue.Options{})
	ms := sendN(t, q, 4)
	var c calls
	stop := poll(t, q, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		c.record(ctx, ev)
		if ev.Records[0].Attributes["ApproximateReceiveCount"] == "1" {
			// Listing a failure does not matter: the error fails the whole batch.
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}}, errors.New("store unreachable")
		}
		return events.SQSEventResponse{}, nil
	}, eventsource.Options{Visibility: 2 * unit, Wait: unit, Log: quiet()})
	eventually(t, "every message is deleted", func() bool { return q.Stats() == memqueue.Stats{} })
	if err := stop(); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	for _, m := range ms {
		if n := c.count(m.Encode()); n != 2 {
			t.Errorf("message %s handled %d times, want 2 (failed batch, then success)", m.Encode(), n)
		}
	}
}

func TestPanicAndInvalidResponseFailTheBatch(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]eventsource.Handler{
		"panic": func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) { panic("bug") },
		"empty identifier": func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{}}}, nil
		},
		"unknown identifier": func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-in-batch"}}}, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := memqueue.New(memqueue.Options{})
			sendN(t, q, 3)
			n, err := eventsource.Drain(t.Context(), q, h, eventsource.Options{Visibility: time.Hour, Wait: unit, Log: quiet()})
			if err == nil || n != 3 {
				t.Fatalf("Drain = %d, %v; want 3 messages and an error", n, err)
			}
			if got := q.Stats(); got != (memqueue.Stats{InFlight: 3}) {
				t.Fatalf("Stats = %+v, want all three kept (in flight)", got)
			}
		})
	}
}

func TestHandlerChangesVisibility(t *testing.T) {
	t.Parallel()
	// The worker's backoff: ChangeVisibility, then report the message failed. The event source
	// must not delete it, and it comes back after the handler's delay, not the batch's
	// visibility timeout.
	q := memqueue.New(memqueue.Options{})
	sendN(t, q, 1)
	var c calls
	o := opts()
	o.Visibility = time.Hour
	stop := poll(t, q, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		c.record(ctx, ev)
		r := ev.Records[0]
		if r.Attributes["ApproximateReceiveCount"] != "1" {
			return events.SQSEventResponse{}, nil
		}
		if err := q.ChangeVisibility(ctx, r.ReceiptHandle, 2*unit); err != nil {
			return events.SQSEventResponse{}, err
		}
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: r.MessageId}}}, nil
	}, o)
	eventually(t, "the message is deleted", func() bool { return q.Stats() == memqueue.Stats{} })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) != 2 {
		t.Fatalf("%d invocations, want 2", len(c.events))
	}
}

func TestCancelStopsPoll(t *testing.T) {
	t.Parallel()
	q := memqueue.New(memqueue.Options{})
	started := make(chan struct{})
	var once sync.Once
	o := opts()
	o.Wait = time.Hour // a receive that only ctx can end
	o.Concurrency = 3
	stop := poll(t, q, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		once.Do(func() { close(started) })
		return events.SQSEventResponse{}, nil
	}, o)
	sendN(t, q, 1)
	<-started
	if err := stop(); err != nil {
		t.Fatalf("Poll after cancel: %v, want nil", err)
	}
	// Stopped: nothing receives any more.
	sendN(t, q, 1)
	time.Sleep(2 * unit)
	if got := q.Stats(); got != (memqueue.Stats{Visible: 1}) {
		t.Fatalf("Stats after stop = %+v, want the new message untouched", got)
	}
}

func TestCancelDuringHandlerStillDeletes(t *testing.T) {
	t.Parallel()
	// A batch the handler finished is acknowledged even though Poll is stopping.
	q := memqueue.New(memqueue.Options{})
	sendN(t, q, 2)
	inHandler := make(chan struct{})
	o := opts()
	o.Visibility = time.Hour
	stop := poll(t, q, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		close(inHandler)
		<-ctx.Done() // Poll's ctx was cancelled: finish the batch anyway
		return events.SQSEventResponse{}, nil
	}, o)
	<-inHandler
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := q.Stats(); got != (memqueue.Stats{}) {
		t.Fatalf("Stats = %+v, want the finished batch deleted", got)
	}
}

// failingQueue fails its first receives, as an unreachable queue would.
type failingQueue struct {
	queue.Queue
	mu    sync.Mutex
	fails int
}

func (f *failingQueue) Receive(ctx context.Context, n int, visibility, wait time.Duration) ([]queue.Delivery, error) {
	f.mu.Lock()
	if f.fails > 0 {
		f.fails--
		f.mu.Unlock()
		return nil, errors.New("connection refused")
	}
	f.mu.Unlock()
	return f.Queue.Receive(ctx, n, visibility, wait)
}

func TestReceiveErrorsAreRetried(t *testing.T) {
	t.Parallel()
	mq := memqueue.New(memqueue.Options{})
	q := &failingQueue{Queue: mq, fails: 2}
	sendN(t, q, 1)
	o := opts()
	o.Backoff = unit
	stop := poll(t, q, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}, o)
	eventually(t, "the message is deleted", func() bool { return mq.Stats() == memqueue.Stats{} })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := eventsource.Drain(t.Context(), &failingQueue{Queue: mq, fails: 1}, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}, o); err == nil {
		t.Fatal("Drain with a failing receive succeeded")
	}
}

func TestInvalidOptions(t *testing.T) {
	q := memqueue.New(memqueue.Options{})
	h := func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}
	if err := eventsource.Poll(t.Context(), q, h, eventsource.Options{BatchSize: 11}); err == nil {
		t.Error("Poll with BatchSize 11 succeeded")
	}
	if err := eventsource.Poll(t.Context(), nil, h, eventsource.Options{}); err == nil {
		t.Error("Poll without a queue succeeded")
	}
	if _, err := eventsource.Drain(t.Context(), q, nil, eventsource.Options{}); err == nil {
		t.Error("Drain without a handler succeeded")
	}
}

func TestDrain(t *testing.T) {
	t.Parallel()
	q := memqueue.New(memqueue.Options{})
	sendN(t, q, 23)
	var c calls
	n, err := eventsource.Drain(t.Context(), q, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		c.record(ctx, ev)
		return events.SQSEventResponse{}, nil
	}, eventsource.Options{Wait: unit, BatchSize: 5, Log: quiet()})
	if err != nil || n != 23 {
		t.Fatalf("Drain = %d, %v; want 23, nil", n, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) != 5 {
		t.Fatalf("%d invocations, want 5 (batches of at most 5)", len(c.events))
	}
	if got := q.Stats(); got != (memqueue.Stats{}) {
		t.Fatalf("Stats = %+v, want empty", got)
	}
}
