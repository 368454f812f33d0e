package eventbus

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// BindExistingQueue is BindQueue for a queue that exists (the webhook queue, the intake queue),
// with the target's input transformer, which shapes each event into the queue's own message
// (nil: the whole event). It is what template.yaml's rules declare, for `make run-aws` and
// tests.
func BindExistingQueue(ctx context.Context, eb AdminAPI, q QueueAPI, bus, rule, pattern, queueURL string, transformer *types.InputTransformer) error {
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("eventbus: queue %s: %w", queueURL, err)
	}
	arn := attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	out, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(pattern), State: types.RuleStateEnabled,
	})
	if err != nil {
		return fmt.Errorf("eventbus: rule %s on %s: %w", rule, bus, err)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":%q,"Condition":{"ArnEquals":{"aws:SourceArn":%q}}}]}`,
		arn, aws.ToString(out.RuleArn))
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(queueURL), Attributes: map[string]string{"Policy": policy}}); err != nil {
		return fmt.Errorf("eventbus: queue %s policy: %w", queueURL, err)
	}
	targets, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(rule), EventBusName: aws.String(bus),
		Targets: []types.Target{{Id: aws.String("queue"), Arn: aws.String(arn), InputTransformer: transformer}},
	})
	if err != nil {
		return fmt.Errorf("eventbus: target of rule %s: %w", rule, err)
	}
	if targets.FailedEntryCount > 0 {
		return fmt.Errorf("eventbus: target of rule %s refused: %s", rule, aws.ToString(targets.FailedEntries[0].ErrorMessage))
	}
	return nil
}
