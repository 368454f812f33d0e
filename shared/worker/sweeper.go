package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// Sweeper guarantees that no accepted task is stuck without a message on its way to a
// worker. The API writes a task and then sends its message; if the process dies in between,
// or the send fails, the task would wait forever. The sweeper runs on a schedule, finds
// active tasks that have not changed for a while (one Query per shard of the sparse active
// index, never a Scan) and sends each a fresh message. Duplicates are harmless: the worker
// applies every transition conditionally.
type Sweeper struct {
	Store task.Store
	Queue queue.Sender
	Now   func() time.Time
	Log   *slog.Logger
	// PendingAfter: a pending task untouched this long gets a new message. A healthy queue
	// delivers within seconds, so a minute means the message was lost.
	PendingAfter time.Duration
	// ProcessingAfter: a processing task untouched this long gets a new message. It must
	// exceed the longest retry backoff (15 minutes) plus the worker's timeout, so that a
	// task waiting out a backoff, or a worker still in a step, is not disturbed.
	ProcessingAfter time.Duration
	// Batch caps the tasks handled per sweep.
	Batch int
}

// Sweep re-sends messages for stale tasks and says how many it sent.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	now := s.Now()
	ids, err := s.Store.Stale(ctx, now.Add(-s.PendingAfter), s.Batch)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, id := range ids {
		t, err := s.Store.Get(ctx, id, now)
		if errors.Is(err, task.ErrNotFound) {
			continue
		}
		if err != nil {
			return sent, err
		}
		switch {
		case t.Status == task.Pending && t.UpdatedAt.Before(now.Add(-s.PendingAfter)):
		case t.Status == task.Processing && t.UpdatedAt.Before(now.Add(-s.ProcessingAfter)):
		default:
			continue
		}
		if err := s.Queue.Send(ctx, queue.Message{TaskID: t.ID, Run: t.RetryCount}, 0); err != nil {
			return sent, err
		}
		s.Log.WarnContext(ctx, "stale task re-sent to the worker", "taskId", t.ID, "status", t.Status, "updatedAt", t.UpdatedAt)
		sent++
	}
	return sent, nil
}

// Handle is the Lambda handler for the sweeper's schedule (an EventBridge event whose
// content does not matter).
func (s *Sweeper) Handle(ctx context.Context) error {
	n, err := s.Sweep(ctx)
	if err != nil {
		s.Log.ErrorContext(ctx, "sweep failed", "sent", n, "err", err)
		return err
	}
	if n > 0 {
		s.Log.InfoContext(ctx, "sweep done", "sent", n)
	}
	return nil
}
