package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CreateRequest is the body of a create. Only Type is required.
type CreateRequest struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	// Input is the type's input document (a JSON object); nil for the type's default.
	Input     json.RawMessage `json:"input,omitempty"`
	Resources []Resource      `json:"resources,omitempty"`
	// RetentionSeconds is how long the task is kept once it ended (60 s to 30 days);
	// 0 for the default, 48 hours.
	RetentionSeconds int64 `json:"retentionSeconds,omitempty"`
	// CallbackURL receives the task's events as signed webhooks.
	CallbackURL string `json:"callbackUrl,omitempty"`

	// IdempotencyKey identifies this create: the same key with the same body within 24 h
	// answers the task it created instead of a new one. Empty: Create generates one, so
	// that its own retries never create a second task.
	IdempotencyKey string `json:"-"`
}

// Created is the answer to a create.
type Created struct {
	*Task
	// IdempotencyKey is the key the create was sent with (the caller's, or the generated
	// one): send it again to ask for the same create.
	IdempotencyKey string
	// Replayed says that the key had been used already: nothing was created, and Task is the
	// task the first create made, as it is now.
	Replayed bool
}

// NewIdempotencyKey returns a fresh random key (26 characters of base32).
func NewIdempotencyKey() string { return rand.Text() }

// Create asks for a task. The answer is the task, pending (or, on a replay, as it is now).
func (c *Client) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("tasklane: create body: %w", err)
	}
	key := req.IdempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	rep, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks", body: body,
		headers: http.Header{"Idempotency-Key": {key}}, ok: []int{http.StatusAccepted}})
	if err != nil {
		return nil, err
	}
	t, err := taskOf(rep)
	if err != nil {
		return nil, err
	}
	return &Created{Task: t, IdempotencyKey: key, Replayed: rep.header.Get("Idempotent-Replayed") == "true"}, nil
}

// Get reads a task. A task that succeeded is returned like any other (the API's 303 to its
// result is not followed; its Location is Task.ResultURL). An unknown task, or another
// tenant's, is an *Error with CodeTaskNotFound.
func (c *Client) Get(ctx context.Context, id string) (*Task, error) {
	t, _, err := c.get(ctx, id, "")
	return t, err
}

// GetIfChanged reads prev's task again unless it is unchanged (If-None-Match with
// prev.ETag: the API answers 304 without a body). It returns the task as it now is and
// whether it changed; unchanged, that is prev itself.
func (c *Client) GetIfChanged(ctx context.Context, prev *Task) (*Task, bool, error) {
	t, notModified, err := c.get(ctx, prev.ID, prev.ETag)
	if err != nil {
		return nil, false, err
	}
	if notModified {
		return prev, false, nil
	}
	return t, true, nil
}

// get is a GET of the task, conditional on etag when given. notModified reports a 304.
func (c *Client) get(ctx context.Context, id, etag string) (t *Task, notModified bool, _ error) {
	h := http.Header{}
	if etag != "" {
		h.Set("If-None-Match", etag)
	}
	rep, err := c.do(ctx, call{method: http.MethodGet, path: taskPath(id), headers: h,
		ok: []int{http.StatusOK, http.StatusSeeOther, http.StatusNotModified}})
	if err != nil {
		return nil, false, err
	}
	if rep.status == http.StatusNotModified {
		return nil, true, nil
	}
	t, err = taskOf(rep)
	return t, false, err
}

// Result reads a succeeded task's result document. A task that has not succeeded is an
// *Error with CodeTaskNotFinished.
func (c *Client) Result(ctx context.Context, id string) (json.RawMessage, error) {
	rep, err := c.do(ctx, call{method: http.MethodGet, path: taskPath(id) + "/result", ok: []int{http.StatusOK}})
	if err != nil {
		return nil, err
	}
	return json.RawMessage(rep.body), nil
}

// Cancel asks for a task to be cancelled: a pending task is cancelled at once, a processing
// one gets CancelRequested and ends cancelled before its next subtask. A task that has
// ended is an *Error with CodeTaskNotCancellable.
func (c *Client) Cancel(ctx context.Context, id string) (*Task, error) {
	return c.action(ctx, id, "cancel")
}

// Retry starts a failed task again from its failed subtask (the succeeded ones are not run
// again). Any other status is an *Error with CodeTaskNotRetryable.
func (c *Client) Retry(ctx context.Context, id string) (*Task, error) {
	return c.action(ctx, id, "retry")
}

func (c *Client) action(ctx context.Context, id, what string) (*Task, error) {
	rep, err := c.do(ctx, call{method: http.MethodPost, path: taskPath(id) + "/" + what, ok: []int{http.StatusAccepted}})
	if err != nil {
		return nil, err
	}
	return taskOf(rep)
}

// TaskTypes lists the task types the deployment registers.
func (c *Client) TaskTypes(ctx context.Context) ([]TaskType, error) {
	rep, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/task-types", ok: []int{http.StatusOK}})
	if err != nil {
		return nil, err
	}
	var out struct {
		TaskTypes []TaskType `json:"taskTypes"`
	}
	if err := decode(rep, &out); err != nil {
		return nil, err
	}
	return out.TaskTypes, nil
}

// Callback actions.
const (
	Heartbeat = "heartbeat"
	Succeed   = "succeed"
	Fail      = "fail"
)

// CallbackReport is what an outside service reports about a callback step.
type CallbackReport struct {
	Action   string          `json:"action"`             // Heartbeat, Succeed or Fail
	Progress *int            `json:"progress,omitempty"` // 0..100
	Message  string          `json:"message,omitempty"`
	Output   json.RawMessage `json:"output,omitempty"` // Succeed's output
	Error    *CallbackError  `json:"error,omitempty"`  // Fail's error
}

// CallbackError is why a callback step's attempt failed.
type CallbackError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Callback reports on a callback step. callback is the callback's token, or its URL
// ("/v1/callbacks/<token>", relative or absolute) as the task's events announce it. It
// needs no credentials: the token is them. The answer is the subtask as it now is; a token
// of an attempt that ended is an *Error with CodeCallbackNotFound, another outcome after a
// succeed or fail one with CodeCallbackEnded.
func (c *Client) Callback(ctx context.Context, callback string, report CallbackReport) (*SubTask, error) {
	body, err := json.Marshal(report)
	if err != nil {
		return nil, fmt.Errorf("tasklane: callback body: %w", err)
	}
	path := callback
	if !strings.Contains(callback, "/") {
		path = "/v1/callbacks/" + url.PathEscape(callback)
	}
	rep, err := c.do(ctx, call{method: http.MethodPost, path: path, body: body, ok: []int{http.StatusOK}, anonymous: true})
	if err != nil {
		return nil, err
	}
	var st SubTask
	if err := decode(rep, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func taskPath(id string) string { return "/v1/tasks/" + url.PathEscape(id) }

// taskOf decodes a task answer with what its headers say.
func taskOf(rep *reply) (*Task, error) {
	var t Task
	if err := decode(rep, &t); err != nil {
		return nil, err
	}
	t.ETag = rep.header.Get("ETag")
	t.RetryAfter = retryAfter(rep.header)
	if rep.status == http.StatusSeeOther {
		t.ResultURL = rep.header.Get("Location")
	}
	for _, l := range t.Links {
		if l.Rel == "result" && t.ResultURL == "" {
			t.ResultURL = l.Href
		}
	}
	return &t, nil
}
