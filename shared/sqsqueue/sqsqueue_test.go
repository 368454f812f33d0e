package sqsqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/queuetest"
	"github.com/tasklane/tasklane/shared/sqsqueue"
)

// client returns an SQS client on the emulator (or ends the test as awstest decides).
func client(t *testing.T) *sqs.Client {
	t.Helper()
	return sqs.NewFromConfig(awstest.Config(t, "SQS"))
}

// newQueues creates a fresh work queue and dead-letter queue, deleted when the test ends.
func newQueues(t *testing.T, c *sqs.Client, maxReceiveCount int, visibility time.Duration) (queueURL, dlqURL string) {
	t.Helper()
	queueURL, dlqURL, err := sqsqueue.CreateQueues(t.Context(), c, awstest.Name("sqsqueue"), maxReceiveCount, visibility)
	if err != nil {
		t.Fatalf("CreateQueues: %v", err)
	}
	t.Cleanup(func() {
		for _, u := range []string{queueURL, dlqURL} {
			if _, err := c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
				t.Logf("delete queue %s: %v", u, err)
			}
		}
	})
	return queueURL, dlqURL
}

func TestConformance(t *testing.T) {
	t.Parallel()
	c := client(t)
	queuetest.Run(t, func(t *testing.T) queue.Queue {
		// A high maxReceiveCount: the suite receives a message at most three times.
		u, _ := newQueues(t, c, 100, 30*time.Second)
		return sqsqueue.New(c, u)
	})
}

func TestCreateQueues(t *testing.T) {
	t.Parallel()
	c := client(t)
	ctx := t.Context()
	name := awstest.Name("sqsqueue")
	queueURL, dlqURL, err := sqsqueue.CreateQueues(ctx, c, name, 3, 1500*time.Millisecond)
	if err != nil {
		t.Fatalf("CreateQueues: %v", err)
	}
	t.Cleanup(func() {
		for _, u := range []string{queueURL, dlqURL} {
			_, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	if !strings.HasSuffix(queueURL, "/"+name) || !strings.HasSuffix(dlqURL, "/"+name+"-dlq") {
		t.Fatalf("URLs %s, %s; want queues %s and %s-dlq", queueURL, dlqURL, name, name)
	}
	dlqARN, err := sqsqueue.QueueARN(ctx, c, dlqURL)
	if err != nil {
		t.Fatalf("QueueARN: %v", err)
	}
	if !strings.HasPrefix(dlqARN, "arn:aws:sqs:") || !strings.HasSuffix(dlqARN, ":"+name+"-dlq") {
		t.Fatalf("dead-letter ARN %q", dlqARN)
	}
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if got := out.Attributes["VisibilityTimeout"]; got != "2" {
		t.Errorf("VisibilityTimeout = %q, want 2 (1.5 s rounded up)", got)
	}
	var policy struct {
		DeadLetterTargetArn string
		MaxReceiveCount     json.Number
	}
	if err := json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &policy); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", out.Attributes["RedrivePolicy"], err)
	}
	if policy.DeadLetterTargetArn != dlqARN || policy.MaxReceiveCount.String() != "3" {
		t.Errorf("RedrivePolicy = %+v, want target %s and maxReceiveCount 3", policy, dlqARN)
	}
	// Idempotent for the same arguments, as local tooling runs it on every start.
	again, dlqAgain, err := sqsqueue.CreateQueues(ctx, c, name, 3, 1500*time.Millisecond)
	if err != nil || again != queueURL || dlqAgain != dlqURL {
		t.Fatalf("CreateQueues again = %s, %s, %v; want the same queues", again, dlqAgain, err)
	}
	if _, _, err := sqsqueue.CreateQueues(ctx, c, name, 0, time.Second); err == nil {
		t.Fatal("CreateQueues with maxReceiveCount 0 succeeded")
	}
}

// TestDeadLetterRedrive checks that SQS moves a message that was received maxReceiveCount
// times without being deleted to the dead-letter queue, with its ID and body.
func TestDeadLetterRedrive(t *testing.T) {
	t.Parallel()
	c := client(t)
	ctx := t.Context()
	const maxReceiveCount = 2
	queueURL, dlqURL := newQueues(t, c, maxReceiveCount, time.Second)
	q, dlq := sqsqueue.New(c, queueURL), sqsqueue.New(c, dlqURL)
	m := queue.Message{TaskID: "poison", Run: 1}
	if err := q.Send(ctx, m, 0); err != nil {
		t.Fatal(err)
	}
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for n := 1; n <= maxReceiveCount; {
		if time.Now().After(deadline) {
			t.Fatalf("received the message %d times within 30 s, want %d", n-1, maxReceiveCount)
		}
		ds, err := q.Receive(ctx, 10, time.Second, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			continue
		}
		if len(ds) != 1 || ds[0].ReceiveCount != n || (id != "" && ds[0].MessageID != id) {
			t.Fatalf("receive %d: %+v, want the message with ReceiveCount %d", n, ds, n)
		}
		id = ds[0].MessageID
		n++
	}
	// Received maxReceiveCount times: once visible again it moves instead of coming back.
	var got []queue.Delivery
	for time.Now().Before(deadline) && len(got) == 0 {
		ds, err := q.Receive(ctx, 10, time.Second, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) > 0 {
			t.Fatalf("message delivered a %d. time, want it in the dead-letter queue: %+v", maxReceiveCount+1, ds)
		}
		got, err = dlq.Receive(ctx, 10, time.Minute, time.Second)
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 || got[0].MessageID != id || got[0].Body != m.Encode() {
		t.Fatalf("dead-letter queue gave %+v, want message %s with body %s", got, id, m.Encode())
	}
	t.Logf("dead letter ReceiveCount %d", got[0].ReceiveCount)
}

// recorder is a fake API that records requests and answers from canned responses.
type recorder struct {
	sqsqueue.API
	send    []*sqs.SendMessageInput
	receive []*sqs.ReceiveMessageInput
	change  []*sqs.ChangeMessageVisibilityInput
	out     *sqs.ReceiveMessageOutput
	err     error
}

func (r *recorder) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	r.send = append(r.send, in)
	return &sqs.SendMessageOutput{}, r.err
}

func (r *recorder) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	r.receive = append(r.receive, in)
	if r.out == nil {
		return &sqs.ReceiveMessageOutput{}, r.err
	}
	return r.out, r.err
}

func (r *recorder) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	r.change = append(r.change, in)
	return &sqs.ChangeMessageVisibilityOutput{}, r.err
}

func (r *recorder) DeleteMessage(_ context.Context, _ *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	return &sqs.DeleteMessageOutput{}, r.err
}

func TestDurationsRoundUpAndCap(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		d                 time.Duration
		delay, visibility int32
	}{
		{-time.Second, 0, 0},
		{0, 0, 0},
		{time.Millisecond, 1, 1},
		{time.Second, 1, 1},
		{1500 * time.Millisecond, 2, 2},
		{14*time.Minute + 59*time.Second + 1, 900, 900},
		{time.Hour, 900, 900},
	} {
		r := &recorder{}
		q := sqsqueue.New(r, "https://sqs.example/q")
		before := time.Now().Truncate(time.Millisecond)
		if err := q.Send(ctx, queue.Message{TaskID: "t"}, tc.d); err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		if err := q.ChangeVisibility(ctx, "h", tc.d); err != nil {
			t.Fatal(err)
		}
		if got := r.send[0].DelaySeconds; got != tc.delay {
			t.Errorf("Send(delay %v): DelaySeconds %d, want %d", tc.d, got, tc.delay)
		}
		if got := r.change[0].VisibilityTimeout; got != tc.visibility {
			t.Errorf("ChangeVisibility(%v): VisibilityTimeout %d, want %d", tc.d, got, tc.visibility)
		}
		if got := aws.ToString(r.send[0].MessageBody); got != (queue.Message{TaskID: "t"}).Encode() {
			t.Errorf("body %s", got)
		}
		// Due when the rounded delay ends, not the asked one.
		attr := r.send[0].MessageAttributes[queue.DueAttribute]
		due, ok := queue.ParseDue(aws.ToString(attr.StringValue))
		wait := time.Duration(tc.delay) * time.Second
		if !ok || aws.ToString(attr.DataType) != "Number" || due.Before(before.Add(wait)) || due.After(after.Add(wait)) {
			t.Errorf("Send(delay %v): due attribute %+v (%v, %v), want a Number %v after the send", tc.d, attr, due, ok, wait)
		}
	}
}

func TestReceiveRequestAndDeliveries(t *testing.T) {
	ctx := t.Context()
	sent := time.Date(2026, 11, 22, 8, 30, 0, 123e6, time.UTC)
	r := &recorder{out: &sqs.ReceiveMessageOutput{Messages: []types.Message{{
		MessageId:     aws.String("m1"),
		ReceiptHandle: aws.String("h1"),
		Body:          aws.String(`{"taskId":"t","run":1}`),
		Attributes: map[string]string{
			"ApproximateReceiveCount": "4",
			"SentTimestamp":           "1795336200123",
		},
		MessageAttributes: map[string]types.MessageAttributeValue{
			queue.DueAttribute: {DataType: aws.String("Number"), StringValue: aws.String("1795336205123")},
		},
	}}}}
	q := sqsqueue.New(r, "https://sqs.example/q")
	ds, err := q.Receive(ctx, 50, 90*time.Minute+time.Millisecond, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	in := r.receive[0]
	if aws.ToString(in.QueueUrl) != "https://sqs.example/q" || in.MaxNumberOfMessages != 10 || in.VisibilityTimeout != 5401 || in.WaitTimeSeconds != 20 {
		t.Errorf("request %+v: want 10 messages, visibility 5401 s, wait 20 s", in)
	}
	names := map[types.MessageSystemAttributeName]bool{}
	for _, n := range in.MessageSystemAttributeNames {
		names[n] = true
	}
	if !names[types.MessageSystemAttributeNameApproximateReceiveCount] || !names[types.MessageSystemAttributeNameSentTimestamp] {
		t.Errorf("MessageSystemAttributeNames %v, want ApproximateReceiveCount and SentTimestamp", in.MessageSystemAttributeNames)
	}
	if !slices.Equal(in.MessageAttributeNames, []string{queue.DueAttribute}) {
		t.Errorf("MessageAttributeNames %v, want [%s]", in.MessageAttributeNames, queue.DueAttribute)
	}
	want := queue.Delivery{MessageID: "m1", ReceiptHandle: "h1", Body: `{"taskId":"t","run":1}`, ReceiveCount: 4, SentAt: sent, DueAt: sent.Add(5 * time.Second)}
	if len(ds) != 1 || ds[0] != want {
		t.Fatalf("deliveries %+v, want [%+v]", ds, want)
	}

	if _, err := q.Receive(ctx, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if in := r.receive[1]; in.MaxNumberOfMessages != 1 || in.VisibilityTimeout != 0 || in.WaitTimeSeconds != 0 {
		t.Errorf("request %+v: want 1 message, the queue's visibility, a short poll", in)
	}

	// A malformed due time (anyone who may send can set the attribute) is read as none: the
	// message is delivered, with the time it was sent to go by.
	r.out.Messages[0].MessageAttributes[queue.DueAttribute] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String("soon")}
	ds, err = q.Receive(ctx, 1, time.Second, 0)
	if want.DueAt = (time.Time{}); err != nil || len(ds) != 1 || ds[0] != want {
		t.Errorf("Receive with a malformed due time: %+v, %v; want [%+v]", ds, err, want)
	}
	r.out.Messages[0].Attributes["ApproximateReceiveCount"] = "x"
	if _, err := q.Receive(ctx, 1, time.Second, 0); err == nil {
		t.Error("Receive with a malformed ApproximateReceiveCount succeeded")
	}
}

func TestErrorsAreWrapped(t *testing.T) {
	ctx := t.Context()
	boom := errors.New("boom")
	q := sqsqueue.New(&recorder{err: boom}, "u")
	_, rerr := q.Receive(ctx, 1, time.Second, 0)
	for name, err := range map[string]error{
		"Send":             q.Send(ctx, queue.Message{TaskID: "t"}, 0),
		"Receive":          rerr,
		"Delete":           q.Delete(ctx, "h"),
		"ChangeVisibility": q.ChangeVisibility(ctx, "h", 0),
	} {
		if !errors.Is(err, boom) {
			t.Errorf("%s = %v, want it to wrap the API's error", name, err)
		}
	}
}
