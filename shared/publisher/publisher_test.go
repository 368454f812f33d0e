package publisher_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/eventbus"
	"github.com/tasklane/tasklane/shared/eventbustest"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/publisher"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// bundle is one test's table (with its stream), a marking store on it, a bus with a bound
// queue, and the publisher on the bus through a fault wrapper.
type bundle struct {
	store     *dynamostore.Store
	streams   *dynamodbstreams.Client
	streamARN string
	bus       *eventbustest.Bus
	fault     *fault.EventBus
	pub       *publisher.Publisher
	// want is every event the changes made so far, in order, as event.Of makes them.
	want []event.Event
}

func setup(t *testing.T) *bundle {
	t.Helper()
	cfg := awstest.Config(t, "DYNAMODB", "DYNAMODB_STREAMS", "EVENTBRIDGE", "SQS")
	ddb := dynamodb.NewFromConfig(cfg)
	table := awstest.Name("tasks")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	arn, err := dynamostore.StreamARN(ctx, ddb, table)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{
		store: dynamostore.New(ddb, table, dynamostore.WithEventMarks()), streams: dynamodbstreams.NewFromConfig(cfg),
		streamARN: arn, bus: eventbustest.New(t),
	}
	b.fault = fault.NewEventBus(b.bus.API)
	b.pub = &publisher.Publisher{Sink: eventbus.New(b.fault, b.bus.Name)}
	return b
}

// mapping is the stream's event source mapping to handler, with the template's filter.
func (b *bundle) mapping(t *testing.T, handler eventsource.StreamHandler, onFailure func(context.Context, events.DynamoDBEventRecord) error) *eventsource.Stream {
	t.Helper()
	s, err := eventsource.NewStream(b.streams, handler, eventsource.StreamOptions{
		StreamARN: b.streamARN, Filter: dynamostore.EventFilterPattern, MaxRetries: 2, OnFailure: onFailure,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *bundle) drain(t *testing.T, s *eventsource.Stream) {
	t.Helper()
	if _, err := s.Drain(t.Context()); err != nil {
		t.Fatalf("stream: %v", err)
	}
}

// create stores a new task of typ and records its events.
func (b *bundle) create(t *testing.T, typ string) task.Task {
	t.Helper()
	tk := tasktest.Create(t, b.store, tasktest.New(t, "acme", typ, tasktest.Base))
	b.want = append(b.want, event.Of(nil, tk)...)
	return tk
}

// step stores the change f makes of tk and records its events.
func (b *bundle) step(t *testing.T, tk task.Task, f func(task.Task) (task.Change, error)) task.Task {
	t.Helper()
	after := tasktest.Apply(t, b.store, tasktest.Transition(t, tk, f))
	b.want = append(b.want, event.Of(&tk, after)...)
	return after
}

func at(s int) time.Time { return tasktest.At(time.Duration(s) * time.Second) }

// driveAll takes three tasks through every status and every event there is.
func (b *bundle) driveAll(t *testing.T) {
	t.Helper()
	start := func(x task.Task) (task.Change, error) { c, _, err := x.ClaimAndStart(at(1)); return c, err }
	fail := func(x task.Task) (task.Change, error) {
		return x.Fail(task.Error{ErrorCode: "BOOM", Message: "boom", Causes: []string{}}, at(2))
	}
	// a: created, processing, failure, retried, processing, success
	a := b.create(t, tasktest.TypeBeta)
	a = b.step(t, a, start)
	a = b.step(t, a, fail)
	a = b.step(t, a, func(x task.Task) (task.Change, error) { return x.Retry(at(3), true) })
	a = b.step(t, a, start)
	a = b.step(t, a, func(x task.Task) (task.Change, error) { c, _, err := x.FinishAndStart(0, at(4)); return c, err })
	b.step(t, a, func(x task.Task) (task.Change, error) {
		return x.FinishAndSucceed(1, json.RawMessage(`{"ok":true}`), "", at(5))
	})
	// c: created, processing, cancelRequested, cancelled
	c := b.create(t, tasktest.TypeBeta)
	c = b.step(t, c, start)
	c = b.step(t, c, func(x task.Task) (task.Change, error) { return x.Cancel(at(6)) })
	b.step(t, c, func(x task.Task) (task.Change, error) { return x.FinishAndConfirmCancel(0, at(7)) })
	// p: created, cancelled (a pending task's cancel ends it at once)
	p := b.create(t, tasktest.TypeAlpha)
	b.step(t, p, func(x task.Task) (task.Change, error) { return x.Cancel(at(8)) })
}

// perTask is the events of each task, in order.
func perTask(evs []event.Event) map[string][]event.Event {
	out := map[string][]event.Event{}
	for _, e := range evs {
		out[e.Subject] = append(out[e.Subject], e)
	}
	return out
}

func details(es []eventbustest.Envelope) []event.Event {
	out := make([]event.Event, len(es))
	for i, e := range es {
		out[i] = e.Detail
	}
	return out
}

// distinct drops repeated ids, keeping the first of each, after checking that every repeat
// is the very same event.
func distinct(t *testing.T, evs []event.Event) []event.Event {
	t.Helper()
	seen := map[string]event.Event{}
	var out []event.Event
	for _, e := range evs {
		if first, ok := seen[e.ID]; ok {
			if diff := cmp.Diff(first, e, eventbustest.JSONData); diff != "" {
				t.Errorf("two events with id %s differ (-first +again):\n%s", e.ID, diff)
			}
			continue
		}
		seen[e.ID] = e
		out = append(out, e)
	}
	return out
}

func TestEveryStatusYieldsExactlyItsEventsInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.driveAll(t)
	b.drain(t, b.mapping(t, b.pub.Handle, nil))
	got := details(b.bus.Receive(t, len(b.want), 20*time.Second))
	if diff := cmp.Diff(perTask(b.want), perTask(got), eventbustest.JSONData); diff != "" {
		t.Errorf("events per task (-made by the changes +read from the rule's queue):\n%s", diff)
	}
	if len(b.want) != 12 {
		t.Errorf("the walk made %d events, want 12", len(b.want))
	}
	if extra := b.bus.Receive(t, 1, 2*time.Second); len(extra) > 0 {
		t.Errorf("more events than changes: %v", eventbustest.Types(extra))
	}
}

// TestKilledPublisherPublishesOnRedelivery: the publisher dies after the change was stored:
// once before it published anything (the handler fails), once after it published but before
// the mapping heard back, and once for good (the process stops; a new mapping starts over).
// Every event arrives, the repeats with the same ids.
func TestKilledPublisherPublishesOnRedelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.driveAll(t)
	var calls atomic.Int32
	dying := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		switch calls.Add(1) {
		case 1:
			return events.DynamoDBEventResponse{}, errors.New("killed before publishing")
		case 2:
			if _, err := b.pub.Handle(ctx, ev); err != nil {
				t.Errorf("handle: %v", err)
			}
			return events.DynamoDBEventResponse{}, errors.New("killed after publishing")
		}
		return b.pub.Handle(ctx, ev)
	}
	b.drain(t, b.mapping(t, dying, nil))
	// A process stopped before its checkpoint: the next one reads the stream again.
	b.drain(t, b.mapping(t, b.pub.Handle, nil))
	got := details(b.bus.Receive(t, 3*len(b.want), 20*time.Second))
	if len(got) < 2*len(b.want) {
		t.Errorf("read %d events, want at least %d (published twice, some three times)", len(got), 2*len(b.want))
	}
	if diff := cmp.Diff(perTask(b.want), perTask(distinct(t, got)), eventbustest.JSONData); diff != "" {
		t.Errorf("distinct events per task (-made +read):\n%s", diff)
	}
}

// TestRefusedEntriesAreRedelivered: PutEvents refuses entries beyond the sink's own tries; the
// publisher names the first record not delivered, the mapping retries from it, and every
// event arrives in the end.
func TestRefusedEntriesAreRedelivered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.driveAll(t)
	b.fault.RefuseEntries(len(b.want) * eventbus.Tries) // the first invocation delivers nothing
	b.drain(t, b.mapping(t, b.pub.Handle, nil))
	got := details(b.bus.Receive(t, len(b.want), 20*time.Second))
	if diff := cmp.Diff(perTask(b.want), perTask(distinct(t, got)), eventbustest.JSONData); diff != "" {
		t.Errorf("events per task (-made +read):\n%s", diff)
	}
	if c := b.fault.Calls(); c.Refused < len(b.want)*eventbus.Tries {
		t.Errorf("calls = %+v: the entries were not refused", c)
	}
}

// TestUndeliverableRecordGoesToTheDestination: a record whose events are never accepted is
// retried MaximumRetryAttempts times and handed to the on-failure destination; the others
// are delivered.
func TestUndeliverableRecordGoesToTheDestination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tk := b.create(t, tasktest.TypeAlpha)
	b.fault.RefuseEntries(1 * eventbus.Tries * 3) // the created event: every try of 3 invocations
	var dead []string
	b.drain(t, b.mapping(t, b.pub.Handle, func(_ context.Context, r events.DynamoDBEventRecord) error {
		dead = append(dead, r.Change.Keys["sk"].String()) // a task's sort key is its id
		return nil
	}))
	if diff := cmp.Diff([]string{tk.ID}, dead); diff != "" {
		t.Errorf("records at the on-failure destination (-want +got):\n%s", diff)
	}
	if got := b.bus.Receive(t, 1, 2*time.Second); len(got) != 0 {
		t.Errorf("an undeliverable event arrived: %v", eventbustest.Types(got))
	}
}
