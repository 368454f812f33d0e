package task

import (
	"encoding/json"
	"slices"
	"time"
)

// DefaultRetention is how long a task stays readable after it ends, unless its creator asked
// for another retention (Glance's 48 hours).
const DefaultRetention = 48 * time.Hour

// MinRetention and MaxRetention bound the retention a create may ask for.
const (
	MinRetention = 60 * time.Second
	MaxRetention = 30 * 24 * time.Hour
)

// Task is one asynchronous job of one tenant. Its fields change only through the transition
// methods in transition.go, each of which returns a Change for a store to write
// conditionally; nothing outside this package assigns Status.
type Task struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Name  string `json:"name,omitempty"`
	Owner string `json:"owner"`
	// User is who created the task: the token's subject (empty locally without a token).
	User string `json:"user,omitempty"`
	// ServiceNamespace names the outside service that creates and drives a service task
	// (type external); empty for every other task. See shared/servicetask.
	ServiceNamespace string          `json:"serviceNamespace,omitempty"`
	Status           Status          `json:"status"`
	CancelRequested  bool            `json:"cancelRequested,omitempty"`
	Input            json.RawMessage `json:"input,omitempty"`
	Result           json.RawMessage `json:"result,omitempty"`
	// ResultURL is the executor's own URL for what the task made, if it names one; the 303
	// of a successful task points there instead of /v1/tasks/{id}/result.
	ResultURL string     `json:"resultUrl,omitempty"`
	Message   string     `json:"message,omitempty"`
	Progress  int        `json:"progress"`
	SubTasks  []SubTask  `json:"subTasks"`
	Errors    []Error    `json:"errors,omitempty"`
	Resources []Resource `json:"resources,omitempty"`
	// CallbackURL is where the task's events are POSTed as signed webhooks (shared/webhook);
	// empty: none. Checked at create (callbackurl.CheckURL).
	CallbackURL string `json:"callbackUrl,omitempty"`
	// RetryCount is how many times the task was retried; it also numbers the run, so a
	// worker can tell a message of an earlier run from one of the current run.
	RetryCount int `json:"retryCount"`
	// MaxAttempts is the attempt budget of each subtask, copied from the type at creation
	// so that a type changed later does not change a task under way.
	MaxAttempts int           `json:"maxAttempts"`
	Retention   time.Duration `json:"retention"`
	CreatedAt   time.Time     `json:"createdAt"`
	UpdatedAt   time.Time     `json:"updatedAt"`
	StartedAt   *time.Time    `json:"startedAt,omitempty"`
	FinishedAt  *time.Time    `json:"finishedAt,omitempty"`
	ExpiresAt   *time.Time    `json:"expiresAt,omitempty"`
	// Version counts the stored changes of the task. Every write is conditional on the
	// version it read, so two writers never both win; it also makes the ETag.
	Version int64 `json:"version"`
	// WriteID names the write that stored this version: a random id drawn afresh by New and
	// by every transition, so that no two writers ever store the same task. A store whose
	// conditional write fails finds out from it whether the stored task is the very change
	// it was writing (its first try landed and only the answer was lost) or another writer's;
	// see "Writes whose answer was lost" in shared/dynamostore's package comment. It is
	// internal bookkeeping, never shown to clients.
	WriteID string `json:"writeId,omitempty"`
}

// SubTask is one step of a task, run in order.
type SubTask struct {
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Status      Status     `json:"status"`
	Attempts    int        `json:"attempts"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	// Output is what the subtask's step returned when it succeeded (a catalog type's
	// executor's answer), nil when it returned nothing; later steps and the result read it.
	Output json.RawMessage `json:"output,omitempty"`
	// WaitUntil is set while the subtask's attempt is suspended (see Suspend): it waits,
	// running nowhere, until then, and the worker resumes it by a delayed message.
	WaitUntil *time.Time `json:"waitUntil,omitempty"`
	// Callback is the callback of the subtask's latest callback attempt (a callback step:
	// see callback.go), kept after it ended so that a repeated report is recognised; nil for
	// a subtask that never waited for one in this run.
	Callback *Callback `json:"callback,omitempty"`
}

// Waiting reports whether the subtask's attempt is suspended (see Suspend).
func (s *SubTask) Waiting() bool { return s.Status == Processing && s.WaitUntil != nil }

// Error is a structured failure record in the manner of VMware Cloud Foundation's task
// errors. Errors accumulate across attempts and retries, newest last.
type Error struct {
	ErrorCode string    `json:"errorCode"`
	ErrorType string    `json:"errorType"`
	Message   string    `json:"message"`
	SubTask   string    `json:"subTask,omitempty"`
	Causes    []string  `json:"causes"`
	At        time.Time `json:"at"`
}

// Error types recorded in Task.Errors.
const (
	// ErrorTypeError marks the error that ended a run in failure.
	ErrorTypeError = "ERROR"
	// ErrorTypeWarning marks a failed attempt that was retried.
	ErrorTypeWarning = "WARNING"
)

// Resource names something the task works on or made, e.g. a host.
type Resource struct {
	ResourceID string `json:"resourceId"`
	Type       string `json:"type"`
}

// Cancellable reports whether a cancel would be accepted now.
func (t *Task) Cancellable() bool { return t.Status.Active() }

// Retryable reports whether a retry would be accepted now.
func (t *Task) Retryable() bool { return t.Status == Failure }

// Expired reports whether the task is past its expiresAt at now; an expired task is gone for
// every call even while it still sits in a store.
func (t *Task) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// NextSubTask is the index of the first subtask that has not succeeded, or -1 when all have.
func (t *Task) NextSubTask() int {
	for i, s := range t.SubTasks {
		if s.Status != Success {
			return i
		}
	}
	return -1
}

// Clone returns a deep copy, so that a transition never changes the task it was given.
func (t Task) Clone() Task {
	c := t
	c.Input = cloneBytes(t.Input)
	c.Result = cloneBytes(t.Result)
	c.SubTasks = make([]SubTask, len(t.SubTasks))
	for i, s := range t.SubTasks {
		s.StartedAt = cloneTime(s.StartedAt)
		s.FinishedAt = cloneTime(s.FinishedAt)
		s.Output = cloneBytes(s.Output)
		s.WaitUntil = cloneTime(s.WaitUntil)
		if s.Callback != nil {
			cb := *s.Callback
			s.Callback = &cb
		}
		c.SubTasks[i] = s
	}
	if t.Errors != nil {
		c.Errors = make([]Error, len(t.Errors))
		for i, e := range t.Errors {
			e.Causes = slices.Clone(e.Causes) // keeps an empty list empty (JSON [])
			c.Errors[i] = e
		}
	}
	c.Resources = append([]Resource(nil), t.Resources...)
	c.StartedAt = cloneTime(t.StartedAt)
	c.FinishedAt = cloneTime(t.FinishedAt)
	c.ExpiresAt = cloneTime(t.ExpiresAt)
	return c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}
