package webhook

import "github.com/tasklane/tasklane/shared/event"

// Deployed, the webhook queue is fed by a rule on the events' bus rather than by the
// publisher itself: the publisher (shared/publisher) puts every event on EventBridge, and
// this rule sends those whose task has a callbackUrl to the webhook queue, shaped by its
// input transformer into a Message. EventBridge retries a failed delivery to the queue for
// up to 24 hours, and the publisher needs no second sink that could fail apart from the
// bus. Sink does the same job in process (the local runner). template.yaml's WebhookRule
// is held to these constants by the drift test; infra/bootstrap binds them for make run-aws.
const (
	// RulePattern matches Tasklane's events whose data (the task) has a callbackUrl.
	RulePattern = `{"source": ["` + event.Source + `"], "detail-type": ["Task Status Change"], "detail": {"data": {"callbackUrl": [{"exists": true}]}}}`
	// InputTemplate makes the Message of an event: the detail is the CloudEvent.
	InputTemplate = `{"url": "<url>", "id": "<id>", "event": <event>}`
)

// InputPathsMap are InputTemplate's variables.
var InputPathsMap = map[string]string{
	"url":   "$.detail.data.callbackUrl",
	"id":    "$.detail.id",
	"event": "$.detail",
}
