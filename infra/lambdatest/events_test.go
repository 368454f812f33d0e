package lambdatest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/eventbus"
)

// The lifecycle events' part of the harness: the stack's bus, the template's conditions, and
// the publish bootstrap's test.

// createEventBus creates the stack's TasklaneEventBus on the emulator.
func (s *stack) createEventBus(t testing.TB, cfg aws.Config) {
	t.Helper()
	s.eventBus = awstest.Name("lambdatest")
	eb := eventbridge.NewFromConfig(cfg)
	if err := eventbus.CreateBus(context.Background(), eb, s.eventBus); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = eb.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(s.eventBus)})
	})
}

// resolveIf is !If [condition, then, else], with the condition evaluated for this stack.
func (s *stack) resolveIf(arg any) (string, error) {
	l, _ := arg.([]any)
	if len(l) != 3 {
		return "", fmt.Errorf("!If %v", arg)
	}
	conds, _ := s.tpl["Conditions"].(map[string]any)
	name := fmt.Sprint(l[0])
	c, ok := conds[name]
	if !ok {
		return "", fmt.Errorf("!If: no condition %s", name)
	}
	yes, err := s.condition(c)
	if err != nil {
		return "", fmt.Errorf("condition %s: %w", name, err)
	}
	if yes {
		return s.resolve(l[1])
	}
	return s.resolve(l[2])
}

// condition evaluates the condition functions the template uses: !Equals and !Not.
func (s *stack) condition(c any) (bool, error) {
	m, _ := c.(map[string]any)
	if l, ok := m["Fn::Equals"].([]any); ok && len(l) == 2 {
		a, err := s.resolve(l[0])
		if err != nil {
			return false, err
		}
		b, err := s.resolve(l[1])
		return a == b, err
	}
	if l, ok := m["Fn::Not"].([]any); ok && len(l) == 1 {
		v, err := s.condition(l[0])
		return !v, err
	}
	return false, fmt.Errorf("condition %v is not supported by the harness", c)
}

// testPublishBootstrap invokes the publish bootstrap with localstack/publish.json (a task's
// create and claim from the table's stream) and reads the two events from a queue bound to
// the stack's bus by a rule.
func testPublishBootstrap(t *testing.T, s *stack) {
	cfg := awstest.Config(t, "EVENTBRIDGE", "SQS")
	eb := eventbridge.NewFromConfig(cfg)
	url := bindQueue(t, eb, s, awstest.Name("lambdatest-events"), eventbus.RulePattern)
	var ev events.DynamoDBEvent
	readEvent(t, "localstack/publish.json", "", &ev)
	var resp events.DynamoDBEventResponse
	s.function(t, "PublishFunction").invoke(t, ev, &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("publish: batch item failures %+v", resp.BatchItemFailures)
	}
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		out, err := s.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var e struct {
				DetailType string      `json:"detail-type"`
				Detail     event.Event `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
				t.Fatal(err)
			}
			got = append(got, e.DetailType+": "+e.Detail.Type)
		}
	}
	want := []string{"Task Status Change: " + event.Created, "Task Status Change: " + event.Processing}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events on the stack's bus (-want +got):\n%s", diff)
	}
}

// bindQueue binds a new queue named name to the stack's bus by a rule of pattern, and removes
// the rule before the queue when the test ends: the stack's subtests share the bus, and moto
// refuses a PutEvents whose rule targets a queue that is gone (AWS would drop the target's
// copy and accept it), so a rule left behind would fail the other subtests' events.
func bindQueue(t *testing.T, eb *eventbridge.Client, s *stack, name, pattern string) string {
	t.Helper()
	url, err := eventbus.BindQueue(t.Context(), eb, s.sqs, s.eventBus, name, pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name), EventBusName: aws.String(s.eventBus)}); err == nil {
			var ids []string
			for _, tg := range ts.Targets {
				ids = append(ids, aws.ToString(tg.Id))
			}
			if len(ids) > 0 {
				_, _ = eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(name), EventBusName: aws.String(s.eventBus), Ids: ids})
			}
		}
		_, _ = eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(name), EventBusName: aws.String(s.eventBus)})
		_, _ = s.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
	return url
}
