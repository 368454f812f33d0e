// Package sqsbatch runs the handler of one SQS event's records, the way every SQS-triggered
// function of Tasklane does (the worker, the webhook deliverer, the intake): each record in
// a goroutine of its own, so that a slow one does not hold up the others, and the records
// that may not be deleted reported as batch item failures (the event source mapping's
// ReportBatchItemFailures), so that only they come back.
package sqsbatch

import (
	"context"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// Handle runs each(ctx, record) for every record of ev at once and returns the records for
// which it said false (not to be deleted) as batch item failures.
func Handle(ctx context.Context, ev events.SQSEvent, each func(context.Context, events.SQSMessage) bool) events.SQSEventResponse {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
		wg   sync.WaitGroup
	)
	for _, rec := range ev.Records {
		wg.Go(func() {
			if each(ctx, rec) {
				return
			}
			mu.Lock()
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			mu.Unlock()
		})
	}
	wg.Wait()
	return resp
}
