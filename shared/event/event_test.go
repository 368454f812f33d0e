package event_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// step is one stored change of a walk: what the transition made, and the events it must make.
type step struct {
	name string
	do   func(task.Task) (task.Change, error)
	want []string
}

// walk applies steps in turn to a fresh task and checks each change's event types.
func walk(t *testing.T, steps []step) {
	t.Helper()
	tk := tasktest.New(t, "acme", tasktest.TypeBeta, tasktest.Base)
	if got := event.Types(nil, tk); !cmp.Equal(got, []string{event.Created}) {
		t.Fatalf("create: types %v, want [%s]", got, event.Created)
	}
	for _, s := range steps {
		c := tasktest.Transition(t, tk, s.do)
		before := tk
		tk = c.Task
		got := event.Types(&before, tk)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: event types (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(got, event.ChangeTypes(c)); diff != "" {
			t.Errorf("%s: ChangeTypes differs from Types (-Types +ChangeTypes):\n%s", s.name, diff)
		}
	}
}

func at(d time.Duration) time.Time { return tasktest.At(d) }

func claim(x task.Task) (task.Change, error) { return x.Claim(at(time.Second)) }
func start(x task.Task) (task.Change, error) {
	c, _, err := x.StartAttempt(at(2 * time.Second))
	return c, err
}
func finish(i int) func(task.Task) (task.Change, error) {
	return func(x task.Task) (task.Change, error) { return x.FinishSubTask(i, at(3*time.Second)) }
}
func cancel(x task.Task) (task.Change, error) { return x.Cancel(at(4 * time.Second)) }

var boom = task.Error{ErrorCode: "BOOM", Message: "boom", Causes: []string{}}

func TestEveryStatusChangeMakesItsEvent(t *testing.T) {
	t.Parallel()
	walk(t, []step{
		{"claim", claim, []string{event.Processing}},
		{"start", start, nil},
		{"finish", finish(0), nil},
		{"start", start, nil},
		{"retry attempt", func(x task.Task) (task.Change, error) { return x.RetryAttempt(1, boom, at(5*time.Second)) }, nil},
		{"start", start, nil},
		{"fail", func(x task.Task) (task.Change, error) { return x.Fail(boom, at(6*time.Second)) }, []string{event.Failed}},
		{"retry", func(x task.Task) (task.Change, error) { return x.Retry(at(7*time.Second), true) }, []string{event.Retried}},
		{"claim and start", func(x task.Task) (task.Change, error) {
			c, _, err := x.ClaimAndStart(at(8 * time.Second))
			return c, err
		}, []string{event.Processing}},
		{"finish and succeed", func(x task.Task) (task.Change, error) {
			return x.FinishAndSucceed(1, json.RawMessage(`{}`), "", at(9*time.Second))
		}, []string{event.Succeeded}},
	})
}

func TestCancelEvents(t *testing.T) {
	t.Parallel()
	t.Run("pending", func(t *testing.T) {
		t.Parallel()
		walk(t, []step{{"cancel", cancel, []string{event.Cancelled}}})
	})
	t.Run("running", func(t *testing.T) {
		t.Parallel()
		walk(t, []step{
			{"claim", claim, []string{event.Processing}},
			{"start", start, nil},
			{"cancel", cancel, []string{event.CancelRequested}},
			{"cancel again", cancel, nil},
			{"finish and confirm", func(x task.Task) (task.Change, error) { return x.FinishAndConfirmCancel(0, at(5*time.Second)) }, []string{event.Cancelled}},
		})
	})
	t.Run("between attempts", func(t *testing.T) {
		t.Parallel()
		walk(t, []step{
			{"claim", claim, []string{event.Processing}},
			{"cancel", cancel, []string{event.Cancelled}},
		})
	})
}

func TestEventDocument(t *testing.T) {
	t.Parallel()
	tk := tasktest.New(t, "acme", tasktest.TypeAlpha, tasktest.Base)
	evs := event.Of(nil, tk)
	if len(evs) != 1 {
		t.Fatalf("Of(create) = %d events, want 1", len(evs))
	}
	e := evs[0]
	want := event.Event{
		SpecVersion: "1.0", ID: e.ID, Source: "tasklane", Type: "tasklane.task.created",
		Subject: tk.ID, Time: "2026-11-22T08:30:00.000Z", Tenant: "acme",
		DataContentType: "application/json", Data: e.Data,
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(e.ID) {
		t.Errorf("id %q is not a version 8 UUID", e.ID)
	}
	var data map[string]any
	if err := json.Unmarshal(e.Data, &data); err != nil {
		t.Fatalf("data: %v", err)
	}
	if data["id"] != tk.ID || data["status"] != "pending" || data["self"] != "/v1/tasks/"+tk.ID {
		t.Errorf("data = %v, want the task as listed", data)
	}
	if _, ok := data["input"]; ok {
		t.Errorf("data has input; a listed task has none")
	}
	if _, ok := data["writeId"]; ok {
		t.Errorf("data has the internal writeId")
	}
}

func TestIDsAreStablePerChange(t *testing.T) {
	t.Parallel()
	tk := tasktest.New(t, "acme", tasktest.TypeAlpha, tasktest.Base)
	a, b := event.Of(nil, tk), event.Of(nil, tk.Clone())
	if a[0].ID != b[0].ID {
		t.Errorf("same change, ids %s and %s", a[0].ID, b[0].ID)
	}
	ids := map[string]bool{
		event.ID(tk.ID, 1, event.Created):    true,
		event.ID(tk.ID, 2, event.Created):    true,
		event.ID(tk.ID, 1, event.Processing): true,
		event.ID("other", 1, event.Created):  true,
	}
	if len(ids) != 4 {
		t.Errorf("ids of different (task, version, type) collide: %v", ids)
	}
}

// TestCallbackStartedEvent: a callback step's start is its own event, whose data adds the
// callback; a heartbeat of the same attempt makes none; CallbackURLs seals the callback's URL
// on the way out and leaves the other events as they are.
func TestCallbackStartedEvent(t *testing.T) {
	t.Parallel()
	walk(t, []step{
		{name: "claim", do: claim, want: []string{event.Processing}},
		{name: "start", do: start, want: nil},
		{name: "callback", do: func(x task.Task) (task.Change, error) {
			return x.StartCallback(0, time.Hour, 24*time.Hour, at(3*time.Second))
		}, want: []string{event.CallbackStarted}},
		{name: "heartbeat", do: func(x task.Task) (task.Change, error) {
			ref, _ := x.RunningCallback()
			return x.Heartbeat(ref, nil, "still going", at(4*time.Second))
		}, want: nil},
	})

	tk := tasktest.New(t, "acme", tasktest.TypeBeta, tasktest.Base)
	before := tk
	c, _, err := tk.StartCallbackStep(time.Hour, 24*time.Hour, at(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	evs := event.Of(&before, c.Task)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if want := []string{event.Processing, event.CallbackStarted}; !cmp.Equal(types, want) {
		t.Fatalf("a service step's start: types %v, want %v", types, want)
	}
	var sealed []event.Event
	sink := event.CallbackURLs{
		Sink: sinkFunc(func(evs []event.Event) { sealed = evs }),
		URL: func(id string, ref task.CallbackRef) string {
			return "/v1/callbacks/" + id + "." + strconv.Itoa(ref.Index) + "." + strconv.Itoa(ref.Attempt) + "." + strconv.Itoa(ref.Run)
		},
	}
	if err := sink.Publish(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	var data struct {
		ID       string         `json:"id"`
		Callback event.Callback `json:"callback"`
	}
	if err := json.Unmarshal(sealed[1].Data, &data); err != nil {
		t.Fatal(err)
	}
	want := event.Callback{SubTask: c.Task.SubTasks[0].Name, Index: 0, Attempt: 1, Run: 0, URL: "/v1/callbacks/" + tk.ID + ".0.1.0"}
	if data.ID != tk.ID || data.Callback != want {
		t.Errorf("callbackStarted data: id %q callback %+v, want %q %+v", data.ID, data.Callback, tk.ID, want)
	}
	if string(sealed[0].Data) != string(evs[0].Data) || strings.Contains(string(evs[1].Data), `"url"`) {
		t.Errorf("CallbackURLs changed another event or the caller's events")
	}
}

type sinkFunc func([]event.Event)

func (f sinkFunc) Publish(_ context.Context, evs []event.Event) error { f(evs); return nil }
