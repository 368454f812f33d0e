package apigw

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/tasklane/tasklane/shared/task"
)

// TaskTypeView describes a registered type for /v1/task-types.
type TaskTypeView struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	SubTasks    []string `json:"subTasks"`
	MaxAttempts int      `json:"maxAttempts"`
	Retryable   bool     `json:"retryable"`
	// Steps are a catalog type's steps with their executors (nil for Go-registered types,
	// whose steps depend on the input); InputSchema is what a create's input is checked
	// against (absent: the type checks it in Go).
	Steps       []StepView       `json:"steps,omitempty"`
	InputSchema *json.RawMessage `json:"inputSchema,omitempty"`
}

// StepView is one step of a catalog type: its executor, and its own timeout and backoff
// when it has them (where it calls, a URL or a function, is the deployer's, not shown).
type StepView struct {
	Name           string `json:"name"`
	Description    string `json:"description,omitempty"`
	Executor       string `json:"executor"`
	TimeoutSeconds int    `json:"timeoutSeconds,omitempty"`
	BackoffSeconds int    `json:"backoffSeconds,omitempty"`
}

func stepViews(steps []task.Step) []StepView {
	if steps == nil {
		return nil
	}
	out := make([]StepView, len(steps))
	for i, s := range steps {
		out[i] = StepView{Name: s.Name, Description: s.Description, Executor: s.Executor, TimeoutSeconds: s.TimeoutSeconds, BackoffSeconds: s.BackoffSeconds}
	}
	return out
}

func (h *Handler) taskTypes(_ context.Context, _ *request) (*response, error) {
	var out []TaskTypeView
	for _, t := range h.svc.Types.All() {
		steps := t.Steps
		if steps == nil {
			steps, _ = t.Plan(nil)
		}
		names := make([]string, len(steps))
		for i, s := range steps {
			names[i] = s.Name
		}
		v := TaskTypeView{Name: t.Name, Description: t.Description, SubTasks: names, MaxAttempts: t.Budget(), Retryable: !t.NoRetry, Steps: stepViews(t.Steps)}
		if t.InputSchema != nil {
			s := json.RawMessage(t.InputSchema)
			v.InputSchema = &s
		}
		out = append(out, v)
	}
	return ok(map[string]any{"taskTypes": out}), nil
}

func (h *Handler) schemaTask(_ context.Context, _ *request) (*response, error) {
	return &response{status: http.StatusOK, raw: taskSchema, headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func (h *Handler) schemaTasks(_ context.Context, _ *request) (*response, error) {
	return &response{status: http.StatusOK, raw: tasksSchema, headers: map[string]string{"Content-Type": "application/json"}}, nil
}
