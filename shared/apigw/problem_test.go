package apigw

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/tasklane/tasklane/shared/task"
)

// TestFieldErrorProblems: a bad query parameter is 400 INVALID_PARAMETER, a bad body field
// or header 400 VALIDATION_FAILED, each with the sentence clients have always read, however
// deeply the error is wrapped.
func TestFieldErrorProblems(t *testing.T) {
	t.Parallel()
	h := &Handler{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, c := range []struct {
		err          error
		code, detail string
	}{
		{&task.FieldError{In: task.InQuery, Field: "limit", Reason: "must be given once"}, "INVALID_PARAMETER", "query parameter limit: must be given once"},
		{&task.FieldError{Field: "input.steps[0].name", Reason: "must be 1 to 100 characters"}, "VALIDATION_FAILED", "input.steps[0].name: must be 1 to 100 characters"},
		{&task.FieldError{In: task.InHeader, Field: "Idempotency-Key", Reason: "must be 1 to 255 printable ASCII characters"}, "VALIDATION_FAILED", "Idempotency-Key: must be 1 to 255 printable ASCII characters"},
		{&task.FieldError{Reason: "the task has no steps"}, "VALIDATION_FAILED", "the task has no steps"},
		{fmt.Errorf("create: %w", &task.FieldError{In: task.InQuery, Field: "x", Reason: "bad"}), "INVALID_PARAMETER", "create: query parameter x: bad"},
	} {
		resp := h.problem(context.Background(), h.log, "req-1", "/v1/tasks", c.err)
		var p Problem
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 400 || p.Status != 400 || p.ErrorCode != c.code || p.Detail != c.detail {
			t.Errorf("%v: %d %s %q, want 400 %s %q", c.err, resp.StatusCode, p.ErrorCode, p.Detail, c.code, c.detail)
		}
	}
}
