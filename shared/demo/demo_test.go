package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/task"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	typ := demo.Type()
	cases := []struct {
		name  string
		input string
		want  []string // step names; nil when the input must be refused
		field string   // the FieldError's field when refused
	}{
		{"no input: the default steps", "", []string{"Validate", "Allocate", "Configure"}, ""},
		{"no steps field", `{}`, []string{"Validate", "Allocate", "Configure"}, ""},
		{"own steps", `{"steps":[{"name":"A","durationMs":10},{"name":"B","transientFailures":2,"failUntilRetry":1}]}`, []string{"A", "B"}, ""},
		{"empty steps", `{"steps":[]}`, nil, "input.steps"},
		{"too many steps", `{"steps":[` + repeat(`{"name":"x"},`, 20) + `{"name":"x"}]}`, nil, "input.steps"},
		{"unnamed step", `{"steps":[{"durationMs":1}]}`, nil, "input.steps[0].name"},
		{"duration too long", `{"steps":[{"name":"A","durationMs":60001}]}`, nil, "input.steps[0].durationMs"},
		{"duration that would overflow", `{"steps":[{"name":"A","durationMs":9223372036855}]}`, nil, "input.steps[0].durationMs"},
		{"negative duration", `{"steps":[{"name":"A","durationMs":-1}]}`, nil, "input.steps[0].durationMs"},
		{"negative transient failures", `{"steps":[{"name":"A"},{"name":"B","transientFailures":-1}]}`, nil, "input.steps[1].transientFailures"},
		{"negative failUntilRetry", `{"steps":[{"name":"A","failUntilRetry":-2}]}`, nil, "input.steps[0].failUntilRetry"},
		{"unknown field", `{"steps":[{"name":"A","sleep":1}]}`, nil, "input.steps[0].sleep"},
		{"case-folded field", `{"steps":[{"NAME":"A"}]}`, nil, "input.steps[0].NAME"},
		{"repeated field", `{"steps":[{"name":"A","name":"B"}]}`, nil, "input.steps[0].name"},
		{"steps not a list", `{"steps":3}`, nil, "input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var raw json.RawMessage
			if c.input != "" {
				raw = json.RawMessage(c.input)
			}
			steps, err := typ.Plan(raw)
			if c.want == nil {
				var ie *task.FieldError
				if !errors.As(err, &ie) || ie.Field != c.field || !errors.Is(err, task.ErrInvalidInput) {
					t.Fatalf("Plan(%s) = %v, %v; want a FieldError on %s", c.input, steps, err, c.field)
				}
				return
			}
			if err != nil || len(steps) != len(c.want) {
				t.Fatalf("Plan(%s) = %v, %v", c.input, steps, err)
			}
			for i, s := range steps {
				if s.Name != c.want[i] || s.Description == "" {
					t.Errorf("step %d = %+v, want name %s and a description", i, s, c.want[i])
				}
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestRun(t *testing.T) {
	t.Parallel()
	typ := demo.Type()
	input := json.RawMessage(`{"steps":[{"name":"Flaky","transientFailures":2},{"name":"Broken","failUntilRetry":1},{"name":"Slow","durationMs":30}]}`)
	cases := []struct {
		name       string
		index      int
		attempt    int
		retryCount int
		want       string // "", "retryable", "permanent"
		code       string
	}{
		{"transient failure 1", 0, 1, 0, "retryable", "DEMO_TRANSIENT"},
		{"transient failure 2", 0, 2, 0, "retryable", "DEMO_TRANSIENT"},
		{"third attempt succeeds", 0, 3, 0, "", ""},
		{"fails until retried", 1, 1, 0, "permanent", "DEMO_FAILURE"},
		{"succeeds once retried", 1, 1, 1, "", ""},
		{"slow step succeeds", 2, 1, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := typ.Run(context.Background(), task.Attempt{Task: task.Task{Input: input, RetryCount: c.retryCount}, Index: c.index, Attempt: c.attempt})
			switch c.want {
			case "":
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			case "retryable":
				if !task.IsRetryable(err) {
					t.Fatalf("Run: %v, want a retryable error", err)
				}
			case "permanent":
				if err == nil || task.IsRetryable(err) {
					t.Fatalf("Run: %v, want a permanent error", err)
				}
			}
			var ce *task.CodedError
			if !errors.As(err, &ce) || ce.Code != c.code {
				t.Errorf("Run: %v, want code %s", err, c.code)
			}
		})
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := demo.Type().Run(ctx, task.Attempt{Task: task.Task{Input: json.RawMessage(`{"steps":[{"name":"Long","durationMs":60000}]}`)}, Attempt: 1})
	if !task.IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run past its deadline: %v, want a retryable deadline error", err)
	}
}

func TestResult(t *testing.T) {
	t.Parallel()
	res, url, err := demo.Type().Result(&task.Task{SubTasks: make([]task.SubTask, 4)})
	if err != nil || string(res) != `{"steps":4}` || url != "" {
		t.Fatalf("Result = %s %q %v", res, url, err)
	}
}
