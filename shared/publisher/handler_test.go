package publisher_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/publisher"
)

// sink records what it is given and answers with err.
type sink struct {
	got []event.Event
	err error
}

func (s *sink) Publish(_ context.Context, evs []event.Event) error {
	s.got = append(s.got, evs...)
	return s.err
}

// streamEvent is testdata/stream.json: a task's create and its claim, as Lambda delivers them.
func streamEvent(t *testing.T) events.DynamoDBEvent {
	t.Helper()
	raw, err := os.ReadFile("testdata/stream.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestHandleStreamEvent(t *testing.T) {
	t.Parallel()
	ev := streamEvent(t)
	seq := func(i int) []events.DynamoDBBatchItemFailure {
		return []events.DynamoDBBatchItemFailure{{ItemIdentifier: ev.Records[i].Change.SequenceNumber}}
	}
	for _, tt := range []struct {
		name string
		err  error
		want []events.DynamoDBBatchItemFailure
	}{
		{"delivered", nil, nil},
		{"nothing delivered", errors.New("down"), seq(0)},
		{"the second not delivered", &event.PartialError{Failed: []int{1}, Err: errors.New("refused")}, seq(1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &sink{err: tt.err}
			resp, err := (&publisher.Publisher{Sink: s}).Handle(t.Context(), streamEvent(t))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if diff := cmp.Diff(tt.want, resp.BatchItemFailures); diff != "" {
				t.Errorf("batch item failures (-want +got):\n%s", diff)
			}
			var types []string
			for _, e := range s.got {
				types = append(types, e.Subject+" "+e.Type)
			}
			id := "01M8160QT03A7Q8NQ4M1HKSYRY"
			if diff := cmp.Diff([]string{id + " " + event.Created, id + " " + event.Processing}, types); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if len(s.got) == 2 && s.got[1].ID != event.ID(id, 2, event.Processing) {
				t.Errorf("the claim's event id %s is not event.ID(task, 2, processing)", s.got[1].ID)
			}
		})
	}
}

func TestUndecodableRecordFails(t *testing.T) {
	t.Parallel()
	ev := streamEvent(t)
	ev.Records[1].Change.NewImage["doc"] = events.NewStringAttribute("{not json")
	s := &sink{}
	resp, err := (&publisher.Publisher{Sink: s}).Handle(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	want := []events.DynamoDBBatchItemFailure{{ItemIdentifier: ev.Records[1].Change.SequenceNumber}}
	if diff := cmp.Diff(want, resp.BatchItemFailures); diff != "" {
		t.Errorf("batch item failures (-want +got):\n%s", diff)
	}
	if len(s.got) != 1 || s.got[0].Type != event.Created {
		t.Errorf("published %v, want the first record's created event only", s.got)
	}
}
