package webhook_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/eventbus"
	"github.com/tasklane/tasklane/shared/eventbustest"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/webhook"
)

// TestThroughEventBridge is the deployed path: events put on the bus by the publisher's
// sink reach the webhook queue through the rule of RulePattern and InputTemplate (what
// template.yaml's WebhookRule declares), only those whose task has a callbackUrl, and the
// deliverer POSTs them signed, the body being the CloudEvent.
func TestThroughEventBridge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	bus, eb := eventbustest.Route(t, b.sqs, webhook.RulePattern, b.app.Settings.Webhooks.QueueURL,
		&ebtypes.InputTransformer{InputTemplate: aws.String(webhook.InputTemplate), InputPathsMap: webhook.InputPathsMap})
	url := b.serve(t, 200)
	now := time.Now().UTC()
	mk := func(cb string) task.Task {
		return task.Task{ID: task.NewID(now), Type: "demo", Owner: "tenant-a", Status: task.Pending, CallbackURL: cb,
			SubTasks: []task.SubTask{{Name: "Validate", Status: task.Pending}}, MaxAttempts: 3, CreatedAt: now, UpdatedAt: now, Version: 1}
	}
	with, without := event.Of(nil, mk(url)), event.Of(nil, mk(""))
	if err := eventbus.New(eb, bus).Publish(ctx, append(with, without...)); err != nil {
		t.Fatal(err)
	}
	b.deliverUntil(t, "delivered", func() bool { return len(b.received.requests()) >= 1 })
	b.deliverUntil(t, "the queue drained", func() bool { return true })
	reqs := b.received.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want the one event with a callbackUrl", len(reqs))
	}
	var got event.Event
	if err := json.Unmarshal(reqs[0].body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != with[0].ID || got.Type != event.Created || reqs[0].header.Get("webhook-id") != with[0].ID || webhook.CallbackURL(got) != url {
		t.Errorf("delivered %s with webhook-id %s, want the event %s", reqs[0].body, reqs[0].header.Get("webhook-id"), with[0].ID)
	}
	if err := verifyFromSpec(testSecret, reqs[0].header, reqs[0].body, time.Now()); err != "" {
		t.Error(err)
	}
	verifyWithReference(t, testSecret, reqs[0].header, reqs[0].body)
}
