package eventbus

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// AdminAPI is what CreateBus and BindQueue call on EventBridge: administration, which the
// publisher's role is not granted (the template creates the bus deployed).
type AdminAPI interface {
	CreateEventBus(ctx context.Context, in *eventbridge.CreateEventBusInput, optFns ...func(*eventbridge.Options)) (*eventbridge.CreateEventBusOutput, error)
	PutRule(ctx context.Context, in *eventbridge.PutRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutRuleOutput, error)
	PutTargets(ctx context.Context, in *eventbridge.PutTargetsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error)
}

// QueueAPI is what BindQueue calls on SQS.
type QueueAPI interface {
	CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, optFns ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	SetQueueAttributes(ctx context.Context, in *sqs.SetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.SetQueueAttributesOutput, error)
}

// RulePattern matches every lifecycle event Tasklane puts on a bus.
const RulePattern = `{"source": ["` + Source + `"], "detail-type": ["` + DetailType + `"]}`

// CreateBus creates bus (for `make run-aws` and tests; the template declares it deployed). A
// bus that exists already is accepted; "default" always exists.
func CreateBus(ctx context.Context, api AdminAPI, bus string) error {
	if bus == "default" {
		return nil
	}
	_, err := api.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
	var exists *types.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("eventbus: create bus %s: %w", bus, err)
	}
	return nil
}

// BindQueue creates SQS queue name and a rule on bus sending it every event that matches
// pattern (RulePattern: all of Tasklane's), as a consumer of the events would, and returns
// the queue's URL. The queue's policy lets EventBridge send to it, which AWS requires.
func BindQueue(ctx context.Context, eb AdminAPI, q QueueAPI, bus, name, pattern string) (string, error) {
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("eventbus: create queue %s: %w", name, err)
	}
	url := aws.ToString(created.QueueUrl)
	if err := BindExistingQueue(ctx, eb, q, bus, name, pattern, url, nil); err != nil {
		return "", err
	}
	return url, nil
}
