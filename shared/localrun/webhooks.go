package localrun

import (
	"context"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/task"
)

// WebhookConcurrency is how many pollers feed the webhook deliverer locally, each with up to
// 10 deliveries at once: a receiver that hangs holds one batch for the attempt's timeout,
// not the others.
const WebhookConcurrency = 4

// EventHook publishes each stored change's events (event.Of) to sink after the change is
// stored: how the local runner hands its events to the webhook sink (App.WebhookSink) until
// the stored changes' events reach the local sinks from the embedded store's outbox (branch
// events). Unlike that, a hook is not durable: a process killed between a write and its
// hook loses that change's webhooks (see task.Hook).
func EventHook(sink event.Sink) task.Hook {
	return task.HookFunc(func(ctx context.Context, s task.Stored) error {
		evs := event.Of(s.Before, s.After)
		if len(evs) == 0 {
			return nil
		}
		return sink.Publish(ctx, evs)
	})
}
