package eventbus_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/eventbus"
	"github.com/tasklane/tasklane/shared/eventbustest"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// bundle is one test's bus, its bound queue, and a sink on it through a fault wrapper.
type bundle struct {
	bus   *eventbustest.Bus
	fault *fault.EventBus
	sink  *eventbus.Sink
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{bus: eventbustest.New(t)}
	b.fault = fault.NewEventBus(b.bus.API)
	b.sink = eventbus.New(b.fault, b.bus.Name)
	return b
}

// someEvents are the created events of n fresh tasks.
func someEvents(t *testing.T, n int) []event.Event {
	var out []event.Event
	for i := range n {
		tk := tasktest.New(t, "acme", tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Millisecond))
		out = append(out, event.Of(nil, tk)...)
	}
	return out
}

func ids(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Subject + " " + e.Type
	}
	return out
}

func TestPublishReachesARule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	evs := someEvents(t, 23) // three calls of at most 10
	if err := b.sink.Publish(t.Context(), evs); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	got := b.bus.Receive(t, len(evs), 10*time.Second)
	if diff := cmp.Diff(ids(evs), eventbustest.Types(got)); diff != "" {
		t.Errorf("events on the queue (-published +received):\n%s", diff)
	}
	if len(got) > 0 {
		if got[0].Source != "tasklane" || got[0].DetailType != "Task Status Change" {
			t.Errorf("envelope source %q detail-type %q", got[0].Source, got[0].DetailType)
		}
		if diff := cmp.Diff(evs[0], got[0].Detail, eventbustest.JSONData); diff != "" {
			t.Errorf("detail (-published +received):\n%s", diff)
		}
	}
	if c := b.fault.Calls(); c.Calls != 3 || c.Entries != 23 {
		t.Errorf("calls = %+v, want 3 calls of 23 entries", c)
	}
}

func TestRefusedEntriesAreRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	evs := someEvents(t, 5)
	b.fault.RefuseEntries(2) // the first two of the first call
	if err := b.sink.Publish(t.Context(), evs); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	got := b.bus.Receive(t, len(evs), 10*time.Second)
	want := append(ids(evs[2:]), ids(evs[:2])...) // the retried two come second
	if diff := cmp.Diff(want, eventbustest.Types(got)); diff != "" {
		t.Errorf("events on the queue (-want +got):\n%s", diff)
	}
	if c := b.fault.Calls(); c.Calls != 2 || c.Refused != 2 {
		t.Errorf("calls = %+v, want 2 calls, 2 entries refused", c)
	}
}

func TestEntriesRefusedEveryTryAreReported(t *testing.T) {
	t.Parallel()
	b := setup(t)
	evs := someEvents(t, 4)
	// Every try but the last refuses all four; the last refuses the first only.
	b.fault.RefuseEntries(4*(eventbus.Tries-1) + 1)
	err := b.sink.Publish(t.Context(), evs)
	var pe *event.PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("Publish = %v, want a *event.PartialError (calls %+v)", err, b.fault.Calls())
	}
	if diff := cmp.Diff([]int{0}, pe.Failed); diff != "" {
		t.Errorf("Failed (-want +got):\n%s", diff)
	}
	got := b.bus.Receive(t, 3, 10*time.Second)
	if diff := cmp.Diff(ids(evs[1:]), eventbustest.Types(got)); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

func TestFailedCallsAreRetriedThenReported(t *testing.T) {
	t.Parallel()
	b := setup(t)
	evs := someEvents(t, 2)
	b.fault.FailCalls(1)
	if err := b.sink.Publish(t.Context(), evs); err != nil {
		t.Fatalf("Publish after one failed call: %v", err)
	}
	b.fault.FailCalls(eventbus.Tries)
	err := b.sink.Publish(t.Context(), evs)
	var pe *event.PartialError
	if err == nil || errors.As(err, &pe) || !errors.Is(err, fault.ErrInjected) {
		t.Errorf("Publish with every call failing = %v, want the injected error, not a partial one", err)
	}
}

func TestBatchesKeepToTheSizeLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var evs []event.Event
	for i := range 4 {
		tk := tasktest.New(t, "acme", tasktest.TypeAlpha, tasktest.Base)
		tk.Message = strings.Repeat("x", 100*1024) // three of them exceed one call's 256 KB
		tk.Name = fmt.Sprint("big ", i)
		evs = append(evs, event.Of(nil, tk)...)
	}
	if err := b.sink.Publish(t.Context(), evs); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if c := b.fault.Calls(); c.Calls != 2 {
		t.Errorf("calls = %+v, want 2 (two events of 100 KB each)", c)
	}
	tooBig := tasktest.New(t, "acme", tasktest.TypeAlpha, tasktest.Base)
	tooBig.Message = strings.Repeat("x", 300*1024)
	err := b.sink.Publish(t.Context(), append(event.Of(nil, tooBig), evs[0]))
	var pe *event.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{0}) {
		t.Errorf("Publish of an event over 256 KB = %v, want a partial error naming it", err)
	}
}
