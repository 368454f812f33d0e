package main

import (
	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/event"
)

// webhookSinks are the local event sinks of the webhooks: the webhook sink, which enqueues
// each event of a task with a callbackUrl on the runner's webhook queue, whose poller
// delivers it (localrun.RunWorkers). Deployed the same messages come from a rule on the bus
// (webhook.RulePattern).
func webhookSinks(deps *app.App) []event.Sink {
	if s := deps.WebhookSink(); s != nil {
		return []event.Sink{s}
	}
	return nil
}
