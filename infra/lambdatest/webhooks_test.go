package lambdatest

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/webhook"
)

// The webhooks' and the intake's part of the harness: their queues, the signing secret as
// CloudFormation resolves its dynamic reference, and the two bootstraps' tests.

// bodyQueue is one of the queues the harness creates for the webhook and intake functions.
type bodyQueue struct{ name, url, arn string }

// webhookSecret is the SecretString of the stack's WebhookSecret (what Secrets Manager would
// generate: letters and digits, valid base64).
const webhookSecret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// createBodyQueues creates WebhookQueue, IntakeQueue and their dead-letter queues.
func (s *stack) createBodyQueues(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	s.bodyQueues = map[string]bodyQueue{}
	for _, pair := range [][2]string{{"WebhookQueue", "WebhookDeadLetterQueue"}, {"IntakeQueue", "IntakeDeadLetterQueue"}} {
		name := awstest.Name("lambdatest")
		url, dlq, err := sqsqueue.CreateQueues(ctx, s.sqs, name, sqsqueue.MaxReceiveCount, 180*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, u := range []string{url, dlq} {
				_, _ = s.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
			}
		})
		for i, u := range []string{url, dlq} {
			arn, err := sqsqueue.QueueARN(ctx, s.sqs, u)
			if err != nil {
				t.Fatal(err)
			}
			n := name
			if i == 1 {
				n += sqsqueue.DeadLetterSuffix
			}
			s.bodyQueues[pair[i]] = bodyQueue{name: n, url: u, arn: arn}
		}
	}
}

// webhookRef is !Ref of the resources above and of the generated secret (its ARN).
func (s *stack) webhookRef(name string) (string, bool) {
	if q, ok := s.bodyQueues[name]; ok {
		return q.url, true
	}
	if name == "WebhookSecret" {
		return "arn:aws:secretsmanager:" + s.region + ":" + s.accountID + ":secret:lambdatest-webhook", true
	}
	return "", false
}

// webhookAtt is !GetAtt of the queues above.
func (s *stack) webhookAtt(res, attr string) (string, bool) {
	q, ok := s.bodyQueues[res]
	if !ok {
		return "", false
	}
	switch attr {
	case "Arn":
		return q.arn, true
	case "QueueName":
		return q.name, true
	case "QueueUrl":
		return q.url, true
	}
	return "", false
}

var secretRef = regexp.MustCompile(`\{\{resolve:secretsmanager:([^:}]+(?::[^:}]+){0,6}?):SecretString\}\}`)

// resolveSubList is !Sub [string, {variables}], with the secretsmanager dynamic references
// CloudFormation resolves at deploy replaced by the stack's secret.
func (s *stack) resolveSubList(arg any) (string, error) {
	l, _ := arg.([]any)
	if len(l) != 2 {
		return "", fmt.Errorf("!Sub %v", arg)
	}
	str, _ := l[0].(string)
	vars, _ := l[1].(map[string]any)
	var err error
	out := subVar.ReplaceAllStringFunc(str, func(m string) string {
		name := strings.TrimSuffix(strings.TrimPrefix(m, "${"), "}")
		if v, ok := vars[name]; ok {
			r, e := s.resolve(v)
			if e != nil && err == nil {
				err = e
			}
			return r
		}
		r, e := s.ref(name)
		if e != nil && err == nil {
			err = e
		}
		return r
	})
	if err != nil {
		return "", err
	}
	want, _ := s.webhookRef("WebhookSecret")
	return secretRef.ReplaceAllStringFunc(out, func(m string) string {
		if secretRef.FindStringSubmatch(m)[1] != want {
			err = fmt.Errorf("dynamic reference %s names no secret of the stack", m)
		}
		return webhookSecret
	}), err
}

// testWebhookBootstrap invokes the webhook bootstrap with localstack/webhook.json, a delivery
// to https://127.0.0.1:9: with the template's environment it started (its secret resolved),
// and refuses the loopback address at the dial (deployed, no private address is reached),
// which is a network error: the delivery is re-sent for its next attempt.
func testWebhookBootstrap(t *testing.T, s *stack) {
	var ev events.SQSEvent
	readEvent(t, "localstack/webhook.json", "", &ev)
	var resp events.SQSEventResponse
	s.function(t, "WebhookFunction").invoke(t, ev, &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("webhook: batch item failures %+v", resp.BatchItemFailures)
	}
	out, err := s.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.bodyQueues["WebhookQueue"].url), MaxNumberOfMessages: 10, WaitTimeSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d messages on the webhook queue, want the retry", len(out.Messages))
	}
	m, err := webhook.DecodeMessage(aws.ToString(out.Messages[0].Body))
	if err != nil || m.Attempts != 1 || !strings.Contains(m.LastError, "private, loopback or link-local") {
		t.Errorf("retry %+v (%v), want attempt 1 refused at the dial", m, err)
	}
}

// testIntakeBootstrap invokes the intake bootstrap with localstack/intake.json: the first
// message becomes a task of tenant-a, the second (an unknown type) goes to the intake
// dead-letter queue and is announced on the stack's bus as tasklane.task.rejected.
func testIntakeBootstrap(t *testing.T, s *stack) {
	cfg := awstest.Config(t, "EVENTBRIDGE", "SQS")
	rejected := bindQueue(t, eventbridge.NewFromConfig(cfg), s, awstest.Name("lambdatest-rejected"),
		`{"source": ["tasklane"], "detail": {"type": ["`+event.Rejected+`"]}}`)
	var ev events.SQSEvent
	readEvent(t, "localstack/intake.json", "", &ev)
	var resp events.SQSEventResponse
	s.function(t, "IntakeFunction").invoke(t, ev, &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("intake: batch item failures %+v", resp.BatchItemFailures)
	}
	// The stack is shared with the other bootstraps' subtests, which create tasks of
	// tenant-a too: count the intake's own.
	page, err := dynamostore.New(s.ddb, s.table).List(t.Context(), task.ListQuery{Owner: "tenant-a", SortKey: task.SortCreated, Limit: 100, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var fromIntake []string
	for _, tk := range page.Tasks {
		if tk.Name == "From the intake queue" {
			fromIntake = append(fromIntake, tk.ID)
		}
	}
	if len(fromIntake) != 1 {
		t.Errorf("tasks from the intake %v (of %+v), want the first message's alone", fromIntake, page.Tasks)
	}
	dl, err := s.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.bodyQueues["IntakeDeadLetterQueue"].url), MaxNumberOfMessages: 10, WaitTimeSeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(dl.Messages) != 1 || aws.ToString(dl.Messages[0].Body) != ev.Records[1].Body {
		t.Errorf("intake dead letters %+v, want the second message", dl.Messages)
	}
	got, err := s.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(rejected), MaxNumberOfMessages: 10, WaitTimeSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 {
		t.Fatalf("%d rejections on the bus, want 1", len(got.Messages))
	}
	var e struct {
		Detail event.Event `json:"detail"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(got.Messages[0].Body)), &e); err != nil {
		t.Fatal(err)
	}
	if e.Detail.Type != event.Rejected || e.Detail.Subject != ev.Records[1].MessageId || !strings.Contains(string(e.Detail.Data), "UNKNOWN_TASK_TYPE") {
		t.Errorf("rejection %+v", e.Detail)
	}
}
