package costmodel_test

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/costmodel"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/eventbus"
	"github.com/tasklane/tasklane/shared/eventbustest"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/publisher"
)

// The reference task's events: created, processing (the claim), success. The publisher is
// billed one invocation per event-making record, the most it can cost (the template's
// batching window of 1 s puts a busy table's records into fewer invocations), each the
// modelled overhead.
const (
	wantEventEntries       = 3
	wantEventChunks        = 3
	wantPublishInvocations = 3
)

// entrySizes records the size of every PutEvents entry as EventBridge bills it.
type entrySizes struct {
	inner eventbus.API
	mu    sync.Mutex
	sizes []int
}

func (e *entrySizes) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, o ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	out, err := e.inner.PutEvents(ctx, in, o...)
	if err == nil {
		e.mu.Lock()
		for i, en := range in.Entries {
			if i < len(out.Entries) && out.Entries[i].ErrorCode == nil {
				e.sizes = append(e.sizes, eventbus.Size(en))
			}
		}
		e.mu.Unlock()
	}
	return out, err
}

// TestReferenceLifecycleWithEvents runs the reference workload with the lifecycle events: the
// table's stream through the emulated event source mapping into the publisher, to a bus. The
// task's DynamoDB and SQS counts stay those of TestReferenceLifecycle (the event marks are
// in no index and keep the item under 1 KB); the events add PutEvents entries and the
// publisher's invocations.
func TestReferenceLifecycleWithEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := awstest.Config(t, "DYNAMODB_STREAMS", "EVENTBRIDGE")
	inv := b.lifecycle(t, false)
	without := costmodel.Usage{Calls: b.rec.Calls(), Invocations: inv}
	if got := without.WRU(); got != wantWRU {
		t.Errorf("WRU with event marks = %v, want %v as without (by place: %v)", got, wantWRU, without.WRUBy())
	}

	bus := eventbustest.New(t)
	sizes := &entrySizes{inner: bus.API}
	pub := &publisher.Publisher{Sink: eventbus.New(sizes, bus.Name), Log: apptest.QuietLogger(t)}
	var ev costmodel.Events
	handler := func(ctx context.Context, e events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		ev.Invocations = append(ev.Invocations, costmodel.Invocation{Function: "publish", MemoryMB: b.memory["publish"], Duration: modelOverhead})
		return pub.Handle(ctx, e)
	}
	arn, err := dynamostore.StreamARN(t.Context(), dynamodb.NewFromConfig(cfg), b.table)
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventsource.NewStream(dynamodbstreams.NewFromConfig(cfg), handler, eventsource.StreamOptions{
		StreamARN: arn, Filter: dynamostore.EventFilterPattern, BatchSize: 1, Log: apptest.QuietLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	ev.Entries = sizes.sizes
	t.Logf("the reference task without and with events:\n%s", costmodel.EventsTable(without, ev, 1))
	if got := len(ev.Entries); got != wantEventEntries {
		t.Errorf("PutEvents entries = %d, want %d (created, processing, success)", got, wantEventEntries)
	}
	if got := ev.Chunks(); got != wantEventChunks {
		t.Errorf("billed 64 KB chunks = %d, want %d", got, wantEventChunks)
	}
	if got := len(ev.Invocations); got != wantPublishInvocations {
		t.Errorf("publisher invocations = %d, want %d (one per record that makes events)", got, wantPublishInvocations)
	}
	// $3.00 of EventBridge, $0.60 of requests and 3 × 20 ms at 256 MB of compute per million.
	if got, want := ev.Price(1).Total()*1e6, 3.0+0.6+3*0.02*0.25*costmodel.PricePerGBSecond*1e6; math.Abs(got-want) > 0.005 {
		t.Errorf("events cost $%.4f per million tasks, want $%.4f", got, want)
	}
}
