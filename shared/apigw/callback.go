package apigw

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/tasklane/tasklane/shared/callback"
	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// callbackBody is a callback report (the contract's "Callbacks"); unknown fields are refused.
type callbackBody struct {
	Action   *string         `json:"action"`
	Progress *int            `json:"progress"`
	Message  *string         `json:"message"`
	Output   json.RawMessage `json:"output"`
	Error    *struct {
		ErrorCode *string `json:"errorCode"`
		Message   *string `json:"message"`
		Retryable *bool   `json:"retryable"`
	} `json:"error"`
}

// CallbackView is a running callback step's callback: shown to service principals in the
// subtask (callback) and in the answers of creates and callbacks (nextCallback).
type CallbackView struct {
	URL     string `json:"url"`
	SubTask int    `json:"subTask"`
	Attempt int    `json:"attempt"`
	// HeartbeatSeconds is the longest time between reports; WaitUntil the present deadline
	// (the next report's), TimeoutAt the attempt's end whatever its heartbeats.
	HeartbeatSeconds int  `json:"heartbeatSeconds"`
	WaitUntil        Time `json:"waitUntil"`
	TimeoutAt        Time `json:"timeoutAt"`
}

// CallbackAnswer is a callback's 200: the reported subtask as it now is, what the service
// needs of its task (cancelRequested among it: a cancel waits for the service's report), and
// the callback that started with the report (a service task's next step), if any.
type CallbackAnswer struct {
	SubTaskView
	Index        int              `json:"index"`
	Task         CallbackTaskView `json:"task"`
	NextCallback *CallbackView    `json:"nextCallback,omitempty"`
}

// CallbackTaskView is the reported task as a callback's answer shows it.
type CallbackTaskView struct {
	ID              string      `json:"id"`
	Status          task.Status `json:"status"`
	CancelRequested bool        `json:"cancelRequested"`
	Progress        int         `json:"progress"`
}

var errorCode = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

func (h *Handler) callback(ctx context.Context, r *request) (*response, error) {
	var b callbackBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	rep, err := b.report()
	if err != nil {
		return nil, err
	}
	got, err := h.svc.Callback(ctx, r.params["token"], rep)
	if err != nil {
		return nil, err
	}
	t := &got.Task
	v := h.withCallbacks(view(t, true), t)
	out := CallbackAnswer{SubTaskView: v.SubTasks[got.Index], Index: got.Index,
		Task: CallbackTaskView{ID: t.ID, Status: t.Status, CancelRequested: t.CancelRequested, Progress: t.Progress}}
	if got.Next != nil {
		out.NextCallback = h.callbackView(t, *got.Next)
	}
	return ok(out), nil
}

// report validates the body's fields.
func (b *callbackBody) report() (usecase.Report, error) {
	var r usecase.Report
	if b.Action == nil {
		return r, &task.FieldError{Field: "action", Reason: "is required: heartbeat, succeed or fail"}
	}
	r.Action = *b.Action
	switch r.Action {
	case usecase.ActionHeartbeat, usecase.ActionSucceed, usecase.ActionFail:
	default:
		return r, &task.FieldError{Field: "action", Reason: "must be heartbeat, succeed or fail"}
	}
	if b.Progress != nil {
		if *b.Progress < 0 || *b.Progress > 100 {
			return r, &task.FieldError{Field: "progress", Reason: "must be a whole number from 0 to 100"}
		}
		r.Progress = b.Progress
	}
	if b.Message != nil {
		if len(*b.Message) > 1000 {
			return r, &task.FieldError{Field: "message", Reason: "must be at most 1000 bytes"}
		}
		r.Message = *b.Message
	}
	if len(b.Output) > 0 && string(b.Output) != "null" {
		if r.Action != usecase.ActionSucceed {
			return r, &task.FieldError{Field: "output", Reason: "is only for succeed"}
		}
		if len(b.Output) > executor.MaxOutput {
			return r, &task.FieldError{Field: "output", Reason: fmt.Sprintf("must be at most %d bytes", executor.MaxOutput)}
		}
		r.Output = b.Output
	}
	if b.Error != nil {
		e := b.Error
		switch {
		case r.Action != usecase.ActionFail:
			return r, &task.FieldError{Field: "error", Reason: "is only for fail"}
		case e.ErrorCode == nil || !errorCode.MatchString(*e.ErrorCode) || len(*e.ErrorCode) > 64:
			return r, &task.FieldError{Field: "error.errorCode", Reason: "is required: UPPER_SNAKE, at most 64 characters"}
		case e.Message == nil || *e.Message == "" || len(*e.Message) > 1000:
			return r, &task.FieldError{Field: "error.message", Reason: "is required: 1 to 1000 bytes"}
		}
		r.Error = &usecase.ReportError{Code: *e.ErrorCode, Message: *e.Message, Retryable: e.Retryable != nil && *e.Retryable}
	}
	return r, nil
}

// withCallbacks is v with the running callback of t shown in its subtask, for a service
// principal (the only one shown callbacks: the contract's "Callbacks").
func (h *Handler) withCallbacks(v TaskView, t *task.Task) TaskView {
	if ref, ok := t.RunningCallback(); ok && ref.Index < len(v.SubTasks) {
		v.SubTasks[ref.Index].Callback = h.callbackView(t, ref)
	}
	return v
}

// viewAs is the full view of t for p: callbacks shown to a service principal only.
func (h *Handler) viewAs(p usecase.Principal, t *task.Task) TaskView {
	v := h.view(t, true)
	if p.HasRole(usecase.ServiceRole) {
		v = h.withCallbacks(v, t)
	}
	return v
}

// callbackView is the callback of ref in t, with a freshly sealed token.
func (h *Handler) callbackView(t *task.Task, ref task.CallbackRef) *CallbackView {
	s := t.SubTasks[ref.Index]
	cv := &CallbackView{URL: callback.URL(h.svc.CallbackToken(t.ID, ref)), SubTask: ref.Index, Attempt: ref.Attempt}
	if s.Callback != nil {
		cv.HeartbeatSeconds = int(s.Callback.Heartbeat / time.Second)
		cv.TimeoutAt = atv(s.Callback.TimeoutAt)
	}
	cv.WaitUntil = at(s.WaitUntil)
	return cv
}
