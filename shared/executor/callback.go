package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// DefaultCallbackTimeout is a callback step's overall time limit when the catalog names none;
// its heartbeat interval defaults to its timeout (no heartbeat needed).
const DefaultCallbackTimeout = 24 * time.Hour

// Callback waits, using no compute, for an outside service to report the attempt through its
// callback (the contract's "Callbacks"): its first call returns task.AwaitCallback, with
// which the worker records the callback and suspends the attempt until the first of the
// heartbeat and the timeout deadlines. The service's reports (shared/usecase's Callback)
// move the heartbeat deadline or end the attempt through the task's writer, so the worker
// never resumes an attempt that was reported; called again with Attempt.Resumed, the
// deadline passed unreported, and the attempt fails with CALLBACK_TIMED_OUT, retryable.
type Callback struct {
	// Heartbeat is the longest time between the start or a heartbeat and the next report.
	Heartbeat time.Duration
	// Timeout is the attempt's limit in all, heartbeats or not.
	Timeout time.Duration
}

// Execute awaits the callback, or times the attempt out once resumed.
func (c Callback) Execute(_ context.Context, a task.Attempt) (json.RawMessage, error) {
	to := c.Timeout
	if to <= 0 {
		to = DefaultCallbackTimeout
	}
	hb := c.Heartbeat
	if hb <= 0 || hb > to {
		hb = to
	}
	if !a.Resumed {
		return nil, task.AwaitCallback(hb, to)
	}
	return nil, task.Retryable(&task.CodedError{Code: "CALLBACK_TIMED_OUT", Message: fmt.Sprintf(
		"the callback of attempt %d was not reported within its heartbeat (%s) or timeout (%s)", a.Attempt, hb, to)})
}
