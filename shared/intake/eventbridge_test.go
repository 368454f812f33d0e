package intake_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/eventbustest"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
)

// The README's example rule: an application's event (an order placed) becomes a demo task of
// the order's tenant, keyed by the event's id, through an SQS target's input transformer;
// EventBridge wraps nothing else around the body.
const (
	orderPattern  = `{"source": ["acme.orders"], "detail-type": ["Order Placed"]}`
	orderTemplate = `{"tenant": "<tenant>", "type": "demo", "name": "Provision order <order>", "idempotencyKey": "<id>", "input": {"steps": [{"name": "Validate"}, {"name": "Provision"}]}}`
)

var orderPaths = map[string]string{"tenant": "$.detail.tenant", "order": "$.detail.orderId", "id": "$.id"}

// TestEventBridgeRuleMakesTask: an event put on a bus becomes one task through the example
// rule, the intake queue and the intake handler.
func TestEventBridgeRuleMakesTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	bus, eb := eventbustest.Route(t, b.sqs, orderPattern, b.intake,
		&ebtypes.InputTransformer{InputTemplate: aws.String(orderTemplate), InputPathsMap: orderPaths})
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(bus), Source: aws.String("acme.orders"), DetailType: aws.String("Order Placed"),
		Detail: aws.String(`{"orderId": "A-1001", "tenant": "tenant-a"}`),
	}}})
	if err != nil || out.FailedEntryCount > 0 {
		t.Fatalf("put events: %v %+v", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(b.tasks(t)) == 0 && time.Now().Before(deadline) {
		if _, err := eventsource.Drain(ctx, b.app.Intake, b.app.IntakeHandler().Handle, eventsource.Options{Wait: 200 * time.Millisecond, Log: apptest.QuietLogger(t)}); err != nil {
			t.Fatal(err)
		}
	}
	got := b.tasks(t)
	if len(got) != 1 || got[0].Name != "Provision order A-1001" || len(got[0].SubTasks) != 2 {
		t.Fatalf("tasks %+v, want the order's one", got)
	}
	if evs := b.events.all(); len(evs) != 0 {
		t.Errorf("rejections %+v", evs)
	}
}
