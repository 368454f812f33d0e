// Package worker advances tasks: it consumes the work queue's messages exactly as Lambda's
// SQS event source mapping delivers them, runs each task's subtasks in order through its
// type, and writes every step as a conditional transition, so that duplicates, crashes and
// races with cancel and retry are each applied once.
//
// A message names a task and a run (the task's retryCount when it was sent). For each
// message the worker re-reads the task and:
//   - finding no task, or an earlier run than the message's, within StoreGrace of the run's
//     announcement: the API's write is still on its way (see "No task without a message"
//     below), and the message comes back, in a new one, after a short delay (notStored);
//   - acknowledges it if the task is gone (no task after the grace), terminal, or of a
//     later run (stale or duplicate);
//   - claims a pending task, then runs subtasks one after another while the invocation has
//     time, recording each attempt before it starts (so a worker that dies mid-step still
//     spends an attempt, and a subtask that succeeded is never run again); the claim and
//     each finish share their write with the step that follows them (see finish);
//   - finding a subtask mid-attempt whose worker may still be running it (a duplicate
//     delivery), leaves it to that worker and has the message come back when the attempt's
//     Lease is over; found after that, the attempt was a dead worker's and is taken over;
//   - ends the task cancelled between subtasks when cancelRequested is set;
//   - on a retryable error with budget left, puts the subtask back to pending and continues
//     the task in a new message delayed by the backoff (capped at SQS's 15 minutes; why a new
//     message: see resend);
//   - on a permanent error or a spent budget, ends the task in failure with the error;
//   - reports a message as failed on infrastructure errors (the store unreachable), so that
//     SQS redelivers it and, after maxReceiveCount, moves it to the dead-letter queue, whose
//     handler (HandleDeadLetter) ends the task in failure instead of leaving it hanging
//     (unless an attempt of the task is still within its lease: that dead letter comes back
//     later, rather than fail the task under a worker that may still be running it).
//
// # No task without a message
//
// Every active task has a message on its way to a worker, so nothing has to look for tasks
// left without one (no sweeper, and no index of active tasks keyed on updatedAt, which cost
// 8 WRU of a task's 57; issue #9). Three rules keep it so:
//   - The API sends a run's message before it stores the run (usecase.Service.Create and
//     Retry): a stored pending task always had its message sent. A failed send stores
//     nothing and is answered 500; a crash between the send and the write leaves a message
//     and no task, which the client, without an answer, asks for again.
//   - A message is deleted only once the task ended or its run moved on, or once its
//     continuation was sent (resend); on any failure it stays and SQS hands it out again,
//     and after maxReceiveCount the dead-letter handler ends the task in failure.
//   - A message ahead of its write (the API's write lands a few ms after the send, and the
//     SDK may retry it) is not dropped while the write may still land: within StoreGrace of
//     the run's announcement (Message.AnnouncedAt) the worker sends it again a little later
//     and acknowledges it; after the grace, the write failed and the message is dropped.
//
// A message whose write never lands (a failed write, a crash, an idempotent replay's
// announcement) costs a few re-sends and is then dropped; duplicates are harmless, since
// every transition is conditional. The one limit is the queue's retention
// (sqsqueue.WorkRetention, 10 days): a worker stopped for longer leaves its tasks unfinished.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tasklane/tasklane/shared/logscope"
	"github.com/tasklane/tasklane/shared/metric"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/sqsbatch"
	"github.com/tasklane/tasklane/shared/task"
)

// Worker handles batches of the work queue.
type Worker struct {
	Store task.Store
	// Queue continues a task in a new, delayed message (backoff, continuation) and, when
	// that send fails, makes the current message visible again instead.
	Queue queue.Queue
	Types *task.Registry
	Now   func() time.Time
	Log   *slog.Logger
	// BackoffBase is the delay before a subtask's second attempt; it doubles for each
	// further attempt, up to queue.MaxDelay.
	BackoffBase time.Duration
	// Reserve is the time kept free before the invocation's deadline: after the first
	// attempt of a delivery, no subtask starts with less left and the task continues in a
	// new message instead. It should cover the longest step (the demo's is 60 s).
	Reserve time.Duration
	// Lease is how long after starting an attempt its worker may still be running it: the
	// function timeout. A delivery that finds the next subtask mid-attempt since less than
	// Lease does not start it again, since that attempt's worker may be alive (SQS handed
	// the same message out twice, or a continuation was sent twice); the message comes back
	// when the lease has run out, and only then is the attempt taken for a dead worker's.
	// Zero: the time the invocation has left when Handle starts, which under Lambda and the
	// local event source mapping is the function timeout; without a deadline either, an
	// attempt found mid-way is taken over at once. The dead-letter handler does not fail a
	// task whose attempt is within its lease either; with Lease zero it takes
	// DeadLetterLease.
	Lease time.Duration
	// OrphanedBefore, when set, is the instant before which no live worker started an
	// attempt: an attempt found mid-way that started earlier (updatedAt before it) is taken
	// over at once instead of waiting out Lease. The local runner sets it to its start when
	// it holds the embedded store alone (its file lock), because then the attempts it finds
	// belong to a process that crashed; without it a kill -9 of `make run` would leave every
	// task that was mid-step waiting a whole function timeout. Never set it in Lambda, where
	// another invocation may well be running the attempt.
	OrphanedBefore time.Time
	// Hooks are told of every change the worker and the dead-letter handler store (see
	// task.Hook); set at wiring.
	Hooks []task.Hook
	// Metrics records what the stored changes do not show (messages handed back); nil
	// records nothing.
	Metrics *metric.Recorder
}

// scope starts the log scope of an invocation (shared/logscope): its Lambda request id,
// when it has one. Each record adds its messageId, task id and tenant.
func scope(ctx context.Context) context.Context {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return logscope.Start(ctx, logscope.RequestID, lc.AwsRequestID)
	}
	return logscope.Start(ctx)
}

// outcome is what becomes of one message; make one with done, redeliver or continueAfter.
type outcome struct {
	kind  outcomeKind
	delay time.Duration // continueAfter's
}

type outcomeKind int

const (
	// outcomeRedeliver, the zero kind: report the message as failed, so that SQS hands it
	// out again after its visibility timeout (and counts the receive).
	outcomeRedeliver outcomeKind = iota
	// outcomeDone: delete it: the task ended, or the message is stale or a duplicate.
	outcomeDone
	// outcomeContinue: continue the task in a new message after a delay (see resend).
	outcomeContinue
)

func done() outcome      { return outcome{kind: outcomeDone} }
func redeliver() outcome { return outcome{kind: outcomeRedeliver} }

// continueAfter continues the task in a new message delayed by d (a backoff, a wait for an
// attempt's lease, or a continuation in a fresh invocation with d zero).
func continueAfter(d time.Duration) outcome { return outcome{kind: outcomeContinue, delay: d} }

// next is what advance does after one step: decide again from the task as it now is, or end
// the delivery with an outcome.
type next struct {
	again bool
	out   outcome
}

// decideAgain: the step changed the task (or found it changed) and advance looks at it again.
func decideAgain() next { return next{again: true} }

// end ends the delivery with out.
func end(out outcome) next { return next{out: out} }

// Handle is the Lambda handler for the work queue: one batch of the event source mapping.
// Messages are processed concurrently (each names its own task); only those to be seen
// again are listed in BatchItemFailures, so that the rest are deleted.
func (w *Worker) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	lease := w.Lease
	if dl, ok := ctx.Deadline(); ok && lease == 0 {
		lease = time.Until(dl)
	}
	resp := sqsbatch.Handle(scope(ctx), ev, func(ctx context.Context, rec events.SQSMessage) bool {
		return w.handleRecord(logscope.Start(ctx, "messageId", rec.MessageId), rec, lease)
	})
	w.Metrics.MessagesFailed(len(resp.BatchItemFailures))
	if late, ok := lateness(ev, w.Now()); ok && late >= LateMetricFloor {
		w.Metrics.QueueAge(late)
	}
	return resp, nil
}

// LateMetricFloor is the lateness below which a batch records no OldestMessageAge: a queue
// that keeps up (Lambda's pollers take a message within a second or so of it being due) then
// writes no metric line per invocation, and the metric, with its alarm, shows only a backlog.
const LateMetricFloor = time.Second

// lateness is how long past its due time the most overdue message of ev was taken (the
// metric OldestMessageAge): the due time is the message's send plus its delay
// (queue.DueAttribute) or, for a message sent without one, its SentTimestamp. It reports
// false when no record carries either. A redelivered message counts from its first due
// time: the visibility timeouts it waited out are lateness too.
func lateness(ev events.SQSEvent, now time.Time) (time.Duration, bool) {
	var late time.Duration
	found := false
	for _, rec := range ev.Records {
		var due time.Time
		if a, ok := rec.MessageAttributes[queue.DueAttribute]; ok && a.StringValue != nil {
			due, _ = queue.ParseDue(*a.StringValue)
		}
		if ms, err := strconv.ParseInt(rec.Attributes["SentTimestamp"], 10, 64); due.IsZero() && err == nil {
			due = time.UnixMilli(ms)
		}
		if !due.IsZero() {
			late, found = max(late, now.Sub(due)), true
		}
	}
	return late, found
}

// handleRecord processes one record of a batch and reports whether it may be deleted. A
// panic anywhere on the way (decoding, the store, a type's code) is recovered here and makes
// the record a batch item failure: uncaught in the record's goroutine it would kill the whole
// invocation, and every record of the batch would be redelivered and counted as a failed
// receive. The panicking record is redelivered and, if it keeps panicking, reaches the
// dead-letter queue, whose handler ends its task in failure.
func (w *Worker) handleRecord(ctx context.Context, rec events.SQSMessage, lease time.Duration) (acked bool) {
	defer func() {
		if p := recover(); p != nil {
			w.Log.ErrorContext(ctx, "message handling panicked; it will be redelivered", "messageId", rec.MessageId, "panic", p, "stack", string(debug.Stack()))
			acked = false
		}
	}()
	m, out := w.process(ctx, rec, lease)
	switch out.kind {
	case outcomeDone:
		return true
	case outcomeContinue:
		return w.resend(ctx, rec, m, out.delay)
	default:
		return false
	}
}

// resend continues a task later in a new message (delayed by d, at most 15 minutes) and
// reports whether the current one may be acknowledged. A new message, rather than the same
// one made visible again, keeps the receive count for what it is meant to count: deliveries
// that failed. Backoffs, waits for a lease and continuations would otherwise use up
// maxReceiveCount and send a healthy task to the dead-letter queue. If the send fails, the
// same message comes back after d instead (ChangeMessageVisibility), or after its
// visibility timeout if that fails too. Should the delete after a successful send fail, the
// task has two messages: harmless, every transition is conditional.
func (w *Worker) resend(ctx context.Context, rec events.SQSMessage, m queue.Message, d time.Duration) bool {
	err := w.Queue.Send(ctx, m, d)
	if err == nil {
		return true
	}
	w.Log.WarnContext(ctx, "re-send failed; the same message comes back instead", "messageId", rec.MessageId, "delay", d, "err", err)
	if err := w.Queue.ChangeVisibility(ctx, rec.ReceiptHandle, d); err != nil {
		w.Log.WarnContext(ctx, "change visibility failed; the message returns after its visibility timeout", "messageId", rec.MessageId, "err", err)
	}
	return false
}

// process decodes one message and advances its task.
func (w *Worker) process(ctx context.Context, rec events.SQSMessage, lease time.Duration) (queue.Message, outcome) {
	m, err := queue.Decode(rec.Body)
	if err != nil {
		// Nothing can ever make this body a task: let SQS move it to the dead-letter queue
		// after maxReceiveCount, whose handler logs it (and the alarm on that queue fires).
		w.Log.ErrorContext(ctx, "poison message", "messageId", rec.MessageId, "err", err)
		return m, redeliver()
	}
	logscope.Add(ctx, logscope.TaskID, m.TaskID)
	log := w.Log.With("run", m.Run)
	out, err := w.advance(ctx, m, log, lease)
	if err != nil {
		log.ErrorContext(ctx, "task not advanced; the message will be redelivered", "err", err)
		return m, redeliver()
	}
	return m, out
}

// advance drives one task as far as it can in this delivery: it decides a step from the task
// as read, takes it, and decides again from the task as the step left it, until a step ends
// the delivery.
func (w *Worker) advance(ctx context.Context, m queue.Message, log *slog.Logger, lease time.Duration) (outcome, error) {
	t, err := w.Store.Get(ctx, m.TaskID, w.Now())
	if err == nil {
		logscope.Add(ctx, logscope.Tenant, t.Owner)
	}
	attempted := false // an attempt ran in this delivery
	for err == nil {
		var nx next
		nx, err = w.step(ctx, m, &t, log, lease, &attempted)
		if err == nil && !nx.again {
			return nx.out, nil
		}
	}
	if errors.Is(err, task.ErrNotFound) {
		return w.notStored(ctx, m, log, "task not found"), nil
	}
	return redeliver(), err
}

// StoreGrace is how long after a run's announcement (Message.AnnouncedAt) its write may
// still land: three times the API functions' timeout (10 s, template.yaml's Globals; the
// drift test holds the timeout below the grace), within which the SDK makes and retries the
// write; the margin covers a write that reached DynamoDB just before the timeout and the
// clocks of the API and the worker disagreeing. A message found ahead of its write within
// it comes back; after it the write failed (or the process died before it), and the message
// is dropped.
const StoreGrace = 30 * time.Second

// notStoredDelay is the shortest wait of a message found ahead of its write: the write
// usually lands a few ms after the send. SQS rounds the delay up to a second; the in-process
// queue of `make run` keeps it short, since its pollers receive nearly every message before
// the file store has committed the task (infra/local's steady load: 308 of 320). Later waits
// are as long as the message has waited so far, so a message whose write never lands comes
// back some six (SQS) to eleven times before StoreGrace ends.
const notStoredDelay = 25 * time.Millisecond

// notStored is the outcome for a message whose run is not stored (no task, or the task at an
// earlier run: why is the reason logged): the message comes back in a new one while its
// write may still land (StoreGrace), and is dropped after that.
func (w *Worker) notStored(ctx context.Context, m queue.Message, log *slog.Logger, why string) outcome {
	waited := w.Now().Sub(m.AnnouncedAt)
	if m.AnnouncedAt.IsZero() || waited >= StoreGrace {
		log.InfoContext(ctx, why+" after the grace for its write; message dropped", "announcedAt", m.AnnouncedAt)
		return done()
	}
	d := max(waited, notStoredDelay)
	// Debug: routine in `make run` (see notStoredDelay), and no sign of trouble.
	log.DebugContext(ctx, why+"; its write may still land, the message comes back", "delay", d, "waited", waited)
	return continueAfter(d)
}

// step takes the one step that *t, as it now is, calls for. *attempted is whether an attempt
// ran in this delivery; step sets it when it runs one.
func (w *Worker) step(ctx context.Context, m queue.Message, t *task.Task, log *slog.Logger, lease time.Duration, attempted *bool) (next, error) {
	if m.Run > t.RetryCount {
		return end(w.notStored(ctx, m, log, "the message's run is not stored")), nil // a retry's message ahead of its write
	}
	if t.Status.Terminal() || m.Run != t.RetryCount {
		return end(done()), nil // a duplicate, or a message of an earlier run
	}
	typ, ok := w.Types.Lookup(t.Type)
	if !ok {
		return w.change(ctx, t, log, func(t task.Task) (task.Change, error) {
			return t.Fail(task.Error{ErrorCode: "UNKNOWN_TASK_TYPE", Message: "this deployment does not know the task type " + t.Type}, w.Now())
		})
	}
	if i := t.NextSubTask(); t.Status == task.Processing && i >= 0 && t.SubTasks[i].Waiting() {
		return w.waiting(ctx, typ, t, log, i, attempted)
	}
	if d := w.leaseLeft(t, lease); d > 0 {
		// Another worker may be running this attempt: neither run the subtask a second
		// time at once nor cancel it under that worker; look again once it must be over.
		log.InfoContext(ctx, "subtask mid-attempt elsewhere; the message comes back after its lease", "delay", d)
		return end(continueAfter(d)), nil
	}
	switch {
	case t.Status == task.Pending && t.NextSubTask() >= 0:
		// The claim rides with the first attempt's start: a claimed task always starts
		// its next subtask at once.
		*attempted = true
		return w.attempt(ctx, typ, t, log, w.starter(typ, task.Task.ClaimAndStart))
	case t.Status == task.Pending:
		return w.change(ctx, t, log, func(t task.Task) (task.Change, error) { return t.Claim(w.Now()) })
	case t.CancelRequested && t.NextSubTask() >= 0:
		// Between subtasks: honour the cancel. (When the subtask that was running
		// was the last, the work is done and the task succeeds below.)
		return w.change(ctx, t, log, func(t task.Task) (task.Change, error) { return t.ConfirmCancel(w.Now()) })
	case t.NextSubTask() < 0:
		res, url, err := w.result(typ, t)
		if err != nil {
			return w.change(ctx, t, log, func(t task.Task) (task.Change, error) {
				return t.Fail(task.Error{ErrorCode: "RESULT_FAILED", Message: err.Error()}, w.Now())
			})
		}
		return w.change(ctx, t, log, func(t task.Task) (task.Change, error) { return t.Succeed(res, url, w.Now()) })
	case *attempted && !w.timeLeft(ctx):
		// Continue in a fresh delivery rather than start a step that may not finish.
		// The first attempt of a delivery always starts, so that every delivery makes
		// progress even when the function timeout is shorter than the reserve.
		return end(continueAfter(0)), nil
	default:
		*attempted = true
		return w.attempt(ctx, typ, t, log, w.starter(typ, task.Task.StartAttempt))
	}
}

// starter is how the worker starts the next attempt of a task of typ: with start (ClaimAndStart
// or StartAttempt), or, for a type of callback steps only, with its callback in the same
// change (see task.Type.Callbacks).
func (w *Worker) starter(typ *task.Type, start func(task.Task, time.Time) (task.Change, int, error)) func(task.Task) (task.Change, int, error) {
	if cb := typ.Callbacks; cb != nil {
		return func(t task.Task) (task.Change, int, error) {
			return t.StartCallbackStep(cb.Heartbeat, cb.Timeout, w.Now())
		}
	}
	return func(t task.Task) (task.Change, int, error) { return start(t, w.Now()) }
}

// waiting is the step for a task whose subtask i is suspended (task.Suspend): nothing runs
// it, so there is no lease to wait out. A cancel requested meanwhile ends the task at once;
// before the wait's end the task continues in a message delayed until then (chained past
// queue.MaxDelay); after it, the attempt is resumed: the step is called again to end it.
func (w *Worker) waiting(ctx context.Context, typ *task.Type, t *task.Task, log *slog.Logger, i int, attempted *bool) (next, error) {
	switch left := t.SubTasks[i].WaitUntil.Sub(w.Now()); {
	case t.CancelRequested && t.SubTasks[i].Callback != nil && left > 0:
		// A callback step ends cancelled when its service reports or its deadline passes
		// (the contract's "Callbacks"), not at a stray message.
		return end(continueAfter(min(left, queue.MaxDelay))), nil
	case t.CancelRequested:
		return w.change(ctx, t, log, func(t task.Task) (task.Change, error) { return t.ConfirmCancel(w.Now()) })
	case left > 0:
		return end(continueAfter(min(left, queue.MaxDelay))), nil
	}
	*attempted = true
	for resumed := true; ; resumed = false {
		nx, j, err := w.runAndRecord(ctx, typ, t, log, i, resumed)
		if err != nil || j < 0 {
			return nx, err
		}
		i = j
	}
}

// change writes the transition step chose from *t and has advance decide again, unless the
// task ended. The transition is made from *t as read only: after a lost race, advance
// decides again from the fresh read, which may call for another step altogether (the task
// was cancelled, or another worker claimed it).
func (w *Worker) change(ctx context.Context, t *task.Task, log *slog.Logger, transition func(task.Task) (task.Change, error)) (next, error) {
	if _, err := w.write(ctx, t, log, asRead(*t, transition)); err != nil {
		return next{}, err
	}
	if t.Status.Terminal() {
		return end(done()), nil
	}
	return decideAgain(), nil
}

// asRead decides transition for the task read as read and stops on any later read of it (see
// change).
func asRead(read task.Task, transition func(task.Task) (task.Change, error)) task.Decide {
	return func(t task.Task) (task.Decision, error) {
		if t.Version != read.Version {
			return task.Stop(), nil
		}
		return task.FromTransition(transition(t))
	}
}

// onlyIf decides transition while guard holds for the task as (re-)read, and stops once the
// task ended or guard fails: the transition is then no longer this worker's to make.
func onlyIf(guard func(task.Task) bool, transition func(task.Task) (task.Change, error)) task.Decide {
	return func(t task.Task) (task.Decision, error) {
		if t.Status.Terminal() || !guard(t) {
			return task.Stop(), nil
		}
		return task.FromTransition(transition(t))
	}
}

// write makes one stored change through the task writer (task.Writer.UpdateFrom) and brings
// *t up to date with the task as stored, or as last read. A refused transition is an error:
// the worker only asks for transitions its reading allows, so a refusal is a bug, and the
// message is left to SQS (and, in the end, the dead-letter queue).
func (w *Worker) write(ctx context.Context, t *task.Task, log *slog.Logger, decide task.Decide) (task.Verdict, error) {
	fresh, v, err := task.Writer{Store: w.Store, Now: w.Now, Hooks: w.Hooks, Log: w.Log}.UpdateFrom(ctx, *t, decide)
	*t = fresh
	if err != nil {
		return v, err
	}
	if v == task.Changed && t.Status.Terminal() {
		log.InfoContext(ctx, "task ended", "status", t.Status)
	}
	return v, nil
}

// movedOn ends a delivery whose attempt's outcome is no longer this worker's to record.
func movedOn(ctx context.Context, t *task.Task, log *slog.Logger) next {
	log.InfoContext(ctx, "task moved on elsewhere; message dropped", "status", t.Status)
	return end(done())
}

// attempt records, with start (StartAttempt, or ClaimAndStart for a pending task), an attempt
// of the next subtask of *t (or, its budget spent, fails the task), runs it and records its
// outcome; when that outcome write also started the next subtask (see outcome), it runs that
// one in turn, and so on.
func (w *Worker) attempt(ctx context.Context, typ *task.Type, t *task.Task, log *slog.Logger, start func(task.Task) (task.Change, int, error)) (next, error) {
	i := -1
	v, err := w.write(ctx, t, log, asRead(*t, func(t task.Task) (task.Change, error) {
		ch, idx, err := start(t)
		i = idx
		if errors.Is(err, task.ErrAttemptsSpent) {
			return t.Fail(task.Error{ErrorCode: "ATTEMPTS_EXHAUSTED", Message: fmt.Sprintf("subtask %s used its %d attempts", t.SubTasks[idx].Name, t.MaxAttempts)}, w.Now())
		}
		return ch, err
	}))
	switch {
	case err != nil:
		return next{}, err
	case v != task.Changed:
		return decideAgain(), nil // lost a race: decide again from the fresh state
	case t.Status.Terminal():
		return end(done()), nil // failed: the budget was spent
	case t.SubTasks[i].Waiting():
		return decideAgain(), nil // its callback started with it: the step waits (see waiting)
	}
	for {
		nx, j, err := w.runAndRecord(ctx, typ, t, log, i, false)
		if err != nil || j < 0 {
			return nx, err
		}
		i = j
	}
}

// runAndRecord runs the attempt of subtask i that *t shows recorded (resumed: again, its
// wait over) and records its outcome.
// It returns the next subtask's index when the outcome's write also started that subtask's
// attempt, which the caller then runs; -1 otherwise, with what advance does next.
func (w *Worker) runAndRecord(ctx context.Context, typ *task.Type, t *task.Task, log *slog.Logger, i int, resumed bool) (next, int, error) {
	attempt := t.SubTasks[i].Attempts
	log.InfoContext(ctx, "subtask attempt", "subTask", t.SubTasks[i].Name, "attempt", attempt, "resumed", resumed)

	output, runErr := w.run(ctx, typ, task.Attempt{Task: t.Clone(), Index: i, Attempt: attempt, Resumed: resumed}, log)
	wait, suspend := task.SuspendedFor(runErr)

	// Record the outcome only if the stored task still shows this very attempt; otherwise
	// another worker took the task over (or a cancel ended it) and owns what happens next.
	// An attempt is named by its run, its subtask and its number: within a run a subtask's
	// attempts only count up, and a retry starts a new run whose attempts count from 1
	// again, so without the run an old run's attempt finishing late would take the outcome
	// of the new run's attempt of the same number (and end a task still being worked on).
	run := t.RetryCount
	ours := func(t task.Task) bool {
		return t.Status == task.Processing && t.RetryCount == run && i < len(t.SubTasks) &&
			t.SubTasks[i].Status == task.Processing && t.SubTasks[i].Attempts == attempt &&
			t.SubTasks[i].Waiting() == resumed && (!resumed || !t.SubTasks[i].WaitUntil.After(w.Now()))
	}
	// The outcome to record: finished (with the step that follows, see finish), retried
	// after a backoff, or failed for good.
	var record func(task.Task) (task.Change, error)
	retry := false
	started := -1 // the subtask whose attempt the decided finish also started
	switch {
	case suspend:
		record = func(t task.Task) (task.Change, error) { return t.Suspend(i, w.Now().Add(wait), w.Now()) }
		if hb, to, callback := task.AwaitsCallback(runErr); callback {
			record = func(t task.Task) (task.Change, error) { return t.StartCallback(i, hb, to, w.Now()) }
		}
	case runErr == nil:
		record = func(t task.Task) (task.Change, error) {
			ch, j, err := w.finish(ctx, typ, t.WithOutput(i, output), i)
			started = j
			return ch, err
		}
	case task.IsRetryable(runErr) && attempt < t.MaxAttempts:
		e := stepError(runErr, "STEP_RETRYABLE")
		e.Message = fmt.Sprintf("attempt %d of %d failed: %s", attempt, t.MaxAttempts, e.Message)
		record = func(t task.Task) (task.Change, error) { return t.RetryAttempt(i, e, w.Now()) }
		retry = true
	default:
		e := stepError(runErr, "STEP_FAILED")
		if task.IsRetryable(runErr) {
			e.Message = fmt.Sprintf("failed after %d attempts: %s", attempt, e.Message)
		}
		record = func(t task.Task) (task.Change, error) { return t.Fail(e, w.Now()) }
	}
	v, err := w.write(ctx, t, log, onlyIf(ours, record))
	switch {
	case err != nil:
		return next{}, -1, err
	case v == task.Stopped && resumed && t.Status == task.Processing && t.SubTasks[i].Waiting():
		// Its wait was extended meanwhile (a callback's heartbeat): wait again.
		return decideAgain(), -1, nil
	case v == task.Stopped:
		return movedOn(ctx, t, log), -1, nil
	case t.Status.Terminal():
		return end(done()), -1, nil
	case started >= 0:
		return next{}, started, nil

	case !retry || t.CancelRequested:
		// The next subtask, or the cancel (no backoff for a task that is to end cancelled),
		// or a suspended attempt's delayed message (see waiting).
		return decideAgain(), -1, nil
	}
	d := w.backoff(attempt)
	if i < len(typ.Steps) && typ.Steps[i].BackoffSeconds > 0 {
		d = Backoff(time.Duration(typ.Steps[i].BackoffSeconds)*time.Second, attempt) // the type's own, for this step
	}
	log.InfoContext(ctx, "subtask will be retried", "subTask", t.SubTasks[i].Name, "attempt", attempt, "delay", d)
	return end(continueAfter(d)), -1, nil
}

// finish records that subtask i of t (as re-read) succeeded, folded into one write with the
// step that step would take next in this delivery, to save a write per subtask (issue #9):
//   - the last subtask done: the success (FinishAndSucceed), unless the type's Result fails;
//   - a cancel requested meanwhile: the cancel (FinishAndConfirmCancel);
//   - time left in the invocation: the next subtask's attempt (FinishAndStart), whose index
//     it returns (-1 otherwise), unless that subtask's budget is spent.
//
// Where the next step is not taken in this delivery (too little time left) or is not a
// plain transition (a failing Result, a spent budget: a Fail), the finish is written alone
// and advance decides the next step as before. A folded write whose answer is lost is
// recognised by reading it back (task.Writer), so its attempt is not taken for another
// delivery's; only if that read fails too does the redelivery wait out the attempt's lease
// and spend it.
func (w *Worker) finish(ctx context.Context, typ *task.Type, t task.Task, i int) (task.Change, int, error) {
	finished, err := t.FinishSubTask(i, w.Now())
	switch {
	case err != nil:
		return finished, -1, err
	case finished.Task.NextSubTask() < 0:
		res, url, err := w.result(typ, &finished.Task)
		if err != nil {
			return finished, -1, nil
		}
		ch, err := t.FinishAndSucceed(i, res, url, w.Now())
		return ch, -1, err
	case t.CancelRequested:
		ch, err := t.FinishAndConfirmCancel(i, w.Now())
		return ch, -1, err
	case !w.timeLeft(ctx):
		return finished, -1, nil
	}
	ch, j, err := t.FinishAndStart(i, w.Now())
	if errors.Is(err, task.ErrAttemptsSpent) {
		return finished, -1, nil // advance fails the task
	}
	return ch, j, err
}

// run performs the attempt, turning a panic in the type's code into a permanent step error:
// one faulty step must not bring down the worker (and, in the local runner, the API).
//
// The step's context ends recordMargin before the invocation's (see stepContext), so that a
// step which runs until its context ends leaves the worker time to record the attempt. An
// error once that context has ended is the step overrunning, not failing: a retryable
// STEP_TIMED_OUT, whatever the step made of ctx.Err(), so that the next attempt (with a
// fresh invocation's time) may finish it.
func (w *Worker) run(ctx context.Context, typ *task.Type, a task.Attempt, log *slog.Logger) (output []byte, err error) {
	stepCtx, cancel := stepContext(ctx)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "step panicked", "panic", p, "stack", string(debug.Stack()))
			output, err = nil, &task.CodedError{Code: "STEP_PANICKED", Message: "the step crashed; see the worker's log"}
		}
	}()
	output, err = typ.Perform(stepCtx, a)
	if _, suspend := task.SuspendedFor(err); suspend {
		return nil, err
	}
	if err != nil && stepCtx.Err() != nil {
		log.WarnContext(ctx, "step stopped by its deadline", "err", err)
		err = task.Retryable(&task.CodedError{Code: "STEP_TIMED_OUT", Message: "the step did not finish in the time its invocation had left: " + err.Error()})
	}
	return output, err
}

// recordMargin is how long before the invocation's deadline a step's context ends: the time
// to record the attempt's outcome (a conditional write, perhaps a re-read and a retry of it,
// and the send of the task's next message). The worker's Reserve must cover it as well as the
// longest step; with less time left than four margins, a quarter of what is left is kept.
const recordMargin = 5 * time.Second

// stepContext is the context a step runs under: ctx, ending recordMargin before ctx's
// deadline when it has one.
func stepContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(recordMargin, time.Until(dl)/4)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// leaseLeft is how long the attempt under way in t (its next subtask processing) may still
// be running in another worker: the lease from the attempt's start, which is t's updatedAt
// (a cancel requested since moves it later, which only makes the wait longer). Zero or less:
// no attempt is under way, or its worker must be gone.
func (w *Worker) leaseLeft(t *task.Task, lease time.Duration) time.Duration {
	i := t.NextSubTask()
	if lease <= 0 || t.Status != task.Processing || i < 0 || t.SubTasks[i].Status != task.Processing {
		return 0
	}
	if t.UpdatedAt.Before(w.OrphanedBefore) {
		return 0 // started by a worker known to be gone
	}
	return min(t.UpdatedAt.Add(lease).Sub(w.Now()), queue.MaxDelay)
}

// result builds the task's result. A panic in the type's Result is an error (the task fails
// with RESULT_FAILED), as a panicking step is: it would otherwise fail every delivery of the
// message until the dead-letter queue.
func (w *Worker) result(typ *task.Type, t *task.Task) (res []byte, url string, err error) {
	if typ.Result == nil {
		return []byte("{}"), "", nil
	}
	defer func() {
		if p := recover(); p != nil {
			w.Log.Error("result panicked", "taskId", t.ID, "panic", p, "stack", string(debug.Stack()))
			res, url, err = nil, "", errors.New("building the result crashed; see the worker's log")
		}
	}()
	return typ.Result(t)
}

// backoff is the delay after the attempt-th failed attempt (Backoff).
func (w *Worker) backoff(attempt int) time.Duration { return Backoff(w.BackoffBase, attempt) }

// Backoff is the delay after the attempt-th failed attempt: base·2^(attempt-1), capped at
// SQS's longest delay. The API's Retry-After tells a poller the same (shared/apigw).
func Backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < queue.MaxDelay; i++ {
		d *= 2
	}
	if d > queue.MaxDelay {
		d = queue.MaxDelay
	}
	return d
}

// timeLeft reports whether a new subtask may start before the invocation's deadline.
func (w *Worker) timeLeft(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > w.Reserve
}

// stepError turns a step's error into the record kept in Task.Errors; a CodedError keeps its
// code, any other error gets the fallback code.
func stepError(err error, fallback string) task.Error {
	var ce *task.CodedError
	if errors.As(err, &ce) {
		return task.Error{ErrorCode: ce.Code, Message: ce.Message}
	}
	return task.Error{ErrorCode: fallback, Message: err.Error()}
}
