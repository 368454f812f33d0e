// Package publisher is the Lambda handler on the tasks table's DynamoDB stream: it turns each
// stored change into its lifecycle events (event.Of, from the record's old and new images)
// and publishes them to a sink (EventBridge, shared/eventbus). Driving events from the stream,
// not from the process that made the change, is what makes them never lost: see "Lifecycle
// events from the table's stream" in shared/dynamostore/events.go for why the records that
// reach it are only those of changes that make events.
//
// The event source mapping runs with FunctionResponseTypes [ReportBatchItemFailures]: the
// handler answers the first record whose events were not all delivered, and Lambda retries
// the batch from that record (the earlier ones are done), bisecting it on repeated failure
// and, after MaximumRetryAttempts, sending the record to the on-failure destination (the
// events dead-letter queue). A retried record makes the same events with the same ids
// (event.ID), so a consumer sees a duplicate, never a different event. A record that can
// never make events (an image that does not decode) fails the same way and ends in the
// dead-letter queue, where an operator sees it; it does not block the shard for longer than
// the retries.
//
// Ordering: the events of one batch are published in record order, so a task's events arrive
// in order unless a retry intervenes: when a record fails and a later record of the same task
// was delivered, the retry delivers the later one again after the earlier one (consumers
// order by the data's version if they must).
package publisher

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/task"
)

// Publisher publishes the events of stream records.
type Publisher struct {
	Sink event.Sink
	// Log receives undecodable records and failed publishes; nil: slog.Default().
	Log *slog.Logger
}

// Handle is the Lambda handler: it publishes the events of ev's records and names the first
// record not fully delivered (see the package comment). It returns an error only when it
// cannot name one, which Lambda treats as the whole batch failing.
func (p *Publisher) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	log := p.Log
	if log == nil {
		log = slog.Default()
	}
	var (
		all    []event.Event
		owner  []int // owner[i] is the record index of all[i]
		failed = len(ev.Records)
	)
	for i, r := range ev.Records {
		evs, err := Of(r)
		if err != nil {
			log.ErrorContext(ctx, "publisher: record makes no events: it fails, and after the retries goes to the events dead-letter queue",
				"eventId", r.EventID, "sequenceNumber", r.Change.SequenceNumber, "err", err)
			failed = min(failed, i)
			break // the records after it are retried with it
		}
		for _, e := range evs {
			all = append(all, e)
			owner = append(owner, i)
		}
	}
	if len(all) > 0 {
		if err := p.Sink.Publish(ctx, all); err != nil {
			first := 0 // nothing delivered
			var pe *event.PartialError
			if errors.As(err, &pe) && len(pe.Failed) > 0 {
				first = pe.Failed[0]
			}
			if first < len(owner) {
				failed = min(failed, owner[first])
			}
			log.ErrorContext(ctx, "publisher: events not delivered; the batch is retried from the first record not delivered",
				"events", len(all), "err", err)
		}
	}
	if failed == len(ev.Records) {
		return events.DynamoDBEventResponse{}, nil
	}
	seq := ev.Records[failed].Change.SequenceNumber
	if seq == "" {
		return events.DynamoDBEventResponse{}, errors.New("publisher: a failed record has no sequence number")
	}
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seq}}}, nil
}

// Of returns the events of one stream record: those of the change from its old image to its
// new one (a create has no old image). A record without a task's new image (a removal, an
// idempotency record) makes none.
func Of(r events.DynamoDBEventRecord) ([]event.Event, error) {
	if len(r.Change.NewImage) == 0 {
		return nil, nil
	}
	after, ok, err := dynamostore.ImageTask(r.Change.NewImage)
	if err != nil || !ok {
		return nil, err
	}
	var before *task.Task
	if len(r.Change.OldImage) > 0 {
		b, ok, err := dynamostore.ImageTask(r.Change.OldImage)
		if err != nil {
			return nil, err
		}
		if ok {
			before = &b
		}
	}
	return event.Of(before, after), nil
}
