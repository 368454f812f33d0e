package task

import (
	"encoding/json"
	"errors"
	"time"
)

// Change is a transition's outcome: the task as it should be stored, and the status and
// version it was computed from. A store writes it only if the stored task is still at
// FromStatus and FromVersion, and otherwise returns a *ConflictError.
type Change struct {
	Task        Task
	FromStatus  Status
	FromVersion int64
	// Op names the transition that made the change, for the hooks told of it (Stored.Op).
	Op Op
}

// Op names a kind of stored change: one per transition, and OpCreate for a new task. A
// refused transition's TransitionError.Op is the same name.
type Op string

// The kinds of change.
const (
	OpCreate        Op = "create"
	OpClaim         Op = "claim"
	OpStartAttempt  Op = "start attempt"
	OpFinishSubTask Op = "finish subtask"
	OpRetryAttempt  Op = "retry attempt"
	OpFail          Op = "fail"
	OpSucceed       Op = "succeed"
	OpCancel        Op = "cancel"
	OpConfirmCancel Op = "confirm cancel"
	OpRetry         Op = "retry"
	OpSuspend       Op = "suspend attempt"
	// The callback transitions (callback.go).
	OpStartCallback   Op = "start callback"
	OpHeartbeat       Op = "heartbeat"
	OpSucceedCallback Op = "succeed callback"
	OpFailCallback    Op = "fail callback"
	// The folded transitions: two of the above in one stored change (see fold).
	OpClaimAndStart          Op = "claim and start attempt"
	OpFinishAndStart         Op = "finish subtask and start attempt"
	OpFinishAndSucceed       Op = "finish subtask and succeed"
	OpFinishAndConfirmCancel Op = "finish subtask and confirm cancel"
)

// Empty reports whether the transition changed nothing (e.g. a second cancel of a task
// whose cancel is already requested); such a change need not be written.
func (c Change) Empty() bool { return c.Task.Version == c.FromVersion }

// begin starts a change of t by op: a deep copy with the next version and updatedAt.
func (t Task) begin(op Op, now time.Time) Change {
	next := t.Clone()
	next.Version = t.Version + 1
	next.WriteID = NewWriteID()
	next.UpdatedAt = later(now.UTC(), t.UpdatedAt)
	return Change{Task: next, FromStatus: t.Status, FromVersion: t.Version, Op: op}
}

// later keeps updatedAt from going backwards when clocks of two writers disagree.
func later(now, prev time.Time) time.Time {
	if now.Before(prev) {
		return prev
	}
	return now
}

func (t Task) refuse(op Op, err error) (Change, error) {
	return Change{}, &TransitionError{Op: string(op), From: t.Status, Err: err}
}

// Claim is a worker taking a pending task: pending → processing.
func (t Task) Claim(now time.Time) (Change, error) {
	if t.Status != Pending {
		return t.refuse(OpClaim, ErrInvalidTransition)
	}
	c := t.begin(OpClaim, now)
	c.Task.Status = Processing
	if c.Task.StartedAt == nil {
		at := c.Task.UpdatedAt
		c.Task.StartedAt = &at
	}
	return c, nil
}

// StartAttempt records, before a step runs, that the next unfinished subtask is being
// attempted once more, so that a worker that dies mid-step still spends an attempt. It is
// refused when the task is not processing, when a cancel is requested, or when the subtask's
// attempt budget is spent (the caller then fails the task).
func (t Task) StartAttempt(now time.Time) (Change, int, error) {
	i := t.NextSubTask()
	switch {
	case t.Status != Processing || t.CancelRequested || i < 0:
		c, err := t.refuse(OpStartAttempt, ErrInvalidTransition)
		return c, -1, err
	case t.SubTasks[i].Attempts >= t.MaxAttempts:
		c, err := t.refuse(OpStartAttempt, ErrAttemptsSpent)
		return c, i, err
	}
	c := t.begin(OpStartAttempt, now)
	s := &c.Task.SubTasks[i]
	s.Status = Processing
	s.Attempts++
	s.WaitUntil = nil
	at := c.Task.UpdatedAt
	if s.StartedAt == nil {
		s.StartedAt = &at
	}
	return c, i, nil
}

// FinishSubTask records that subtask i succeeded: processing → success. It is refused if
// the subtask is not the one being attempted, so a duplicate cannot count it twice.
func (t Task) FinishSubTask(i int, now time.Time) (Change, error) {
	if t.Status != Processing || i < 0 || i >= len(t.SubTasks) || t.SubTasks[i].Status != Processing {
		return t.refuse(OpFinishSubTask, ErrInvalidTransition)
	}
	c := t.begin(OpFinishSubTask, now)
	s := &c.Task.SubTasks[i]
	s.Status = Success
	s.WaitUntil = nil
	at := c.Task.UpdatedAt
	s.FinishedAt = &at
	c.Task.Progress = c.Task.progress()
	return c, nil
}

// RetryAttempt records a retryable failure of subtask i with budget left: the subtask goes
// back to pending (its attempts kept) and the error is kept as a warning.
func (t Task) RetryAttempt(i int, e Error, now time.Time) (Change, error) {
	if t.Status != Processing || i < 0 || i >= len(t.SubTasks) || t.SubTasks[i].Status != Processing {
		return t.refuse(OpRetryAttempt, ErrInvalidTransition)
	}
	c := t.begin(OpRetryAttempt, now)
	c.Task.SubTasks[i].Status = Pending
	c.Task.SubTasks[i].WaitUntil = nil
	e.ErrorType = ErrorTypeWarning
	c.Task.addError(c.Task.stamp(e, i))
	return c, nil
}

// Fail ends the run in failure: the subtask being attempted (or the next one) fails, the
// ones after it stay pending for a retry, and the error is recorded. If a cancel was
// requested meanwhile, the task ends cancelled instead (the error is still recorded). It is taken by a worker
// on a permanent error or a spent budget, and by the dead-letter handler when a task's
// message could not be delivered; so it is allowed from pending and processing.
func (t Task) Fail(e Error, now time.Time) (Change, error) {
	if !t.Status.Active() {
		return t.refuse(OpFail, ErrInvalidTransition)
	}
	c := t.begin(OpFail, now)
	i := c.Task.NextSubTask()
	if i >= 0 {
		s := &c.Task.SubTasks[i]
		s.Status = Failure
		s.WaitUntil = nil
		at := c.Task.UpdatedAt
		s.FinishedAt = &at
	}
	e.ErrorType = ErrorTypeError
	c.Task.addError(c.Task.stamp(e, i))
	if t.CancelRequested {
		// A cancel was accepted while the subtask ran: the task ends cancelled, as the
		// client was told, with the failure kept in its errors.
		c.Task.Message = "cancelled at the client's request; meanwhile: " + e.Message
		c.Task.cancel()
		return c, nil
	}
	c.Task.Message = e.Message
	c.Task.end(Failure)
	return c, nil
}

// Succeed ends the run in success once every subtask has succeeded; the result and the
// executor's result URL, if any, are kept.
func (t Task) Succeed(result json.RawMessage, resultURL string, now time.Time) (Change, error) {
	if t.Status != Processing || t.NextSubTask() >= 0 {
		return t.refuse(OpSucceed, ErrInvalidTransition)
	}
	c := t.begin(OpSucceed, now)
	c.Task.Result = result
	c.Task.ResultURL = resultURL
	c.Task.Message = ""
	c.Task.CancelRequested = false
	c.Task.end(Success)
	return c, nil
}

// Cancel is a client's cancel.
//   - pending: cancelled at once.
//   - processing with no subtask running (just claimed, or waiting to retry an attempt):
//     cancelled at once too, with cancelRequested set; a worker's next conditional write
//     loses and it stops.
//   - processing with an attempt suspended until later (Suspend: a wait step), nothing
//     running it and nothing to report it: cancelled at once as well, that subtask too, so
//     that a cancel does not wait out the wait's delayed message (up to 15 minutes).
//   - processing with a subtask running, or waiting for its callback (whose service
//     reports, or times out, as the contract's "Callbacks" says): cancelRequested is set;
//     the running subtask may finish and the worker ends the task cancelled before the
//     next one (ConfirmCancel). Asking again changes nothing and is accepted, unless the
//     subtask has stopped meanwhile (it failed and waits to be retried): then the task is
//     cancelled at once.
//   - success, failure, cancelled: refused with ErrNotCancellable.
func (t Task) Cancel(now time.Time) (Change, error) {
	if !t.Cancellable() {
		return t.refuse(OpCancel, ErrNotCancellable)
	}
	if t.Status == Processing && t.CancelRequested && t.running(now) {
		return Change{Task: t.Clone(), FromStatus: t.Status, FromVersion: t.Version, Op: OpCancel}, nil
	}
	c := t.begin(OpCancel, now)
	if t.Status == Processing {
		c.Task.CancelRequested = true
		if t.running(now) {
			return c, nil
		}
	}
	c.Task.cancel()
	return c, nil
}

// ConfirmCancel is the worker honouring cancelRequested between subtasks: processing →
// cancelled, and every subtask not started ends cancelled. Only the worker holding the task's
// message calls it, so a subtask still marked processing is an attempt whose worker died
// (its message came back); that attempt ends cancelled too.
func (t Task) ConfirmCancel(now time.Time) (Change, error) {
	if t.Status != Processing || !t.CancelRequested {
		return t.refuse(OpConfirmCancel, ErrInvalidTransition)
	}
	c := t.begin(OpConfirmCancel, now)
	c.Task.cancel()
	return c, nil
}

// Retry is a client's retry, only from failure: the task goes back to pending with
// retryCount + 1; subtasks that succeeded stay succeeded (their attempts unchanged) and are
// not run again; the failed one and those after it start over with no attempts. Errors are
// kept as history.
func (t Task) Retry(now time.Time, allowed bool) (Change, error) {
	if t.Status != Failure || !allowed {
		return t.refuse(OpRetry, ErrNotRetryable)
	}
	c := t.begin(OpRetry, now)
	for i := range c.Task.SubTasks {
		s := &c.Task.SubTasks[i]
		if s.Status != Success {
			*s = SubTask{Name: s.Name, Description: s.Description, Status: Pending}
		}
	}
	c.Task.Status = Pending
	c.Task.RetryCount++
	c.Task.Message = ""
	c.Task.CancelRequested = false
	c.Task.Result = nil
	c.Task.FinishedAt = nil
	c.Task.ExpiresAt = nil
	c.Task.Progress = c.Task.progress()
	return c, nil
}

// Suspend records that the attempt of subtask i, under way, waits until until without
// running anywhere (a wait step; see task.Suspend): the subtask stays processing with
// WaitUntil set, and the worker resumes the same attempt once until has passed (or the task's
// cancel ends it, ConfirmCancel). It is refused unless subtask i is being attempted and not
// already waiting, so that a duplicate cannot move a wait's end.
func (t Task) Suspend(i int, until time.Time, now time.Time) (Change, error) {
	if t.Status != Processing || i < 0 || i >= len(t.SubTasks) || t.SubTasks[i].Status != Processing || t.SubTasks[i].WaitUntil != nil {
		return t.refuse(OpSuspend, ErrInvalidTransition)
	}
	c := t.begin(OpSuspend, now)
	u := until.UTC()
	c.Task.SubTasks[i].WaitUntil = &u
	return c, nil
}

// WithOutput is t with subtask i's output set: what its step returned, recorded by the
// FinishSubTask (or fold of it) made from the task it returns. It is not a change of its own.
func (t Task) WithOutput(i int, out json.RawMessage) Task {
	c := t.Clone()
	if i >= 0 && i < len(c.SubTasks) {
		c.SubTasks[i].Output = cloneBytes(out)
	}
	return c
}

// The folded transitions below are two transitions in one stored change: the worker takes
// them when it goes straight from one to the other in the same delivery, so that a task of n
// subtasks costs n+2 writes (create, claim with the first start, each finish with the next
// start or, the last, with the success) instead of 2n+3. Each is allowed exactly where its
// two parts are allowed in turn, and yields the task they would yield in turn, but for one
// version step and one write ID; a refusal names the folded op and the status it was asked
// from, and wraps the refused part's reason (ErrAttemptsSpent among them).

// ClaimAndStart is Claim then StartAttempt: pending → processing with the first unfinished
// subtask's attempt recorded. It returns that subtask's index, as StartAttempt does.
func (t Task) ClaimAndStart(now time.Time) (Change, int, error) {
	claimed, err := t.Claim(now)
	if err != nil {
		return t.refuseFolded(OpClaimAndStart, err, -1)
	}
	started, i, err := claimed.Task.StartAttempt(now)
	if err != nil {
		return t.refuseFolded(OpClaimAndStart, err, i)
	}
	return fold(OpClaimAndStart, claimed, started), i, nil
}

// FinishAndStart is FinishSubTask(i) then StartAttempt: subtask i succeeded and the next
// one's attempt is recorded before it runs. It returns the next subtask's index. It is
// refused where either part is: in particular when a cancel is requested or i was the last.
func (t Task) FinishAndStart(i int, now time.Time) (Change, int, error) {
	finished, err := t.FinishSubTask(i, now)
	if err != nil {
		return t.refuseFolded(OpFinishAndStart, err, -1)
	}
	started, j, err := finished.Task.StartAttempt(now)
	if err != nil {
		return t.refuseFolded(OpFinishAndStart, err, j)
	}
	return fold(OpFinishAndStart, finished, started), j, nil
}

// FinishAndSucceed is FinishSubTask(i) then Succeed: the last subtask succeeded and the task
// with it (a cancel requested meanwhile is dropped, as Succeed drops it).
func (t Task) FinishAndSucceed(i int, result json.RawMessage, resultURL string, now time.Time) (Change, error) {
	finished, err := t.FinishSubTask(i, now)
	if err != nil {
		c, _, err := t.refuseFolded(OpFinishAndSucceed, err, -1)
		return c, err
	}
	succeeded, err := finished.Task.Succeed(result, resultURL, now)
	if err != nil {
		c, _, err := t.refuseFolded(OpFinishAndSucceed, err, -1)
		return c, err
	}
	return fold(OpFinishAndSucceed, finished, succeeded), nil
}

// FinishAndConfirmCancel is FinishSubTask(i) then ConfirmCancel: subtask i succeeded and the
// cancel requested while it ran is honoured before the next one. It is refused when i was the
// last subtask: the work is done, and the task succeeds instead (FinishAndSucceed).
func (t Task) FinishAndConfirmCancel(i int, now time.Time) (Change, error) {
	finished, err := t.FinishSubTask(i, now)
	if err != nil {
		c, _, err := t.refuseFolded(OpFinishAndConfirmCancel, err, -1)
		return c, err
	}
	if finished.Task.NextSubTask() < 0 {
		return t.refuse(OpFinishAndConfirmCancel, ErrInvalidTransition)
	}
	cancelled, err := finished.Task.ConfirmCancel(now)
	if err != nil {
		c, _, err := t.refuseFolded(OpFinishAndConfirmCancel, err, -1)
		return c, err
	}
	return fold(OpFinishAndConfirmCancel, finished, cancelled), nil
}

// fold makes first and then second, computed from first's task, one change of op: second's
// task, one version after first's origin, conditional on first's origin.
func fold(op Op, first, second Change) Change {
	c := second
	c.Task.Version = first.FromVersion + 1
	c.FromStatus, c.FromVersion, c.Op = first.FromStatus, first.FromVersion, op
	return c
}

// refuseFolded refuses the folded op from t's status with the reason its refused part gave.
func (t Task) refuseFolded(op Op, part error, i int) (Change, int, error) {
	reason := part
	var te *TransitionError
	if errors.As(part, &te) {
		reason = te.Err
	}
	c, err := t.refuse(op, reason)
	return c, i, err
}

// ErrAttemptsSpent refuses StartAttempt when the subtask has used its whole budget (a worker
// died in each attempt); the worker then fails the task.
var ErrAttemptsSpent = &attemptsSpent{}

type attemptsSpent struct{}

func (*attemptsSpent) Error() string { return "attempt budget spent" }

// running reports whether a subtask is mid-attempt at now: its attempt runs somewhere, or
// waits for its callback, or its suspension is over and a worker may be resuming it. An
// attempt suspended until after now is not: no worker resumes it before then.
func (t *Task) running(now time.Time) bool {
	for _, s := range t.SubTasks {
		if s.Status == Processing && (s.Callback != nil || s.WaitUntil == nil || !s.WaitUntil.After(now)) {
			return true
		}
	}
	return false
}

// cancel ends the task cancelled: its pending subtasks, and any still processing (an attempt
// suspended, or one whose worker died: see Cancel and ConfirmCancel), end cancelled too.
func (t *Task) cancel() {
	for i := range t.SubTasks {
		switch s := &t.SubTasks[i]; s.Status {
		case Pending:
			s.Status = Cancelled
		case Processing:
			s.Status = Cancelled
			s.WaitUntil = nil
			at := t.UpdatedAt
			s.FinishedAt = &at
		}
	}
	if t.Message == "" {
		t.Message = "cancelled at the client's request"
	}
	t.end(Cancelled)
}

// end moves the task to a terminal status and starts its retention.
func (t *Task) end(s Status) {
	t.Status = s
	at := t.UpdatedAt
	t.FinishedAt = &at
	exp := at.Add(t.retention())
	t.ExpiresAt = &exp
	t.Progress = t.progress()
}

func (t *Task) retention() time.Duration {
	if t.Retention <= 0 {
		return DefaultRetention
	}
	return t.Retention
}

func (t *Task) progress() int {
	if t.Status == Success {
		return 100
	}
	if len(t.SubTasks) == 0 {
		return 0
	}
	done := 0
	for _, s := range t.SubTasks {
		switch {
		case s.Status == Success:
			done += 100
		case s.Status == Processing && s.Callback != nil && s.Callback.Ended == "":
			done += s.Callback.Progress // the step's own report (Heartbeat)
		}
	}
	return done / len(t.SubTasks)
}

// MaxErrors bounds a task's error history: the newest are kept. Errors accumulate across
// attempts and retries, and a task's stored item must stay well below DynamoDB's 400 KB.
const MaxErrors = 50

// addError appends e to the history, dropping the oldest entries beyond MaxErrors.
func (t *Task) addError(e Error) {
	t.Errors = append(t.Errors, e)
	if over := len(t.Errors) - MaxErrors; over > 0 {
		t.Errors = append([]Error(nil), t.Errors[over:]...)
	}
}

func (t *Task) stamp(e Error, i int) Error {
	if i >= 0 && e.SubTask == "" {
		e.SubTask = t.SubTasks[i].Name
	}
	if e.Causes == nil {
		e.Causes = []string{}
	}
	e.At = t.UpdatedAt
	return e
}
