package settings

import (
	"strings"
	"testing"
	"time"
)

// TestWebhookAndIntakeSettings: the variables are read, and in Lambda the webhook function
// needs its secret and queue, the intake function its dead-letter queue.
func TestWebhookAndIntakeSettings(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-webhook")
	t.Setenv(EnvTableName, "tasks")
	t.Setenv(EnvWebhookSecret, "")
	t.Setenv(EnvWebhookQueueURL, "")
	t.Setenv(EnvWebhookTimeout, "3s")
	t.Setenv(EnvIntakeDeadLetterURL, "")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.Webhooks.Timeout != 3*time.Second || c.Local {
		t.Errorf("settings %+v", c)
	}
	if err := c.Check(Uses{Webhooks: true}); err == nil || !strings.Contains(err.Error(), EnvWebhookSecret) {
		t.Errorf("webhook function without a secret: %v", err)
	}
	if err := c.Check(Uses{Intake: true}); err == nil || !strings.Contains(err.Error(), EnvIntakeDeadLetterURL) {
		t.Errorf("intake function without its dead-letter queue: %v", err)
	}
	t.Setenv(EnvWebhookSecret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv(EnvWebhookQueueURL, "https://sqs.example/q")
	t.Setenv(EnvIntakeDeadLetterURL, "https://sqs.example/dlq")
	if c, err = FromEnv(); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(Uses{Webhooks: true, Intake: true}); err != nil {
		t.Error(err)
	}
	t.Setenv(EnvWebhookTimeout, "soon")
	if _, err := FromEnv(); err == nil {
		t.Error("WEBHOOK_TIMEOUT=soon accepted")
	}
}
