package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/strictjson"
)

// Sink is the event.Sink of webhooks: for each event whose task has a callbackUrl (the
// event's data, the task as listed, carries it) it sends one Message to the webhook queue,
// and does nothing else. The POST is the delivery worker's (Deliverer), from that queue of
// its own, so that a slow or failing receiver never holds up whoever publishes the events,
// the task, or other receivers.
type Sink struct {
	Queue queue.BodySender
}

var _ event.Sink = Sink{}

// Publish enqueues the deliveries of evs. Events without a callbackUrl are skipped; a failed
// send is reported in an *event.PartialError naming the events not enqueued.
func (s Sink) Publish(ctx context.Context, evs []event.Event) error {
	var failed []int
	var errs []error
	for i, ev := range evs {
		url := CallbackURL(ev)
		if url == "" {
			continue
		}
		body, err := strictjson.Marshal(ev)
		if err == nil {
			err = s.Queue.SendBody(ctx, Message{URL: url, ID: ev.ID, Event: body}.Encode(), 0)
		}
		if err != nil {
			failed = append(failed, i)
			errs = append(errs, fmt.Errorf("event %s: %w", ev.ID, err))
		}
	}
	if len(failed) > 0 {
		return &event.PartialError{Failed: failed, Err: errors.Join(errs...)}
	}
	return nil
}

// CallbackURL is the callbackUrl of the task an event is about ("" for none).
func CallbackURL(ev event.Event) string {
	var data struct {
		CallbackURL string `json:"callbackUrl"`
	}
	if json.Unmarshal(ev.Data, &data) != nil {
		return ""
	}
	return data.CallbackURL
}
