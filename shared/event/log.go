package event

import (
	"context"
	"log/slog"
)

// LogSink writes each event to a log, one line each: the local runner's view of the events
// (`make run`), beside the webhooks.
type LogSink struct{ Log *slog.Logger }

// Publish implements Sink; it never fails.
func (s LogSink) Publish(ctx context.Context, evs []Event) error {
	for _, e := range evs {
		s.Log.InfoContext(ctx, "event", "type", e.Type, "task", e.Subject, "tenant", e.Tenant, "id", e.ID, "time", e.Time)
	}
	return nil
}
