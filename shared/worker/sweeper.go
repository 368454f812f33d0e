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
//
// It asks the store about pending and processing tasks separately, each with its own
// threshold and its own batch. A single query at the shorter (pending) threshold would also
// return every processing task older than it, among them those legitimately waiting out a
// retry backoff; with Batch or more of them, every sweep's batch would be filled with tasks
// it then skips, a pending task whose message was lost would never be re-sent, and each
// skipped task would cost a read.
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
	// Batch caps the tasks handled per sweep for each of the two statuses, so a sweep
	// handles at most 2*Batch; the oldest go first, and the rest wait for the next sweep.
	Batch int
}

// Sweep re-sends messages for stale tasks, pending ones first, and says how many it sent.
// Pending ones go first because a pending task's lost message is the sweeper's main reason
// to exist; an error stops the sweep, and the next scheduled one carries on.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	now := s.Now()
	sent := 0
	for _, c := range []struct {
		status task.Status
		after  time.Duration
	}{
		{task.Pending, s.PendingAfter},
		{task.Processing, s.ProcessingAfter},
	} {
		n, err := s.sweep(ctx, c.status, now.Add(-c.after), now)
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// sweep re-sends messages for the tasks in status last updated before cutoff. Each is read
// again (the index is eventually consistent, and the task may have moved since) and sent a
// message only if it is still in status and still stale, so that a task a worker has just
// taken up is not disturbed.
func (s *Sweeper) sweep(ctx context.Context, status task.Status, cutoff, now time.Time) (int, error) {
	ids, err := s.Store.Stale(ctx, status, cutoff, s.Batch)
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
		if t.Status != status || !t.UpdatedAt.Before(cutoff) {
			continue
		}
		if i := t.NextSubTask(); i >= 0 && t.SubTasks[i].Waiting() && now.Before(*t.SubTasks[i].WaitUntil) {
			continue // a suspended attempt (a wait step): its chain of delayed messages is not stored
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
