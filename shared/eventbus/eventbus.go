// Package eventbus is the deployed event.Sink: lifecycle events put on an Amazon EventBridge
// bus with source "tasklane" and detail-type "Task Status Change", the CloudEvent as the
// detail, so that rules route them anywhere (see the contract's "Events and webhooks").
//
// PutEvents takes at most 10 entries and 256 KB a call, and may accept some entries of a call
// and refuse others (FailedEntryCount, an ErrorCode per entry: throttling, an internal
// failure). So Publish cuts the events into calls within both limits, in order, and puts the
// refused entries again, up to Tries calls in all with a short backoff; what is still refused
// is returned as an *event.PartialError naming those events, for the caller (the stream's
// publisher) to have delivered again.
package eventbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/strictjson"
)

// API is the part of *eventbridge.Client the sink calls: events:PutEvents, the only action
// the publisher's role is granted.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// The entries' fixed fields, which rules match on.
const (
	Source     = event.Source
	DetailType = "Task Status Change"
)

// PutEvents' limits.
const (
	MaxEntries = 10
	MaxBytes   = 256 * 1024
)

// Tries is how many PutEvents calls one entry gets before Publish reports it undelivered;
// Backoff is the pause before the second, doubled before each next.
const (
	Tries   = 3
	Backoff = 50 * time.Millisecond
)

// Sink puts events on one bus.
type Sink struct {
	api     API
	bus     string
	backoff time.Duration
}

var _ event.Sink = (*Sink)(nil)

// New returns a sink putting events on bus (a name or ARN; "default" is the account's default
// bus) through api.
func New(api API, bus string) *Sink { return &Sink{api: api, bus: bus, backoff: Backoff} }

// entry is one event as a PutEvents entry, with its index among Publish's events.
type entry struct {
	i    int
	e    types.PutEventsRequestEntry
	size int
}

// Size is an entry's size as EventBridge counts it against MaxBytes: source, detail-type and
// detail in UTF-8 bytes (there are no resources, and the time is left to EventBridge).
func Size(e types.PutEventsRequestEntry) int {
	return len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
}

// Publish implements event.Sink (see the package comment).
func (s *Sink) Publish(ctx context.Context, evs []event.Event) error {
	var pending []entry
	var tooBig []int
	for i, ev := range evs {
		detail, err := strictjson.Marshal(ev) // no HTML escaping: see strictjson.Marshal
		if err != nil {
			return fmt.Errorf("eventbus: encode event %s: %w", ev.ID, err)
		}
		e := types.PutEventsRequestEntry{
			Source: aws.String(Source), DetailType: aws.String(DetailType),
			Detail: aws.String(string(detail)), EventBusName: aws.String(s.bus),
		}
		if Size(e) > MaxBytes {
			tooBig = append(tooBig, i)
			continue
		}
		pending = append(pending, entry{i: i, e: e, size: Size(e)})
	}
	var lastErr error
	delay := s.backoff
	for try := 0; try < Tries && len(pending) > 0; try++ {
		if try > 0 {
			if err := sleep(ctx, delay); err != nil {
				lastErr = err
				break
			}
			delay *= 2
		}
		var refused []entry
		for _, b := range batches(pending) {
			failed, err := s.put(ctx, b)
			if err != nil {
				lastErr = err
			}
			refused = append(refused, failed...)
		}
		pending = refused
	}
	failed := append([]int(nil), tooBig...)
	for _, e := range pending {
		failed = append(failed, e.i)
	}
	if len(failed) == 0 {
		return nil
	}
	slices.Sort(failed)
	if len(tooBig) > 0 && lastErr == nil {
		lastErr = fmt.Errorf("eventbus: %d events exceed PutEvents' %d bytes", len(tooBig), MaxBytes)
	}
	if lastErr == nil {
		lastErr = errors.New("eventbus: entries refused")
	}
	if len(failed) == len(evs) {
		return fmt.Errorf("eventbus: no event delivered after %d tries: %w", Tries, lastErr)
	}
	return &event.PartialError{Failed: failed, Err: lastErr}
}

// put makes one PutEvents call of b and returns the entries it refused (all of them when the
// call itself failed) and why.
func (s *Sink) put(ctx context.Context, b []entry) ([]entry, error) {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(b))}
	for i, e := range b {
		in.Entries[i] = e.e
	}
	out, err := s.api.PutEvents(ctx, in)
	if err != nil {
		return b, fmt.Errorf("eventbus: PutEvents: %w", err)
	}
	if out.FailedEntryCount == 0 {
		return nil, nil
	}
	if len(out.Entries) != len(b) {
		return b, fmt.Errorf("eventbus: PutEvents answered %d entries for %d", len(out.Entries), len(b))
	}
	var refused []entry
	var why error
	for i, r := range out.Entries {
		if r.ErrorCode != nil {
			refused = append(refused, b[i])
			why = fmt.Errorf("eventbus: PutEvents refused an entry: %s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		}
	}
	return refused, why
}

// batches cuts es, in order, into calls of at most MaxEntries entries and MaxBytes.
func batches(es []entry) [][]entry {
	var out [][]entry
	var cur []entry
	size := 0
	for _, e := range es {
		if len(cur) == MaxEntries || (len(cur) > 0 && size+e.size > MaxBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, e)
		size += e.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
