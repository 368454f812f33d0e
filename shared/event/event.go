// Package event turns a task's stored changes into its lifecycle events: CloudEvents 1.0
// documents as the contract's "Events and webhooks" section gives them. It decides what the
// events of a change are (Of) and what a destination of them looks like (Sink); where the
// changes come from (a table's stream, an outbox) and where the events go (EventBridge, the
// log, webhooks) live with their adapters.
package event

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
)

// Event is a CloudEvents 1.0 document as the contract gives it.
type Event struct {
	SpecVersion     string          `json:"specversion"`     // "1.0"
	ID              string          `json:"id"`              // same for duplicates of one change
	Source          string          `json:"source"`          // "tasklane"
	Type            string          `json:"type"`            // "tasklane.task.<what>"
	Subject         string          `json:"subject"`         // the task id
	Time            string          `json:"time"`            // RFC 3339 ms UTC
	Tenant          string          `json:"tenant"`          //
	DataContentType string          `json:"datacontenttype"` // "application/json"
	Data            json.RawMessage `json:"data"`            // the task as listed (+ "callback")
}

// The event document's fixed attributes.
const (
	SpecVersion     = "1.0"
	Source          = "tasklane"
	DataContentType = "application/json"
)

// Types of events.
const (
	// Created: a new task, pending.
	Created = "tasklane.task.created"
	// Processing: a worker claimed the task.
	Processing = "tasklane.task.processing"
	// Succeeded: the task ended in success.
	Succeeded = "tasklane.task.success"
	// Failed: the task ended in failure.
	Failed = "tasklane.task.failure"
	// Cancelled: the task ended cancelled.
	Cancelled = "tasklane.task.cancelled"
	// Retried: a failed task went back to pending.
	Retried = "tasklane.task.retried"
	// CancelRequested: a cancel of a running task was accepted (cancelRequested set); the
	// task ends cancelled later.
	CancelRequested = "tasklane.task.cancelRequested"
	// CallbackStarted: a callback step started; its data carries the callback.
	CallbackStarted = "tasklane.task.callbackStarted"
	// Rejected: an event-driven create refused a message; there is no task, so Of never makes
	// it (the intake does, with the reason).
	Rejected = "tasklane.task.rejected"
)

// Sink receives events; a Publish error means none of them, or some (a *PartialError
// naming which), were delivered.
type Sink interface {
	Publish(ctx context.Context, events []Event) error
}

// PartialError is a Publish that delivered some of its events but not all: Failed holds the
// indexes (into the events given to Publish) of those not delivered, in order, and Err why.
type PartialError struct {
	Failed []int
	Err    error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d events not delivered: %v", len(e.Failed), e.Err)
}

func (e *PartialError) Unwrap() error { return e.Err }

// Of returns the events a stored change makes (before is nil for a create), in order. A
// change that makes no event (a subtask finished, an attempt retried within the task's run)
// returns none. An accepted cancel request is its own event only while the task runs on
// (cancelRequested set); a cancel that ends the task at once is just its cancelled event,
// whatever status it came from.
func Of(before *task.Task, after task.Task) []Event {
	types := Types(before, after)
	if len(types) == 0 {
		return nil
	}
	data := marshal(after, apigw.ListedView(&after))
	out := make([]Event, len(types))
	for i, typ := range types {
		out[i] = Event{
			SpecVersion: SpecVersion, ID: ID(after.ID, after.Version, typ), Source: Source,
			Type: typ, Subject: after.ID, Time: after.UpdatedAt.UTC().Format(apigw.TimeFormat),
			Tenant: after.Owner, DataContentType: DataContentType, Data: data,
		}
		if typ == CallbackStarted {
			ref, _ := after.RunningCallback()
			out[i].Data = marshal(after, callbackData{TaskView: apigw.ListedView(&after), Callback: Callback{
				SubTask: after.SubTasks[ref.Index].Name, Index: ref.Index, Attempt: ref.Attempt, Run: ref.Run}})
		}
	}
	return out
}

// Callback is what a callbackStarted event's data adds to the task: the step and attempt
// whose callback started and, once a CallbackURLs sink has sealed it, the callback's URL. The
// URL is sealed on the way out, not stored with the event, so that the file store's outbox
// and the table's stream hold no token (see shared/callback).
type Callback struct {
	SubTask string `json:"subTask"`
	Index   int    `json:"index"`
	Attempt int    `json:"attempt"`
	Run     int    `json:"run"`
	URL     string `json:"url,omitempty"`
}

// callbackData is a callbackStarted event's data: the task as listed, plus the callback.
type callbackData struct {
	apigw.TaskView
	Callback Callback `json:"callback"`
}

// marshal renders an event's data.
func marshal(t task.Task, v any) json.RawMessage {
	data, err := strictjson.Marshal(v)
	if err != nil {
		// A task's view is plain data; it always marshals.
		panic(fmt.Sprintf("event: task %s does not marshal: %v", t.ID, err))
	}
	return data
}

// CallbackURLs is a Sink that fills in the URL of every callbackStarted event's callback,
// sealed by URL (usecase.Service's CallbackToken made into a URL), and hands the events on
// to Sink. Every place that publishes events wraps its sinks in it (app.App.EventSinks).
type CallbackURLs struct {
	Sink Sink
	URL  func(taskID string, ref task.CallbackRef) string
}

func (c CallbackURLs) Publish(ctx context.Context, evs []Event) error {
	out := evs
	for i, e := range evs {
		if e.Type != CallbackStarted {
			continue
		}
		var d map[string]json.RawMessage
		var cb Callback
		if json.Unmarshal(e.Data, &d) != nil || json.Unmarshal(d["callback"], &cb) != nil {
			continue // not one Of made: passed on as it is
		}
		cb.URL = c.URL(e.Subject, task.CallbackRef{Index: cb.Index, Attempt: cb.Attempt, Run: cb.Run})
		raw, err := strictjson.Marshal(cb)
		if err != nil {
			return err
		}
		d["callback"] = raw
		if e.Data, err = strictjson.Marshal(d); err != nil {
			return err
		}
		if len(out) > 0 && &out[0] == &evs[0] {
			out = append([]Event(nil), evs...) // the caller's events stay as they were
		}
		out[i] = e
	}
	return c.Sink.Publish(ctx, out)
}

// Types returns the types of the events a stored change makes, in order, without rendering
// them (nil for none): Of's decision, which the stores also mark the writes with (see
// shared/dynamostore).
func Types(before *task.Task, after task.Task) []string {
	if before == nil {
		return []string{Created}
	}
	var types []string
	if after.CancelRequested && !before.CancelRequested && after.Status == before.Status {
		types = append(types, CancelRequested)
	}
	if after.Status != before.Status {
		if t := statusType(before.Status, after.Status); t != "" {
			types = append(types, t)
		}
	}
	if _, started := task.CallbackStarted(before, after); started {
		types = append(types, CallbackStarted)
	}
	return types
}

// ChangeTypes returns the types of the events change c makes, from the change alone: a store
// writing it (see shared/dynamostore's event marker) has the task after the change and the
// status it came from, not the task before. Only a cancel sets cancelRequested, and a cancel
// that changes nothing is never written, so a written cancel that leaves the status as it was
// is an accepted cancel request. It agrees with Types(&before, c.Task) for every transition
// (the tests walk them).
func ChangeTypes(c task.Change) []string {
	if c.Empty() {
		return nil // never written (see task.Write)
	}
	before := task.Task{Status: c.FromStatus, CancelRequested: c.Task.CancelRequested}
	if c.Op == task.OpCreate {
		return Types(nil, c.Task)
	}
	if c.Op == task.OpCancel && c.FromStatus == c.Task.Status {
		before.CancelRequested = false
	}
	types := Types(&before, c.Task) // before has no subtasks: every running callback looks new
	if c.Op != task.OpStartCallback {
		types = slices.DeleteFunc(types, func(t string) bool { return t == CallbackStarted })
	}
	if len(types) == 0 {
		return nil
	}
	return types
}

// statusType is the event of a status change from → to.
func statusType(from, to task.Status) string {
	switch to {
	case task.Pending:
		if from == task.Failure {
			return Retried
		}
		return ""
	case task.Processing:
		return Processing
	case task.Success:
		return Succeeded
	case task.Failure:
		return Failed
	case task.Cancelled:
		return Cancelled
	}
	return ""
}

// ID is the id of the event of type typ made by version of task taskID. It is derived from
// those three alone, so that every re-delivery of one change (a stream record read twice, an
// outbox drained again after a crash) makes events with the same ids, which is how consumers
// (and Standard Webhooks' webhook-id) recognise duplicates. It is shaped as a UUID (RFC 9562
// version 8, from SHA-256).
func ID(taskID string, version int64, typ string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{taskID, strconv.FormatInt(version, 10), typ}, "\x00")))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
