package usecase

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tasklane/tasklane/shared/callback"
	"github.com/tasklane/tasklane/shared/servicetask"
	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
)

// ServiceRole is the role of outside services: it may create service tasks (type external)
// for a tenant, and it is shown the callbacks of running callback steps.
const ServiceRole = "service"

// HasRole reports whether the principal has role.
func (p Principal) HasRole(role string) bool {
	for _, r := range p.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// The report actions of a callback.
const (
	ActionHeartbeat = "heartbeat"
	ActionSucceed   = "succeed"
	ActionFail      = "fail"
)

// Report is a validated callback body (the adapter checks its fields).
type Report struct {
	Action   string
	Progress *int
	Message  string
	Output   json.RawMessage
	Error    *ReportError
}

// ReportError is a fail's error.
type ReportError struct {
	Code      string `json:"errorCode"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Reported is a callback's outcome: the task as it now is, the reported subtask, and the
// callback of the step that started with it (a service task's next step, or the next
// attempt of the same one), if any.
type Reported struct {
	Task  task.Task
	Index int
	Next  *task.CallbackRef
}

// identity names the outcome a succeed or fail reports (Callback.Ended): its action, output
// and error, compacted, so that a repeat of the same report, however spaced, is the same.
func (r Report) identity() string {
	var out bytes.Buffer
	if len(r.Output) > 0 {
		_ = json.Compact(&out, r.Output)
	}
	doc, _ := strictjson.Marshal(struct {
		Action string          `json:"action"`
		Output json.RawMessage `json:"output,omitempty"`
		Error  *ReportError    `json:"error,omitempty"`
	}{r.Action, out.Bytes(), r.Error})
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:16])
}

// Callback applies a callback's report to the attempt its token names. A token that does not
// open, of a task that is gone (expired), cancelled, or whose attempt no longer waits (timed
// out, ended, a later attempt or run) is task.ErrCallbackNotFound; a succeed or fail repeated
// with the same outcome is answered as done, with another outcome task.ErrCallbackEnded.
//
// Once a report is stored the task's worker takes over (a message is sent, as after every
// create and retry): it starts the next step, ends the task (success, or cancelled when a
// cancel was requested meanwhile), or starts the same step's next attempt. A service task's
// next callback is started here instead, so that the answer carries it.
func (s *Service) Callback(ctx context.Context, token string, r Report) (Reported, error) {
	tok, err := callback.Open(s.Markers, token)
	if err != nil {
		return Reported{}, task.ErrCallbackNotFound
	}
	ref := tok.CallbackRef
	ended := ""
	if r.Action != ActionHeartbeat {
		ended = r.identity()
	}
	t, verdict, err := s.writer().Update(ctx, tok.TaskID, func(t task.Task) (task.Decision, error) {
		now := s.Now()
		if t.Status == task.Cancelled {
			return task.Decision{}, task.ErrCallbackNotFound
		}
		if was := t.CallbackEnding(ref); ended != "" && was != "" {
			if was != ended {
				return task.Decision{}, task.ErrCallbackEnded
			}
			return task.NoChange(), nil // the same report again
		}
		if !t.CallbackWaiting(ref, now) {
			return task.Decision{}, task.ErrCallbackNotFound
		}
		switch r.Action {
		case ActionHeartbeat:
			if t.CancelRequested {
				// The service reported: the cancel requested while it ran is honoured now.
				return task.FromTransition(t.ConfirmCancel(now))
			}
			return task.FromTransition(t.Heartbeat(ref, r.Progress, r.Message, now))
		case ActionSucceed:
			return task.FromTransition(t.SucceedCallback(ref, r.Output, ended, now))
		default:
			e := task.Error{ErrorCode: "CALLBACK_FAILED", Message: "the service reported the step failed"}
			retryable := false
			if r.Error != nil {
				e.ErrorCode, e.Message, retryable = r.Error.Code, r.Error.Message, r.Error.Retryable
			}
			return task.FromTransition(t.FailCallback(ref, e, retryable, ended, now))
		}
	})
	if errors.Is(err, task.ErrNotFound) {
		return Reported{}, task.ErrCallbackNotFound
	}
	if err != nil {
		return Reported{}, err
	}
	out := Reported{Task: t, Index: ref.Index}
	if verdict == task.Changed && r.Action != ActionHeartbeat && t.Status.Active() {
		if t.Type == servicetask.TypeName {
			t = s.startServiceStep(ctx, t)
			out.Task = t
		}
		// The worker takes the next step at once. A failed send strands nothing: the waiting
		// attempt's own delayed message (its deadline's wake-up) is still on its way and finds
		// the step ended, only later.
		if err := s.announce(ctx, t, s.Now()); err != nil {
			s.Log.WarnContext(ctx, "the next step waits for the callback's wake-up message", "taskId", t.ID, "err", err)
		}
	}
	if next, ok := out.Task.RunningCallback(); ok && r.Action != ActionHeartbeat {
		out.Next = &next
	}
	return out, nil
}

// startServiceStep starts the callback of a service task's next step (StartCallbackStep), so
// that the create or the report that made the step next answers the service with its
// callback. It leaves the task alone when it is not for starting one (ended, cancel
// requested, a callback under way: the worker starts a service task's steps with their
// callbacks in one change too, see task.Type.Callbacks) or the budget is spent (the worker
// fails it); a failed write is only logged: the worker starts the step as any callback step.
func (s *Service) startServiceStep(ctx context.Context, t task.Task) task.Task {
	fresh, _, err := s.writer().UpdateFrom(ctx, t, func(t task.Task) (task.Decision, error) {
		if _, running := t.RunningCallback(); running || !t.Status.Active() || t.CancelRequested {
			return task.NoChange(), nil
		}
		i := t.NextSubTask()
		if i < 0 || t.SubTasks[i].Status != task.Pending {
			return task.Stop(), nil
		}
		ch, _, err := t.StartCallbackStep(servicetask.Heartbeat, servicetask.Timeout, s.Now())
		if errors.Is(err, task.ErrAttemptsSpent) {
			return task.Stop(), nil
		}
		return task.FromTransition(ch, err)
	})
	if err != nil {
		s.Log.WarnContext(ctx, "service task's next callback not started here; the worker starts it", "taskId", t.ID, "err", err)
		return t
	}
	return fresh
}

// CallbackToken is the token of the callback ref of task id (for a view or an answer).
func (s *Service) CallbackToken(id string, ref task.CallbackRef) string {
	return callback.Seal(s.Markers, callback.Token{TaskID: id, CallbackRef: ref})
}

// checkServiceCreate applies the contract's rules for who may create a service task: only a
// service principal creates type external, and only with an owner and its namespace; nobody
// else may name an owner or a namespace (ErrForbidden).
func checkServiceCreate(p Principal, req CreateRequest) error {
	external := req.Spec.Type == servicetask.TypeName
	service := p.HasRole(ServiceRole)
	switch {
	case !service && (external || req.Owner != "" || req.Spec.ServiceNamespace != ""):
		return fmt.Errorf("%w: only a service principal creates service tasks (type external) and names their owner and serviceNamespace", ErrForbidden)
	case !external && (req.Owner != "" || req.Spec.ServiceNamespace != ""):
		return &task.FieldError{Field: "owner", Reason: "owner and serviceNamespace are only for service tasks (type external)"}
	case !external:
		return nil
	case req.Owner == "":
		return &task.FieldError{Field: "owner", Reason: "is required for a service task: the tenant whose list it is on"}
	case req.Spec.ServiceNamespace == "":
		return &task.FieldError{Field: "serviceNamespace", Reason: "is required for a service task"}
	case !servicetask.ValidNamespace(req.Spec.ServiceNamespace):
		return &task.FieldError{Field: "serviceNamespace", Reason: "must be reverse-DNS-ish (org.example.backup): dot-separated labels of a-z, 0-9 and -, at most 253 characters"}
	case len(req.Spec.SubTasks) == 0 || len(req.Spec.SubTasks) > servicetask.MaxSubTasks:
		return &task.FieldError{Field: "subTasks", Reason: fmt.Sprintf("a service task needs 1 to %d subTasks", servicetask.MaxSubTasks)}
	}
	return nil
}
