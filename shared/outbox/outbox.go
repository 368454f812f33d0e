// Package outbox publishes the embedded store's outbox (shared/filestore's outbox.go) to the
// local sinks: the log and the webhooks. The events were written in the transaction of the
// change that made them, so they survive a process killed right after its commit; the relay
// publishes them on the next start. An entry leaves the outbox only once every sink took its
// events; a sink that fails gets the entry again on the next round, and so may the sinks
// that had taken it (at least once, with the same event ids, as deployed).
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/task"
)

// Source is the outbox: *filestore.Store.
type Source interface {
	Pending(ctx context.Context, limit int) ([]filestore.OutboxEntry, error)
	Done(ctx context.Context, seqs []uint64) error
}

// DefaultEvery is the relay's pause between rounds when nothing wakes it; Batch the entries
// one round reads.
const (
	DefaultEvery = time.Second
	Batch        = 100
)

// Relay moves the outbox's events to its sinks.
type Relay struct {
	src   Source
	sinks []event.Sink
	// Every is the pause between rounds; default DefaultEvery.
	Every time.Duration
	// Log receives failed rounds; default slog.Default().
	Log  *slog.Logger
	wake chan struct{}
}

// New returns a relay from src to sinks.
func New(src Source, sinks ...event.Sink) *Relay {
	return &Relay{src: src, sinks: sinks, wake: make(chan struct{}, 1)}
}

// Hook wakes the relay after each stored change, so that its events go out at once rather
// than at the next round; the events themselves come from the outbox, never from the hook
// (see task.Hook for why).
func (r *Relay) Hook() task.Hook {
	return task.HookFunc(func(context.Context, task.Stored) error {
		select {
		case r.wake <- struct{}{}:
		default:
		}
		return nil
	})
}

// Run relays until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	every := r.Every
	if every <= 0 {
		every = DefaultEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Drain(ctx); err != nil && ctx.Err() == nil {
			r.log().ErrorContext(ctx, "outbox: events not published; retried on the next round", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-t.C:
		}
	}
}

// Drain publishes the outbox until it is empty or a sink fails, and returns how many events
// it published.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		entries, err := r.src.Pending(ctx, Batch)
		if err != nil || len(entries) == 0 {
			return total, err
		}
		var evs []event.Event
		seqs := make([]uint64, len(entries))
		for i, e := range entries {
			evs = append(evs, e.Events...)
			seqs[i] = e.Seq
		}
		for _, s := range r.sinks {
			if err := s.Publish(ctx, evs); err != nil {
				return total, fmt.Errorf("outbox: publish %d events: %w", len(evs), err)
			}
		}
		if err := r.src.Done(ctx, seqs); err != nil {
			return total, err
		}
		total += len(evs)
	}
}

func (r *Relay) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}
