// Package task is Tasklane's domain: the task, its subtasks, its statuses and every
// transition between them. It knows nothing of AWS, HTTP or storage; stores persist the
// Change values that the transitions return, conditionally on the state they started from.
package task

// Status is where a task (or one of its subtasks) is in its life. The same words are used
// for tasks and subtasks so that a client reads one vocabulary.
type Status string

const (
	// Pending: accepted, waiting for a worker. Cancel ends it cancelled at once; retry is
	// refused (it has not failed).
	Pending Status = "pending"
	// Processing: a worker is running its subtasks. Cancel sets cancelRequested and the
	// worker ends the task cancelled before the next subtask starts; retry is refused.
	Processing Status = "processing"
	// Success: every subtask succeeded and the result is set. Terminal; cancel and retry
	// are refused.
	Success Status = "success"
	// Failure: a subtask failed for good (a permanent error or its attempt budget spent).
	// Terminal for this run; cancel is refused, retry puts the task back to pending and
	// resumes after the last succeeded subtask.
	Failure Status = "failure"
	// Cancelled: a client cancelled it. Terminal; cancel and retry are refused.
	Cancelled Status = "cancelled"
)

// Statuses lists every status in the order a task usually passes through them; used to
// validate filters and to document the schema.
var Statuses = []Status{Pending, Processing, Success, Failure, Cancelled}

// Valid reports whether s is one of the five statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Terminal reports whether a run has ended in s: success, failure or cancelled. Only a
// terminal task has finishedAt and expiresAt.
func (s Status) Terminal() bool {
	return s == Success || s == Failure || s == Cancelled
}

// Active reports whether a worker still owes the task work: pending or processing. Every
// active task has a message on its way to a worker (see "No task without a message" in
// shared/worker).
func (s Status) Active() bool {
	return s == Pending || s == Processing
}
