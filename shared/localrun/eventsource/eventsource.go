// Package eventsource is the SQS event source mapping that Lambda runs in AWS, reimplemented for
// `make run` and for tests: it polls a queue.Queue, hands each batch to the worker's Lambda
// handler as the events.SQSEvent Lambda would build, and deletes what the handler
// acknowledged. Running the very same handler locally and in AWS is the point; so the
// rules are Lambda's, with FunctionResponseTypes [ReportBatchItemFailures] enabled:
//
//   - the handler returns an error (or panics): nothing is deleted, the whole batch comes
//     back after its visibility timeout;
//   - the handler succeeds: every message is deleted except those named in
//     BatchItemFailures, which come back after their visibility timeout (or whenever the
//     handler set it with ChangeVisibility);
//   - a BatchItemFailures entry with an empty or unknown itemIdentifier makes Lambda treat
//     the whole batch as failed; so does this package.
//
// Deletes run even while the poller is stopping, so that a batch the handler finished is
// not handed out again.
package eventsource

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tasklane/tasklane/shared/queue"
)

// Handler is a Lambda handler for SQS events, such as the worker's Handle.
type Handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Defaults of Options, Lambda's where Lambda has one.
const (
	// DefaultBatchSize is Lambda's default and SQS's maximum batch for a standard queue
	// without a batching window.
	DefaultBatchSize = 10
	// DefaultVisibility is SQS's default visibility timeout.
	DefaultVisibility = 30 * time.Second
	// DefaultWait is the long poll of one receive. Lambda polls for 20 s; one second keeps
	// a local shutdown prompt without spinning.
	DefaultWait = time.Second
	// DefaultBackoff is the pause after a failed receive, so that an unreachable queue is
	// not hammered.
	DefaultBackoff = time.Second
	// deleteTimeout bounds the deletes after a batch, which run even once ctx is done.
	deleteTimeout = 10 * time.Second
)

// Options configure the mapping.
type Options struct {
	// BatchSize is the most messages per invocation, 1..10. Default 10.
	BatchSize int
	// Visibility hides a received batch while the handler runs; what the handler does not
	// acknowledge comes back after it. Default 30 s.
	Visibility time.Duration
	// Wait is how long one receive waits for messages. Default 1 s; tests use less.
	Wait time.Duration
	// Timeout is the function timeout: the deadline of the handler's context, which the
	// worker reads to stop starting subtasks in time. Default Visibility, the most that
	// AWS allows for a function mapped to the queue.
	Timeout time.Duration
	// QueueARN is the records' eventSourceARN.
	QueueARN string
	// Region is the records' awsRegion. Default: the region in QueueARN.
	Region string
	// Concurrency is how many pollers invoke the handler at once, as Lambda scales
	// concurrent invocations. Default 1.
	Concurrency int
	// Backoff is the pause after a failed receive. Default 1 s.
	Backoff time.Duration
	// Log receives what Lambda would report in its metrics and logs: failed receives,
	// handler errors, failed deletes. Default slog.Default().
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.BatchSize < 1 || o.BatchSize > 10 {
		return o, fmt.Errorf("eventsource: BatchSize %d not in 1..10", o.BatchSize)
	}
	if o.Visibility <= 0 {
		o.Visibility = DefaultVisibility
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.Timeout <= 0 {
		o.Timeout = o.Visibility
	}
	if o.Region == "" {
		// arn:aws:sqs:REGION:ACCOUNT:NAME
		if parts := strings.Split(o.QueueARN, ":"); len(parts) == 6 {
			o.Region = parts[3]
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o, nil
}

// Poll runs the mapping until ctx is done: it receives batches from q and invokes handler
// with each, deleting what the handler acknowledged (see the package comment). A failed
// receive is logged and retried after Options.Backoff, as Lambda keeps polling. It
// returns nil once ctx is done and every running invocation has returned, or an error at
// once for invalid arguments.
func Poll(ctx context.Context, q queue.Queue, handler Handler, opts Options) error {
	if q == nil || handler == nil {
		return errors.New("eventsource: no queue or no handler")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := batch(ctx, q, handler, opts)
				var rerr receiveError
				if errors.As(err, &rerr) && ctx.Err() == nil {
					opts.Log.ErrorContext(ctx, "eventsource: receive failed; polling again", "err", err, "backoff", opts.Backoff)
					sleep(ctx, opts.Backoff)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// Drain invokes handler with batches from q until a receive (waiting Options.Wait) comes
// back empty, then returns how many messages it handed to the handler. It is Poll for a
// test that wants to run the worker synchronously: its error joins the handler's errors,
// invalid responses and failed deletes; a failed receive ends it.
func Drain(ctx context.Context, q queue.Queue, handler Handler, opts Options) (int, error) {
	if q == nil || handler == nil {
		return 0, errors.New("eventsource: no queue or no handler")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return 0, err
	}
	var (
		total int
		errs  []error
	)
	for {
		n, err := batch(ctx, q, handler, opts)
		total += n
		var rerr receiveError
		if errors.As(err, &rerr) {
			return total, errors.Join(append(errs, err)...)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if n == 0 {
			return total, errors.Join(errs...)
		}
	}
}

// receiveError marks a failed receive, after which there is no batch.
type receiveError struct{ err error }

func (e receiveError) Error() string { return "eventsource: receive: " + e.err.Error() }
func (e receiveError) Unwrap() error { return e.err }

// batch is one round of the mapping: receive, invoke, delete. It returns how many
// messages it handed to the handler and what went wrong (already logged).
func batch(ctx context.Context, q queue.Queue, handler Handler, opts Options) (int, error) {
	ds, err := q.Receive(ctx, opts.BatchSize, opts.Visibility, opts.Wait)
	if err != nil {
		return 0, receiveError{err}
	}
	if len(ds) == 0 {
		return 0, nil
	}
	log := opts.Log
	ev := Event(ds, opts.QueueARN, opts.Region)
	resp, err := invoke(ctx, handler, ev, opts.Timeout)
	if err != nil {
		log.ErrorContext(ctx, "eventsource: handler failed; the whole batch returns after its visibility timeout", "messages", len(ds), "err", err)
		return len(ds), err
	}
	failed := map[string]bool{}
	inBatch := map[string]bool{}
	for _, d := range ds {
		inBatch[d.MessageID] = true
	}
	for _, f := range resp.BatchItemFailures {
		if !inBatch[f.ItemIdentifier] {
			err := fmt.Errorf("eventsource: batchItemFailures names %q, not a message of the batch: the whole batch fails", f.ItemIdentifier)
			log.ErrorContext(ctx, err.Error(), "messages", len(ds))
			return len(ds), err
		}
		failed[f.ItemIdentifier] = true
	}
	// The handler finished: acknowledge even if ctx ended meanwhile, or the batch would
	// run again for nothing.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	var errs []error
	for _, d := range ds {
		if failed[d.MessageID] {
			continue
		}
		if err := q.Delete(dctx, d.ReceiptHandle); err != nil {
			log.ErrorContext(ctx, "eventsource: delete failed; the message will be delivered again", "messageId", d.MessageID, "err", err)
			errs = append(errs, fmt.Errorf("eventsource: delete %s: %w", d.MessageID, err))
		}
	}
	return len(ds), errors.Join(errs...)
}

// invoke calls handler as the Lambda runtime would: with a deadline of the function
// timeout and a Lambda context carrying a request ID, turning a panic into an error.
func invoke(ctx context.Context, handler Handler, ev events.SQSEvent, timeout time.Duration) (resp events.SQSEventResponse, err error) {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hctx = lambdacontext.NewContext(hctx, &lambdacontext.LambdaContext{AwsRequestID: queue.UUID()})
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("eventsource: handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return handler(hctx, ev)
}

// Event builds the SQS event Lambda delivers for ds: one record per message, with the
// system attributes a Delivery carries (ApproximateReceiveCount, SentTimestamp in epoch
// milliseconds), its due time as the message attribute queue.DueAttribute, the body's MD5,
// eventSource "aws:sqs", queueARN and region. Tests of the worker use it to build events from a queue's deliveries.
func Event(ds []queue.Delivery, queueARN, region string) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(ds))}
	for _, d := range ds {
		sum := md5.Sum([]byte(d.Body))
		attrs := map[string]string{
			"ApproximateReceiveCount": strconv.Itoa(d.ReceiveCount),
		}
		if !d.SentAt.IsZero() {
			attrs["SentTimestamp"] = strconv.FormatInt(d.SentAt.UnixMilli(), 10)
		}
		msgAttrs := map[string]events.SQSMessageAttribute{}
		if !d.DueAt.IsZero() {
			due := queue.FormatDue(d.DueAt)
			msgAttrs[queue.DueAttribute] = events.SQSMessageAttribute{DataType: "Number", StringValue: &due}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:         d.MessageID,
			ReceiptHandle:     d.ReceiptHandle,
			Body:              d.Body,
			Md5OfBody:         hex.EncodeToString(sum[:]),
			Attributes:        attrs,
			MessageAttributes: msgAttrs,
			EventSourceARN:    queueARN,
			EventSource:       "aws:sqs",
			AWSRegion:         region,
		})
	}
	return ev
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
