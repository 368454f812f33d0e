package fault

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tasklane/tasklane/shared/eventbus"
)

// EventBus wraps the EventBridge API of shared/eventbus and makes PutEvents fail on demand,
// as EventBridge does: a whole call refused (FailCalls: throttled, unreachable), or some
// entries of a call refused while the others are put (RefuseEntries: the per-entry
// ErrorCode of a call that succeeded with FailedEntryCount > 0).
type EventBus struct {
	inner eventbus.API

	calls, entries counter

	mu    sync.Mutex
	stats EventBusCalls
}

// EventBusCalls counts what an EventBus saw.
type EventBusCalls struct {
	// Calls is the PutEvents calls, Failed those that failed whole.
	Calls, Failed int
	// Entries is the entries given, Refused those answered with an error code.
	Entries, Refused int
}

var _ eventbus.API = (*EventBus)(nil)

// NewEventBus wraps inner; with no fault set the wrapper is transparent.
func NewEventBus(inner eventbus.API) *EventBus { return &EventBus{inner: inner} }

// FailCalls makes the next n PutEvents calls fail with ErrInjected, putting nothing.
func (b *EventBus) FailCalls(n int) { b.calls.set(n) }

// RefuseEntries makes the next n entries (counted across calls, in order) come back with
// ErrorCode "InternalFailure" without being put; the other entries of their calls are put.
func (b *EventBus) RefuseEntries(n int) { b.entries.set(n) }

// Calls returns the counts so far.
func (b *EventBus) Calls() EventBusCalls {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// PutEvents implements eventbus.API.
func (b *EventBus) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	b.mu.Lock()
	b.stats.Calls++
	b.stats.Entries += len(in.Entries)
	b.mu.Unlock()
	if b.calls.take() {
		b.mu.Lock()
		b.stats.Failed++
		b.mu.Unlock()
		return nil, ErrInjected
	}
	refused := make([]bool, len(in.Entries))
	pass := &eventbridge.PutEventsInput{EndpointId: in.EndpointId}
	for i, e := range in.Entries {
		if b.entries.take() {
			refused[i] = true
			continue
		}
		pass.Entries = append(pass.Entries, e)
	}
	var inner *eventbridge.PutEventsOutput
	if len(pass.Entries) > 0 {
		var err error
		if inner, err = b.inner.PutEvents(ctx, pass, optFns...); err != nil {
			return nil, err
		}
	}
	out := &eventbridge.PutEventsOutput{Entries: make([]types.PutEventsResultEntry, len(in.Entries))}
	j := 0
	for i := range in.Entries {
		if refused[i] {
			out.Entries[i] = types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String(ErrInjected.Error())}
			out.FailedEntryCount++
			continue
		}
		out.Entries[i] = inner.Entries[j]
		if inner.Entries[j].ErrorCode != nil {
			out.FailedEntryCount++
		}
		j++
	}
	b.mu.Lock()
	b.stats.Refused += int(out.FailedEntryCount)
	b.mu.Unlock()
	return out, nil
}
