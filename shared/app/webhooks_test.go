package app

import (
	"testing"

	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/webhook"
)

// TestWebhookSecret: WEBHOOK_SECRET is the signing key; a bad one fails start-up; a local
// process with a webhook queue and none draws one; without a webhook queue there is no sink.
func TestWebhookSecret(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	a, err := New(settings.Settings{Webhooks: settings.Webhooks{Secret: secret}}, Backends{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.WebhookSecret.String() != secret || a.WebhookSink() != nil {
		t.Errorf("secret %s, sink %v", a.WebhookSecret, a.WebhookSink())
	}
	if _, err := New(settings.Settings{Webhooks: settings.Webhooks{Secret: "whsec_short"}}, Backends{}, nil, nil); err == nil {
		t.Error("a short secret was accepted")
	}
	q := memqueue.New(memqueue.Options{})
	a, err = New(settings.Settings{}, Backends{Webhooks: q}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.WebhookSecret.Valid() || a.WebhookSink() == nil {
		t.Errorf("local process with a webhook queue: secret valid %t, sink %v", a.WebhookSecret.Valid(), a.WebhookSink())
	}
	if _, err := webhook.ParseSecret(a.WebhookSecret.String()); err != nil {
		t.Errorf("the generated secret does not parse: %v", err)
	}
}
