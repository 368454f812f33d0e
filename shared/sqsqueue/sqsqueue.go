// Package sqsqueue is the work queue on Amazon SQS (a standard queue, JSON protocol): the
// queue.Queue that the API and the worker use when deployed, and against the
// emulator in tests.
//
// SQS counts delays and visibility timeouts in whole seconds, so every duration is rounded
// up to the next second (a message is never handed out earlier than asked) and capped at the
// service's limit. Receive asks for the two system attributes a Delivery carries
// (ApproximateReceiveCount and SentTimestamp), exactly what Lambda's event source mapping
// puts into an SQS event record.
package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tasklane/tasklane/shared/queue"
)

// Limits of SQS that the arguments are clamped to, so that a caller's out-of-range value
// never turns into an InvalidParameterValue error at run time.
const (
	// MaxBatch is the most messages one ReceiveMessage call returns.
	MaxBatch = 10
	// MaxWait is the longest long poll ReceiveMessage allows.
	MaxWait = 20 * time.Second
	// MaxVisibility is the longest visibility timeout a receive may ask for.
	MaxVisibility = 12 * time.Hour
	// DeadLetterSuffix is appended to a queue's name to name its dead-letter queue.
	DeadLetterSuffix = "-dlq"
)

// The deployed queues' settings: template.yaml's WorkQueue and DeadLetterQueue, which the
// template drift test (infra/template) checks against these, the queues infra/bootstrap and
// the Lambda harness (infra/lambdatest) create, and the LocalStack init hook's.
const (
	// MaxReceiveCount is how often a work message is received without being deleted before
	// SQS moves it to the dead-letter queue. It counts failed deliveries only (a crash, a
	// timeout, a store outage: see worker.Worker.resend for why); five rides out a short
	// outage without keeping a poison message circling.
	MaxReceiveCount = 5
	// WorkVisibility is the work queue's visibility timeout: six times WorkerFunction's
	// Timeout (120 s), AWS's advice for a queue feeding a function, so that the event source
	// mapping's retries of a throttled batch do not make a message visible while it runs.
	WorkVisibility = 720 * time.Second
	// DeadLetterVisibility is the dead-letter queue's: six times DeadLetterFunction's
	// Timeout (30 s), for the same reason.
	DeadLetterVisibility = 180 * time.Second
	// WorkRetention is how long the work queue keeps a message: 10 days, not SQS's default
	// of 4. Work not yet done lives only as messages (no sweeper: "No task without a
	// message" in shared/worker), so a worker stopped longer than this (a broken deploy, a
	// disabled mapping) would leave its tasks unfinished for good. It stays under
	// DeadLetterRetention, which must exceed it.
	WorkRetention = 10 * 24 * time.Hour
	// DeadLetterRetention is how long the dead-letter queue keeps a message: 14 days, SQS's
	// maximum. A message moved there keeps its first enqueue time, so this must exceed
	// WorkRetention or a dead letter could expire unseen.
	DeadLetterRetention = 14 * 24 * time.Hour
)

// API is the subset of *sqs.Client that Queue uses. It is an interface so that tests can
// wrap a real client and inject faults (a failing delete, a lost response) where it matters.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// AdminAPI is the subset of *sqs.Client that creating queues and looking up their ARN use.
// It is separate from API because the functions at run time never create queues (and
// their IAM role need not allow it); tests and local tooling do.
type AdminAPI interface {
	CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, optFns ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Queue is a queue.Queue on one SQS queue.
type Queue struct {
	api API
	url string
}

var _ queue.Queue = (*Queue)(nil)

// New returns the queue at queueURL, reached through api (normally an *sqs.Client).
func New(api API, queueURL string) *Queue {
	return &Queue{api: api, url: queueURL}
}

// URL is the queue's URL, for logs and for tools that need the raw queue.
func (q *Queue) URL() string { return q.url }

// Send sends m, visible after delay (rounded up to whole seconds, at most queue.MaxDelay).
func (q *Queue) Send(ctx context.Context, m queue.Message, delay time.Duration) error {
	return q.SendBody(ctx, m.Encode(), delay)
}

// Receive long-polls for up to wait (rounded up to whole seconds, at most 20 s; zero is a
// short poll) for up to n messages (clamped to 1..10) and hides them for visibility
// (rounded up to whole seconds, at most 12 h). A visibility of zero or less leaves the
// queue's own visibility timeout in force, as an SQS request without VisibilityTimeout does.
func (q *Queue) Receive(ctx context.Context, n int, visibility, wait time.Duration) ([]queue.Delivery, error) {
	out, err := q.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:            aws.String(q.url),
		MaxNumberOfMessages: int32(min(max(n, 1), MaxBatch)),
		VisibilityTimeout:   seconds(visibility, MaxVisibility),
		WaitTimeSeconds:     seconds(wait, MaxWait),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount,
			types.MessageSystemAttributeNameSentTimestamp,
		},
		MessageAttributeNames: []string{queue.DueAttribute},
	})
	if err != nil {
		return nil, fmt.Errorf("sqs receive message: %w", err)
	}
	ds := make([]queue.Delivery, 0, len(out.Messages))
	for _, m := range out.Messages {
		d := queue.Delivery{
			MessageID:     aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
		}
		if v, ok := m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("sqs receive message: ApproximateReceiveCount %q: %w", v, err)
			}
			d.ReceiveCount = n
		}
		if v, ok := m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)]; ok {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("sqs receive message: SentTimestamp %q: %w", v, err)
			}
			d.SentAt = time.UnixMilli(ms).UTC()
		}
		if v, ok := m.MessageAttributes[queue.DueAttribute]; ok {
			d.DueAt, _ = queue.ParseDue(aws.ToString(v.StringValue))
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// Delete deletes the message received with receiptHandle. Like SQS it succeeds for a
// message already deleted; see the queuetest package for what a stale handle does.
func (q *Queue) Delete(ctx context.Context, receiptHandle string) error {
	_, err := q.api.DeleteMessage(ctx, &sqs.DeleteMessageInput{
		QueueUrl:      aws.String(q.url),
		ReceiptHandle: aws.String(receiptHandle),
	})
	if err != nil {
		return fmt.Errorf("sqs delete message: %w", err)
	}
	return nil
}

// ChangeVisibility makes the message received with receiptHandle visible again d from now
// (rounded up to whole seconds, at most queue.MaxDelay); zero makes it visible at once.
// SQS fails it when the message is no longer in flight or was deleted.
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) error {
	_, err := q.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(q.url),
		ReceiptHandle:     aws.String(receiptHandle),
		VisibilityTimeout: seconds(d, queue.MaxDelay),
	})
	if err != nil {
		return fmt.Errorf("sqs change message visibility: %w", err)
	}
	return nil
}

// seconds converts d into the whole seconds SQS takes: rounded up, so that nothing happens
// earlier than asked, and capped at limit; zero or less is zero.
func seconds(d, limit time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	d = min(d, limit)
	return int32((d + time.Second - 1) / time.Second)
}

// CreateQueues creates the work queue name and its dead-letter queue name+"-dlq", and
// returns their URLs. The work queue's default visibility timeout is visibility (whole
// seconds, rounded up) and its RedrivePolicy moves a message to the dead-letter queue once
// it was received maxReceiveCount times (1..1000) without being deleted, which is what
// keeps a poison message or a task the worker cannot advance from circling forever. The
// dead-letter queue keeps messages for the maximum of 14 days so that they can be
// inspected. Tests and local tooling use it; the deployed queues come from the template.
// Like CreateQueue it is idempotent for the same arguments.
func CreateQueues(ctx context.Context, api AdminAPI, name string, maxReceiveCount int, visibility time.Duration) (queueURL, dlqURL string, err error) {
	return createQueues(ctx, api, name, maxReceiveCount, visibility, 0, 0)
}

// CreateDeployedQueues creates the queues CreateQueues does with the deployed settings
// (MaxReceiveCount, WorkVisibility, WorkRetention, DeadLetterVisibility, DeadLetterRetention), as
// template.yaml declares them: for local tooling and tests that run the real functions.
func CreateDeployedQueues(ctx context.Context, api AdminAPI, name string) (queueURL, dlqURL string, err error) {
	return createQueues(ctx, api, name, MaxReceiveCount, WorkVisibility, DeadLetterVisibility, WorkRetention)
}

// createQueues is CreateQueues with the dead-letter queue's visibility timeout and the work
// queue's retention (zero: SQS's defaults).
func createQueues(ctx context.Context, api AdminAPI, name string, maxReceiveCount int, visibility, dlqVisibility, retention time.Duration) (queueURL, dlqURL string, err error) {
	if maxReceiveCount < 1 || maxReceiveCount > 1000 {
		return "", "", fmt.Errorf("create queues %s: maxReceiveCount %d not in 1..1000", name, maxReceiveCount)
	}
	dlqAttrs := map[string]string{
		string(types.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(int(DeadLetterRetention / time.Second)),
	}
	if v := seconds(dlqVisibility, MaxVisibility); v > 0 {
		dlqAttrs[string(types.QueueAttributeNameVisibilityTimeout)] = strconv.Itoa(int(v))
	}
	dlq, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name + DeadLetterSuffix),
		Attributes: dlqAttrs,
	})
	if err != nil {
		return "", "", fmt.Errorf("create dead-letter queue %s: %w", name+DeadLetterSuffix, err)
	}
	dlqURL = aws.ToString(dlq.QueueUrl)
	dlqARN, err := QueueARN(ctx, api, dlqURL)
	if err != nil {
		return "", "", err
	}
	policy, err := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}{dlqARN, maxReceiveCount})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: redrive policy: %w", name, err)
	}
	attrs := map[string]string{string(types.QueueAttributeNameRedrivePolicy): string(policy)}
	if v := seconds(visibility, MaxVisibility); v > 0 {
		attrs[string(types.QueueAttributeNameVisibilityTimeout)] = strconv.Itoa(int(v))
	}
	if retention > 0 {
		attrs[string(types.QueueAttributeNameMessageRetentionPeriod)] = strconv.Itoa(int(retention / time.Second))
	}
	work, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(work.QueueUrl), dlqURL, nil
}

// QueueARN looks up the ARN of the queue at queueURL: a redrive policy names its
// dead-letter queue by ARN, and an SQS event record carries its queue's ARN.
func QueueARN(ctx context.Context, api AdminAPI, queueURL string) (string, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("get queue arn %s: %w", queueURL, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", errors.New("get queue arn " + queueURL + ": no QueueArn in the response")
	}
	return arn, nil
}

// SendBody sends body as is (see queue.BodySender), visible after delay (rounded up to whole
// seconds, at most queue.MaxDelay).
func (q *Queue) SendBody(ctx context.Context, body string, delay time.Duration) error {
	d := seconds(delay, queue.MaxDelay)
	due := time.Now().Add(time.Duration(d) * time.Second)
	_, err := q.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(q.url),
		MessageBody:  aws.String(body),
		DelaySeconds: d,
		MessageAttributes: map[string]types.MessageAttributeValue{
			queue.DueAttribute: {DataType: aws.String("Number"), StringValue: aws.String(queue.FormatDue(due))},
		},
	})
	if err != nil {
		return fmt.Errorf("sqs send message: %w", err)
	}
	return nil
}
