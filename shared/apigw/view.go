package apigw

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// TimeFormat is the contract's time format: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Time is a time rendered in TimeFormat, null when unset.
type Time struct{ t *time.Time }

func at(t *time.Time) Time { return Time{t} }
func atv(t time.Time) Time { return Time{&t} }
func (t Time) MarshalJSON() ([]byte, error) {
	if t.t == nil {
		return []byte("null"), nil
	}
	return []byte(`"` + t.t.UTC().Format(TimeFormat) + `"`), nil
}

// TaskView is a task as clients read it (the contract's task document).
type TaskView struct {
	ID              string      `json:"id"`
	Self            string      `json:"self"`
	Schema          string      `json:"schema"`
	Type            string      `json:"type"`
	Name            string      `json:"name"`
	Status          task.Status `json:"status"`
	CancelRequested bool        `json:"cancelRequested"`
	Owner           string      `json:"owner"`
	// User is who created it (the token's subject); ServiceNamespace a service task's service.
	User             string           `json:"user,omitempty"`
	ServiceNamespace string           `json:"serviceNamespace,omitempty"`
	Input            *json.RawMessage `json:"input,omitempty"`
	Result           *json.RawMessage `json:"result,omitempty"`
	Message          string           `json:"message"`
	Progress         int              `json:"progress"`
	SubTasks         []SubTaskView    `json:"subTasks"`
	Errors           []ErrorView      `json:"errors"`
	Resources        []task.Resource  `json:"resources"`
	CallbackURL      string           `json:"callbackUrl,omitempty"`
	IsCancellable    bool             `json:"isCancellable"`
	IsRetryable      bool             `json:"isRetryable"`
	RetryCount       int              `json:"retryCount"`
	CreatedAt        Time             `json:"createdAt"`
	UpdatedAt        Time             `json:"updatedAt"`
	StartedAt        Time             `json:"startedAt"`
	FinishedAt       Time             `json:"finishedAt"`
	ExpiresAt        Time             `json:"expiresAt"`
	Links            []Link           `json:"links"`
}

// SubTaskView is a subtask as clients read it; times not reached are left out.
type SubTaskView struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Status      task.Status `json:"status"`
	Attempts    int         `json:"attempts"`
	StartedAt   *Time       `json:"startedAt,omitempty"`
	FinishedAt  *Time       `json:"finishedAt,omitempty"`
	// WaitUntil is when a waiting (suspended) attempt resumes.
	WaitUntil *Time `json:"waitUntil,omitempty"`
	// Output is what the subtask's step returned; full views only, as input and result.
	Output *json.RawMessage `json:"output,omitempty"`
	// Callback is a running callback step's callback, shown to service principals only.
	Callback *CallbackView `json:"callback,omitempty"`
}

// ErrorView is one entry of a task's errors.
type ErrorView struct {
	ErrorCode string   `json:"errorCode"`
	ErrorType string   `json:"errorType"`
	Message   string   `json:"message"`
	SubTask   string   `json:"subTask,omitempty"`
	Causes    []string `json:"causes"`
	At        Time     `json:"at"`
}

// Link is something the client may do now.
type Link struct {
	Rel    string `json:"rel"`
	Href   string `json:"href"`
	Method string `json:"method"`
}

// TaskURL is a task's URL.
func TaskURL(id string) string { return "/v1/tasks/" + id }

// resultURL is where a successful task's 303 points.
func resultURL(t *task.Task) string {
	if t.ResultURL != "" {
		return t.ResultURL
	}
	return TaskURL(t.ID) + "/result"
}

// view renders a task; full is false for list items, which omit input and result.
func view(t *task.Task, full bool) TaskView {
	v := TaskView{
		ID: t.ID, Self: TaskURL(t.ID), Schema: "/v1/schemas/task", Type: t.Type, Name: t.Name,
		Status: t.Status, CancelRequested: t.CancelRequested, Owner: t.Owner,
		User: t.User, ServiceNamespace: t.ServiceNamespace,
		Message: t.Message, Progress: t.Progress,
		SubTasks:      make([]SubTaskView, len(t.SubTasks)),
		Errors:        make([]ErrorView, len(t.Errors)),
		Resources:     t.Resources,
		CallbackURL:   t.CallbackURL,
		IsCancellable: t.Cancellable(), IsRetryable: t.Retryable(),
		RetryCount: t.RetryCount,
		CreatedAt:  atv(t.CreatedAt), UpdatedAt: atv(t.UpdatedAt),
		StartedAt: at(t.StartedAt), FinishedAt: at(t.FinishedAt), ExpiresAt: at(t.ExpiresAt),
		Links: links(t),
	}
	if v.Resources == nil {
		v.Resources = []task.Resource{}
	}
	if full {
		null := json.RawMessage("null")
		in, res := &null, &null
		if t.Input != nil {
			r := json.RawMessage(t.Input)
			in = &r
		}
		if t.Result != nil {
			r := json.RawMessage(t.Result)
			res = &r
		}
		v.Input, v.Result = in, res
	}
	for i, s := range t.SubTasks {
		sv := SubTaskView{Name: s.Name, Description: s.Description, Status: s.Status, Attempts: s.Attempts}
		if s.StartedAt != nil {
			x := at(s.StartedAt)
			sv.StartedAt = &x
		}
		if s.FinishedAt != nil {
			x := at(s.FinishedAt)
			sv.FinishedAt = &x
		}
		if s.WaitUntil != nil {
			x := at(s.WaitUntil)
			sv.WaitUntil = &x
		}
		if full && s.Output != nil {
			o := json.RawMessage(s.Output)
			sv.Output = &o
		}
		v.SubTasks[i] = sv
	}
	for i, e := range t.Errors {
		causes := e.Causes
		if causes == nil {
			causes = []string{}
		}
		v.Errors[i] = ErrorView{ErrorCode: e.ErrorCode, ErrorType: e.ErrorType, Message: e.Message, SubTask: e.SubTask, Causes: causes, At: atv(e.At)}
	}
	return v
}

// links are the actions open to the client in the task's current status.
func links(t *task.Task) []Link {
	out := []Link{}
	if t.Cancellable() {
		out = append(out, Link{Rel: "cancel", Href: TaskURL(t.ID), Method: "DELETE"})
	}
	if t.Retryable() {
		out = append(out, Link{Rel: "retry", Href: TaskURL(t.ID), Method: "PATCH"})
	}
	if t.Status == task.Success {
		out = append(out, Link{Rel: "result", Href: resultURL(t), Method: "GET"})
	}
	return out
}

// accepted is the 202 of create, retry and cancel: the task, where to poll it, and when.
func (h *Handler) accepted(t *task.Task) *response {
	url := TaskURL(t.ID)
	headers := map[string]string{"Location": url, "Content-Location": url}
	if !t.Status.Terminal() {
		headers["Retry-After"] = "1"
	}
	return &response{status: http.StatusAccepted, headers: headers, body: h.view(t, true)}
}

func (h *Handler) view(t *task.Task, full bool) TaskView {
	v := view(t, full)
	if v.IsRetryable {
		// A failed task is retryable only if its type allows retries (the domain's
		// Retryable knows statuses, the registry knows types).
		if !h.svc.Types.RetryAllowed(t.Type) {
			v.IsRetryable = false
			v.Links = slices.DeleteFunc(v.Links, func(l Link) bool { return l.Rel == "retry" })
		}
	}
	return v
}

// ListedView is a task as a list shows it (no input or result), for renderers outside the
// API such as the lifecycle events (shared/event). It knows no type registry, so a failed
// task of a type that forbids retries still shows isRetryable; the API's own view corrects
// that (Handler.view).
func ListedView(t *task.Task) TaskView { return view(t, false) }
