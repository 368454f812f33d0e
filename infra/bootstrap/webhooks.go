package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
)

// bodyQueueVisibility is the webhook and intake queues' visibility timeout in template.yaml:
// six times their functions' Timeout (30 s).
const bodyQueueVisibility = 180 * time.Second

// bodyQueues creates the webhook queue and the intake queue, each with its dead-letter queue
// (<name>-dlq, five receives as in the template), and returns their exports.
func bodyQueues(ctx context.Context, api *sqs.Client, webhooks, intake string) (string, error) {
	hooks, hooksDLQ, err := sqsqueue.CreateQueues(ctx, api, webhooks, sqsqueue.MaxReceiveCount, bodyQueueVisibility)
	if err != nil {
		return "", fmt.Errorf("create queues %s: %w", webhooks, err)
	}
	in, inDLQ, err := sqsqueue.CreateQueues(ctx, api, intake, sqsqueue.MaxReceiveCount, bodyQueueVisibility)
	if err != nil {
		return "", fmt.Errorf("create queues %s: %w", intake, err)
	}
	return fmt.Sprintf("export %s=%s\nexport %s=%s\nexport %s=%s\nexport %s=%s\n",
		settings.EnvWebhookQueueURL, hooks, settings.EnvWebhookDeadLetterURL, hooksDLQ,
		settings.EnvIntakeQueueURL, in, settings.EnvIntakeDeadLetterURL, inDLQ), nil
}
