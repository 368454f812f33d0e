// Package demo is the built-in task type "demo": steps that sleep and fail on demand, so that
// a newcomer can watch every path of a task (success, retried attempts, failure, retry,
// cancel) without any real back end, and so that tests can drive those paths.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
)

// Name is the type name clients send.
const Name = "demo"

// MaxDuration bounds a step's durationMs.
const MaxDuration = 60 * time.Second

// Input is the demo type's input document.
type Input struct {
	Steps []Step `json:"steps"`
}

// Step is one demo step: how long it works and how it fails.
type Step struct {
	Name string `json:"name"`
	// DurationMs (0..60000) is how long the step works.
	DurationMs int `json:"durationMs"`
	// TransientFailures makes the step's first N attempts fail with a retryable error.
	TransientFailures int `json:"transientFailures"`
	// FailUntilRetry makes the step fail permanently while the task's retryCount is below it.
	FailUntilRetry int `json:"failUntilRetry"`
}

// defaultSteps are run when a create has no input.
var defaultSteps = []Step{{Name: "Validate"}, {Name: "Allocate"}, {Name: "Configure"}}

// Type returns the demo task type for registration.
func Type() task.Type {
	return task.Type{
		Name:        Name,
		Description: "Built-in demo: steps that work for durationMs and fail on demand (transientFailures, failUntilRetry).",
		MaxAttempts: task.DefaultMaxAttempts,
		Plan:        plan,
		Run:         run,
		Result:      result,
		Canonical:   canonical,
		Expect:      expect,
	}
}

// expect is step i's durationMs.
func expect(t *task.Task, i int) time.Duration {
	steps, err := parse(t.Input)
	if err != nil || i < 0 || i >= len(steps) {
		return 0
	}
	return time.Duration(steps[i].DurationMs) * time.Millisecond
}

// canonical is the input with every default written out: the steps (the default ones when
// none are given), each with all its fields.
func canonical(raw json.RawMessage) (json.RawMessage, error) {
	steps, err := parse(raw)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Input{Steps: steps})
}

// parse reads and checks the input; nil input gives the default steps.
func parse(raw json.RawMessage) ([]Step, error) {
	if raw == nil {
		return defaultSteps, nil
	}
	var in Input
	if err := strictjson.Decode(raw, &in); err != nil {
		var fe *task.FieldError
		if errors.As(err, &fe) { // strictjson names fields within the input
			return nil, &task.FieldError{Field: "input." + fe.Field, Reason: fe.Reason}
		}
		return nil, &task.FieldError{Field: "input", Reason: "not a demo input: " + err.Error()}
	}
	if in.Steps == nil {
		return defaultSteps, nil
	}
	if len(in.Steps) == 0 || len(in.Steps) > 20 {
		return nil, &task.FieldError{Field: "input.steps", Reason: "must have 1 to 20 steps"}
	}
	seen := make(map[string]int, len(in.Steps))
	for i, s := range in.Steps {
		field := fmt.Sprintf("input.steps[%d]", i)
		first, dup := seen[s.Name]
		seen[s.Name] = i
		switch {
		case dup:
			return nil, &task.FieldError{Field: field + ".name", Reason: fmt.Sprintf("%q is already the name of step %d; step names are unique within a task", s.Name, first)}
		case s.Name == "" || len(s.Name) > 100:
			return nil, &task.FieldError{Field: field + ".name", Reason: "must be 1 to 100 characters"}
		case s.DurationMs < 0 || int64(s.DurationMs) > MaxDuration.Milliseconds(): // compared as integers: a huge value must not overflow into a short duration
			return nil, &task.FieldError{Field: field + ".durationMs", Reason: "must be 0 to 60000"}
		case s.TransientFailures < 0:
			return nil, &task.FieldError{Field: field + ".transientFailures", Reason: "must be 0 or more"}
		case s.FailUntilRetry < 0:
			return nil, &task.FieldError{Field: field + ".failUntilRetry", Reason: "must be 0 or more"}
		}
	}
	return in.Steps, nil
}

func plan(raw json.RawMessage) ([]task.Step, error) {
	steps, err := parse(raw)
	if err != nil {
		return nil, err
	}
	out := make([]task.Step, len(steps))
	for i, s := range steps {
		out[i] = task.Step{Name: s.Name, Description: fmt.Sprintf("Demo step %d of %d", i+1, len(steps))}
	}
	return out, nil
}

func run(ctx context.Context, a task.Attempt) error {
	steps, err := parse(a.Task.Input)
	if err != nil {
		return err
	}
	s := steps[a.Index]
	if s.DurationMs > 0 {
		timer := time.NewTimer(time.Duration(s.DurationMs) * time.Millisecond)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return task.Retryable(ctx.Err())
		}
	}
	if a.Attempt <= s.TransientFailures {
		return task.Retryable(&task.CodedError{Code: "DEMO_TRANSIENT", Message: fmt.Sprintf("step %s: transient failure %d of %d", s.Name, a.Attempt, s.TransientFailures)})
	}
	if a.Task.RetryCount < s.FailUntilRetry {
		return &task.CodedError{Code: "DEMO_FAILURE", Message: fmt.Sprintf("step %s fails until the task is retried %d time(s)", s.Name, s.FailUntilRetry)}
	}
	return nil
}

func result(t *task.Task) (json.RawMessage, string, error) {
	b, err := json.Marshal(map[string]int{"steps": len(t.SubTasks)})
	return b, "", err
}
