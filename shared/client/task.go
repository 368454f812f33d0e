package client

import (
	"encoding/json"
	"time"
)

// Status is a task's or a subtask's status.
type Status string

// The statuses of the contract. Success, Failure and Cancelled end a run.
const (
	Pending    Status = "pending"
	Processing Status = "processing"
	Success    Status = "success"
	Failure    Status = "failure"
	Cancelled  Status = "cancelled"
)

// Terminal reports whether s ends a run (success, failure or cancelled). A failed task may
// still be retried, which starts a new run.
func (s Status) Terminal() bool { return s == Success || s == Failure || s == Cancelled }

// Task is the contract's task document.
type Task struct {
	ID               string          `json:"id"`
	Self             string          `json:"self"`
	Type             string          `json:"type"`
	Name             string          `json:"name"`
	Status           Status          `json:"status"`
	CancelRequested  bool            `json:"cancelRequested"`
	Owner            string          `json:"owner"`
	User             string          `json:"user,omitempty"`
	ServiceNamespace string          `json:"serviceNamespace,omitempty"`
	CallbackURL      string          `json:"callbackUrl,omitempty"`
	Input            json.RawMessage `json:"input,omitempty"`  // absent in lists
	Result           json.RawMessage `json:"result,omitempty"` // set only on success; absent in lists
	Message          string          `json:"message"`
	Progress         int             `json:"progress"`
	SubTasks         []SubTask       `json:"subTasks"`
	Errors           []TaskError     `json:"errors"`
	Resources        []Resource      `json:"resources"`
	IsCancellable    bool            `json:"isCancellable"`
	IsRetryable      bool            `json:"isRetryable"`
	RetryCount       int             `json:"retryCount"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
	StartedAt        *time.Time      `json:"startedAt"`
	FinishedAt       *time.Time      `json:"finishedAt"`
	ExpiresAt        *time.Time      `json:"expiresAt"`
	Links            []Link          `json:"links"`

	// ETag is the task's entity tag as the API last sent it (it changes on every change of
	// the task); GetIfChanged and Wait send it back as If-None-Match.
	ETag string `json:"-"`
	// ResultURL is where a successful task's result is: the Location of the API's 303.
	ResultURL string `json:"-"`
	// RetryAfter is the API's hint of when the task is likely to change (0 when it sent
	// none, as for a terminal task).
	RetryAfter time.Duration `json:"-"`
}

// SubTask is one step of a task.
type SubTask struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Status      Status          `json:"status"`
	Attempts    int             `json:"attempts"`
	StartedAt   *time.Time      `json:"startedAt,omitempty"`
	FinishedAt  *time.Time      `json:"finishedAt,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	Callback    json.RawMessage `json:"callback,omitempty"` // shown to a service principal only
}

// TaskError is one entry of a task's errors, newest last.
type TaskError struct {
	ErrorCode string     `json:"errorCode"`
	ErrorType string     `json:"errorType"` // "ERROR" ended the run; "WARNING" was retried
	Message   string     `json:"message"`
	SubTask   string     `json:"subTask,omitempty"`
	Causes    []string   `json:"causes"`
	At        *time.Time `json:"at,omitempty"`
}

// Resource is something a task works on or produced.
type Resource struct {
	ResourceID string `json:"resourceId"`
	Type       string `json:"type"`
}

// Link is an action open to the client now: rel "cancel", "retry" or "result".
type Link struct {
	Rel    string `json:"rel"`
	Href   string `json:"href"`
	Method string `json:"method"`
}

// Done counts the subtasks that ended in success.
func (t *Task) Done() int {
	n := 0
	for _, s := range t.SubTasks {
		if s.Status == Success {
			n++
		}
	}
	return n
}

// Current is the subtask under way (the first not yet succeeded), or nil when every one
// succeeded.
func (t *Task) Current() *SubTask {
	for i := range t.SubTasks {
		if t.SubTasks[i].Status != Success {
			return &t.SubTasks[i]
		}
	}
	return nil
}

// TaskType is a registered task type (GET /v1/task-types).
type TaskType struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	SubTasks    []string `json:"subTasks"` // the names of its default plan's steps
	MaxAttempts int      `json:"maxAttempts"`
	Retryable   bool     `json:"retryable"`
}

// Page is one page of a list.
type Page struct {
	Tasks []Task `json:"tasks"`
	First string `json:"first"`
	Next  string `json:"next,omitempty"` // absent on the last page
}
