// Package eventbustest gives a test an EventBridge bus on the emulator with an SQS queue bound
// to it by a rule, as a consumer of Tasklane's events would have, and reads the events back
// from the queue: what the tests of the sink, the publisher and the stream's event source
// mapping compare with what they expect.
package eventbustest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/eventbus"
)

// Bus is a fresh bus and the queue its rule feeds.
type Bus struct {
	Name     string
	API      *eventbridge.Client
	Queue    *sqs.Client
	QueueURL string
}

// New creates a fresh bus and queue (deleted when the test ends), or ends the test as awstest
// does when the emulator is missing.
func New(t *testing.T) *Bus {
	t.Helper()
	cfg := awstest.Config(t, "EVENTBRIDGE", "SQS")
	b := &Bus{Queue: sqs.NewFromConfig(cfg)}
	created, err := b.Queue.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(awstest.Name("events"))})
	if err != nil {
		t.Fatal(err)
	}
	b.QueueURL = aws.ToString(created.QueueUrl)
	t.Cleanup(func() { // after Route's: the rule goes before its queue
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = b.Queue.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(b.QueueURL)})
	})
	b.Name, b.API = Route(t, b.Queue, eventbus.RulePattern, b.QueueURL, nil)
	return b
}

// Route creates a fresh bus whose rule sends the events matching pattern to the existing
// queue queueURL through transformer (eventbus.BindExistingQueue: a template rule, the
// webhook's or an intake example's) and returns the bus's name and a client to put events
// on it. The rule and the bus are deleted when the test ends, the rule first: moto refuses
// PutEvents to a rule whose target is gone.
func Route(t *testing.T, q eventbus.QueueAPI, pattern, queueURL string, transformer *ebtypes.InputTransformer) (string, *eventbridge.Client) {
	t.Helper()
	api := eventbridge.NewFromConfig(awstest.Config(t, "EVENTBRIDGE"))
	bus, rule := awstest.Name("bus"), awstest.Name("route")
	if err := eventbus.CreateBus(t.Context(), api, bus); err != nil {
		t.Fatal(err)
	}
	if err := eventbus.BindExistingQueue(t.Context(), api, q, bus, rule, pattern, queueURL, transformer); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = api.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Ids: []string{"queue"}})
		_, _ = api.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus)})
		_, _ = api.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	return bus, api
}

// Envelope is an EventBridge event as a rule's SQS target receives it.
type Envelope struct {
	Source     string      `json:"source"`
	DetailType string      `json:"detail-type"`
	Detail     event.Event `json:"detail"`
}

// Receive reads envelopes from the queue, in the order received, until it has n or within
// wait none more came; it deletes what it reads.
func (b *Bus) Receive(t *testing.T, n int, wait time.Duration) []Envelope {
	t.Helper()
	var out []Envelope
	deadline := time.Now().Add(wait)
	for len(out) < n && time.Now().Before(deadline) {
		r, err := b.Queue.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(b.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatalf("receive events: %v", err)
		}
		for _, m := range r.Messages {
			var e Envelope
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
				t.Fatalf("event %s: %v", aws.ToString(m.Body), err)
			}
			out = append(out, e)
			if _, err := b.Queue.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(b.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete event message: %v", err)
			}
		}
	}
	return out
}

// Types lists the envelopes' (task id, event type) pairs, for diffs.
func Types(es []Envelope) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Detail.Subject + " " + e.Detail.Type
	}
	return out
}

// JSONData compares events' data as JSON values: EventBridge re-encodes the detail (moto with
// spaces after the colons), so the bytes differ while the document is the same.
var JSONData = cmp.Transformer("json", func(m json.RawMessage) any {
	var v any
	if err := json.Unmarshal(m, &v); err != nil {
		return string(m)
	}
	return v
})
