package apigw

import (
	"context"
	"net/http"
)

// TaskTypeView describes a registered type for /v1/task-types.
type TaskTypeView struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	SubTasks    []string `json:"subTasks"`
	MaxAttempts int      `json:"maxAttempts"`
	Retryable   bool     `json:"retryable"`
}

func (h *Handler) taskTypes(_ context.Context, _ *request) (*response, error) {
	var out []TaskTypeView
	for _, t := range h.svc.Types.All() {
		steps, _ := t.Plan(nil)
		names := make([]string, len(steps))
		for i, s := range steps {
			names[i] = s.Name
		}
		out = append(out, TaskTypeView{Name: t.Name, Description: t.Description, SubTasks: names, MaxAttempts: t.Budget(), Retryable: !t.NoRetry})
	}
	return ok(map[string]any{"taskTypes": out}), nil
}

func (h *Handler) schemaTask(_ context.Context, _ *request) (*response, error) {
	return &response{status: http.StatusOK, raw: taskSchema, headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func (h *Handler) schemaTasks(_ context.Context, _ *request) (*response, error) {
	return &response{status: http.StatusOK, raw: tasksSchema, headers: map[string]string{"Content-Type": "application/json"}}, nil
}
