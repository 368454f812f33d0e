package task

import (
	"encoding/json"
	"errors"
	"time"
)

// Callback is the state of a callback step's attempt (the contract's "Callbacks"): an
// outside service reports the attempt's heartbeats and its end through the attempt's callback
// URL, whose token (shared/callback) names the task, the subtask, the attempt and the run.
// Nothing of the token is stored: the token is sealed, and the stored Callback only says
// which attempt may be reported and how it ended.
//
// While the attempt runs the subtask is processing and waiting (WaitUntil: the heartbeat
// deadline, never later than TimeoutAt), so the worker wakes it only to time it out.
type Callback struct {
	// Attempt is the subtask's attempt the callback belongs to.
	Attempt int `json:"attempt"`
	// Heartbeat is how long the attempt lives after its start or its last heartbeat.
	Heartbeat time.Duration `json:"heartbeat"`
	// TimeoutAt is when the attempt times out whatever its heartbeats.
	TimeoutAt time.Time `json:"timeoutAt"`
	// Progress is the step's own progress (0..100) from the last heartbeat; the task's
	// progress counts it as that share of the step.
	Progress int `json:"progress,omitempty"`
	// Ended identifies the report that ended the attempt (a succeed or a fail: its action,
	// output and error), empty while it runs and when it timed out; a repeated report is
	// recognised by it and answered as done (see ErrCallbackEnded).
	Ended string `json:"ended,omitempty"`
}

// Errors of the callback transitions; the API answers the first 404 CALLBACK_NOT_FOUND and
// the second 409 CALLBACK_ENDED.
var (
	// ErrCallbackNotFound: no attempt of the task waits for this callback (it ended by a
	// timeout, by a cancel, by a retry of the task; or the task is gone).
	ErrCallbackNotFound = errors.New("callback not found")
	// ErrCallbackEnded: the callback's attempt was ended by another report than this one.
	ErrCallbackEnded = errors.New("the callback's attempt already ended with another outcome")
)

// CallbackRef names a callback attempt: the subtask, its attempt and the run (retryCount).
type CallbackRef struct {
	Index   int
	Attempt int
	Run     int
}

// CallbackWaiting reports whether ref's attempt is under way and waits for its callback at
// now: the task processing in ref's run, the subtask processing in ref's attempt with its
// callback started, not ended, and its deadline not passed.
func (t *Task) CallbackWaiting(ref CallbackRef, now time.Time) bool {
	if t.Status != Processing || t.RetryCount != ref.Run || ref.Index < 0 || ref.Index >= len(t.SubTasks) {
		return false
	}
	s := &t.SubTasks[ref.Index]
	return s.Status == Processing && s.Attempts == ref.Attempt && s.Callback != nil &&
		s.Callback.Attempt == ref.Attempt && s.Callback.Ended == "" && s.WaitUntil != nil && now.Before(*s.WaitUntil)
}

// CallbackEnding reports how ref's attempt ended when a report ended it: the Ended of its
// callback, "" when it is not a callback attempt of this run that a report ended.
func (t *Task) CallbackEnding(ref CallbackRef) string {
	if t.RetryCount != ref.Run || ref.Index < 0 || ref.Index >= len(t.SubTasks) {
		return ""
	}
	cb := t.SubTasks[ref.Index].Callback
	if cb == nil || cb.Attempt != ref.Attempt {
		return ""
	}
	return cb.Ended
}

// RunningCallback is the callback attempt under way in t, if any (the one a service principal
// is shown).
func (t *Task) RunningCallback() (CallbackRef, bool) {
	i := t.NextSubTask()
	if t.Status != Processing || i < 0 {
		return CallbackRef{}, false
	}
	s := &t.SubTasks[i]
	if s.Status != Processing || s.Callback == nil || s.Callback.Ended != "" || s.Callback.Attempt != s.Attempts || s.WaitUntil == nil {
		return CallbackRef{}, false
	}
	return CallbackRef{Index: i, Attempt: s.Attempts, Run: t.RetryCount}, true
}

// CallbackStarted reports whether the change from before to after started a callback attempt
// (the event tasklane.task.callbackStarted is derived from it: shared/event's Of), and which.
func CallbackStarted(before *Task, after Task) (CallbackRef, bool) {
	ref, ok := after.RunningCallback()
	if !ok {
		return CallbackRef{}, false
	}
	if before != nil {
		if was, ok := before.RunningCallback(); ok && was == ref {
			return CallbackRef{}, false
		}
	}
	return ref, true
}

// StartCallback records that the attempt of subtask i, under way, waits for its callback:
// the subtask stays processing, waiting until the first of heartbeat and timeout from now
// (the worker then times it out). It is refused unless subtask i is being attempted and not
// yet waiting, so that a duplicate cannot start the same attempt's callback twice.
func (t Task) StartCallback(i int, heartbeat, timeout time.Duration, now time.Time) (Change, error) {
	if t.Status != Processing || t.CancelRequested || i < 0 || i >= len(t.SubTasks) || t.SubTasks[i].Status != Processing || t.SubTasks[i].WaitUntil != nil || heartbeat <= 0 || timeout <= 0 {
		return t.refuse(OpStartCallback, ErrInvalidTransition)
	}
	c := t.begin(OpStartCallback, now)
	s := &c.Task.SubTasks[i]
	at := c.Task.UpdatedAt
	s.Callback = &Callback{Attempt: s.Attempts, Heartbeat: heartbeat, TimeoutAt: at.Add(timeout)}
	until := earlier(at.Add(heartbeat), s.Callback.TimeoutAt)
	s.WaitUntil = &until
	return c, nil
}

// StartCallbackStep starts the next subtask's attempt and its callback in one change: the
// claim of a pending task, the attempt (StartAttempt) and StartCallback. A service task's
// steps are started so by the API (the create, each report that ends a step), which answers
// the service with the callback at once; the worker starts them as any callback step.
// It returns the subtask's index; refused where a part is (ErrAttemptsSpent among them).
func (t Task) StartCallbackStep(heartbeat, timeout time.Duration, now time.Time) (Change, int, error) {
	first := Change{Task: t, FromStatus: t.Status, FromVersion: t.Version}
	var err error
	if t.Status == Pending {
		if first, err = t.Claim(now); err != nil {
			return t.refuseFolded(OpStartCallback, err, -1)
		}
	}
	started, i, err := first.Task.StartAttempt(now)
	if err != nil {
		return t.refuseFolded(OpStartCallback, err, i)
	}
	cb, err := started.Task.StartCallback(i, heartbeat, timeout, now)
	if err != nil {
		return t.refuseFolded(OpStartCallback, err, i)
	}
	return fold(OpStartCallback, Change{Task: t, FromStatus: t.Status, FromVersion: t.Version}, cb), i, nil
}

// Heartbeat is the service reporting ref's attempt alive: its deadline moves to heartbeat
// from now (never past TimeoutAt), and the step's progress (nil: unchanged) and the task's
// message (empty: unchanged) are set. Refused with ErrCallbackNotFound unless the attempt
// waits for its callback (CallbackWaiting): a late heartbeat does not revive a timed-out one.
func (t Task) Heartbeat(ref CallbackRef, progress *int, message string, now time.Time) (Change, error) {
	if !t.CallbackWaiting(ref, now) {
		return t.refuse(OpHeartbeat, ErrCallbackNotFound)
	}
	c := t.begin(OpHeartbeat, now)
	s := &c.Task.SubTasks[ref.Index]
	until := earlier(c.Task.UpdatedAt.Add(s.Callback.Heartbeat), s.Callback.TimeoutAt)
	s.WaitUntil = &until
	if progress != nil {
		s.Callback.Progress = min(max(*progress, 0), 100)
	}
	if message != "" {
		c.Task.Message = message
	}
	c.Task.Progress = c.Task.progress()
	return c, nil
}

// SucceedCallback is the service reporting ref's attempt done with output: the subtask
// succeeds (FinishSubTask) with the output, and ended (the report's identity, see
// Callback.Ended) is kept. What follows is the caller's: the worker's next step, or for a
// service task the next callback (StartCallbackStep) or the success.
func (t Task) SucceedCallback(ref CallbackRef, output json.RawMessage, ended string, now time.Time) (Change, error) {
	if !t.CallbackWaiting(ref, now) || ended == "" {
		return t.refuse(OpSucceedCallback, ErrCallbackNotFound)
	}
	c, err := t.WithOutput(ref.Index, output).FinishSubTask(ref.Index, now)
	if err != nil {
		return c, err
	}
	c.FromVersion, c.Op = t.Version, OpSucceedCallback
	c.Task.SubTasks[ref.Index].Callback.Ended = ended
	c.Task.SubTasks[ref.Index].Callback.Progress = 0
	return c, nil
}

// FailCallback is the service reporting ref's attempt failed with e: retried (RetryAttempt,
// the error kept as a warning) when retryable and the budget allows another attempt and no
// cancel is requested, else the run ends (Fail: in failure, or cancelled if a cancel was
// requested). ended is kept as in SucceedCallback.
func (t Task) FailCallback(ref CallbackRef, e Error, retryable bool, ended string, now time.Time) (Change, error) {
	if !t.CallbackWaiting(ref, now) || ended == "" {
		return t.refuse(OpFailCallback, ErrCallbackNotFound)
	}
	var c Change
	var err error
	if retryable && ref.Attempt < t.MaxAttempts && !t.CancelRequested {
		c, err = t.RetryAttempt(ref.Index, e, now)
	} else {
		c, err = t.Fail(e, now)
	}
	if err != nil {
		return c, err
	}
	c.Op = OpFailCallback
	c.Task.SubTasks[ref.Index].Callback.Ended = ended
	c.Task.SubTasks[ref.Index].Callback.Progress = 0
	c.Task.Progress = c.Task.progress()
	return c, nil
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
