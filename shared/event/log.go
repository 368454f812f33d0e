package event

import (
	"context"
	"errors"
	"fmt"
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

// Sinks publishes to each sink in turn: the local runner's log and webhooks behind one
// publisher. An error of any (a partial one included) is returned as a plain error, so the
// caller delivers the whole batch again; the sinks that took it get it twice, with the same
// ids.
type Sinks []Sink

// Publish implements Sink.
func (ss Sinks) Publish(ctx context.Context, evs []Event) error {
	var errs []error
	for _, s := range ss {
		if err := s.Publish(ctx, evs); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("event: %w", errors.Join(errs...))
	}
	return nil
}
