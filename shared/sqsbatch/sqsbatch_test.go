package sqsbatch_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/sqsbatch"
)

// TestHandle: every record is handled, at once (a record waits for another without a
// deadlock), and exactly the records handled false are the batch item failures.
func TestHandle(t *testing.T) {
	t.Parallel()
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "a"}, {MessageId: "b"}, {MessageId: "c"}, {MessageId: "d"}}}
	var started sync.WaitGroup
	started.Add(len(ev.Records))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp := sqsbatch.Handle(ctx, ev, func(ctx context.Context, rec events.SQSMessage) bool {
		started.Done()
		done := make(chan struct{})
		go func() { started.Wait(); close(done) }()
		select {
		case <-done: // every record is under way together
		case <-ctx.Done():
			t.Errorf("record %s: the records were not handled at once", rec.MessageId)
		}
		return rec.MessageId == "a" || rec.MessageId == "c"
	})
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	slices.Sort(failed)
	if !slices.Equal(failed, []string{"b", "d"}) {
		t.Errorf("batch item failures %v, want [b d]", failed)
	}
}
