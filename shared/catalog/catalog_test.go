package catalog_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// twoSteps is a test catalog: an http step against the bundle's receiver, then a wait.
const twoSteps = `{"taskTypes": [{
  "name": "report", "description": "Render then settle", "maxAttempts": 3,
  "input": {"type": "object", "additionalProperties": false, "required": ["title", "pages"],
    "properties": {"title": {"type": "string", "minLength": 1}, "pages": {"type": "integer", "minimum": 1, "maximum": 500},
      "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}},
  "steps": [
    {"name": "Render", "http": {"url": "{{receiver}}/render"}, "timeoutSeconds": 1},
    {"name": "Settle", "wait": {"seconds": 30}}
  ],
  "result": {"report": "{{Render.url}}", "waited": "{{Settle.seconds}}", "fixed": [1, "x"]}
}]}`

func ok(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }
}

// TestBadCatalogsAreRefused: a catalog that breaks its schema or a rule the schema cannot
// express is refused with where and why.
func TestBadCatalogsAreRefused(t *testing.T) {
	t.Parallel()
	step := `{"name": "S", "wait": {"seconds": 1}}`
	typ := func(fields string) string {
		return `{"taskTypes": [{"name": "t", "description": "d", "steps": [` + step + `]` + fields + `}]}`
	}
	for _, c := range []struct{ name, doc, want string }{
		{"not JSON", `{"taskTypes": [`, "task type catalog: not JSON"},
		{"no taskTypes", `{}`, "at /): taskTypes: is required"},
		{"unknown field", `{"taskTypes": [], "types": []}`, "at /): types: is not allowed"},
		{"no steps", `{"taskTypes": [{"name": "t", "description": "d", "steps": []}]}`, "at /$defs/taskType/properties/steps): must have at least 1 items"},
		{"bad name", `{"taskTypes": [{"name": "Bad Name", "description": "d", "steps": [` + step + `]}]}`, "at /$defs/name): must match"},
		{"no executor", `{"taskTypes": [{"name": "t", "description": "d", "steps": [{"name": "S"}]}]}`, "taskTypes[0].steps[0]: a step names exactly one executor, lambda, http, wait or callback; this one names 0"},
		{"two executors", `{"taskTypes": [{"name": "t", "description": "d", "steps": [{"name": "S", "wait": {"seconds": 1}, "http": {"url": "https://x.example"}}]}]}`, "taskTypes[0].steps[0]: a step names exactly one executor, lambda, http, wait or callback; this one names 2"},
		{"wait too long", `{"taskTypes": [{"name": "t", "description": "d", "steps": [{"name": "S", "wait": {"seconds": 99999999}}]}]}`, "at /$defs/step/properties/wait/properties/seconds): must be <= 2592000"},
		{"lambda without ARN", `{"taskTypes": [{"name": "t", "description": "d", "steps": [{"name": "S", "lambda": {"function": "render"}}]}]}`, "at /$defs/step/properties/lambda/properties/function): must match ^arn:aws"},
		{"maxAttempts 0", typ(`, "maxAttempts": 0`), "at /$defs/taskType/properties/maxAttempts): must be >= 1"},
		{"two types of one name", `{"taskTypes": [{"name": "t", "description": "d", "steps": [` + step + `]}, {"name": "t", "description": "d", "steps": [` + step + `]}]}`, "taskTypes[1] (t): the name is already that of taskTypes[0]"},
		{"two steps of one name", `{"taskTypes": [{"name": "t", "description": "d", "steps": [` + step + `, ` + step + `]}]}`, `steps[1]: the name "S" is already that of steps[0]`},
		{"input not a schema", typ(`, "input": {"minimum": "one"}`), "input: not a usable JSON Schema"},
		{"input refers outside", typ(`, "input": {"$ref": "https://example.com/s.json"}`), "input: not a usable JSON Schema"},
		{"result names no step", typ(`, "result": {"x": "{{Nope.url}}"}`), `result: "{{Nope.url}}" names no step`},
	} {
		_, err := catalog.Parse([]byte(c.doc), catalog.Runtime{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestCatalogNameClashesWithGoType: a catalog type named like a Go-registered one (demo) is
// a start-up error.
func TestCatalogNameClashesWithGoType(t *testing.T) {
	t.Parallel()
	_, err := tasktypes.New([]byte(`{"taskTypes": [{"name": "demo", "description": "d", "steps": [{"name": "S", "wait": {"seconds": 1}}]}]}`), catalog.Runtime{})
	if err == nil || !strings.Contains(err.Error(), `"demo" is the name of a type registered in Go`) {
		t.Fatalf("%v, want the clash refused", err)
	}
}

// TestInputSchemaErrorsNameTheField: a create whose input breaks the type's input schema is
// refused with a field error naming the failing field.
func TestInputSchemaErrorsNameTheField(t *testing.T) {
	t.Parallel()
	b := setup(t, twoSteps, ok(`{}`))
	for _, c := range []struct{ input, field, reason string }{
		{`{"title": "t", "pages": 0}`, "input.pages", "must be >= 1"},
		{`{"title": "t", "pages": 501}`, "input.pages", "must be <= 500"},
		{`{"title": "t"}`, "input.pages", "is required"},
		{`{"title": "t", "pages": 1, "color": true}`, "input.color", "is not allowed"},
		{`{"title": "", "pages": 1}`, "input.title", "must have at least 1 characters"},
		{`{"title": "t", "pages": "2"}`, "input.pages", "must be integer, not string"},
		{`{"title": "t", "pages": 2, "tags": ["a", "c"]}`, "input.tags[]", `must be one of ["a","b"]`},
		{``, "input", "must be object, not null"},
	} {
		_, err := b.create("report", c.input)
		var fe *task.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Reason != c.reason {
			t.Errorf("input %s: %v, want %s: %s", c.input, err, c.field, c.reason)
		}
	}
	if _, err := b.create("report", `{"title": "t", "pages": 3}`); err != nil {
		t.Errorf("valid input refused: %v", err)
	}
}

// TestCatalogTypeRuns: the http step's answer is its output, the wait step suspends the
// attempt without compute until its seconds have passed, and the result is the template
// over the outputs.
func TestCatalogTypeRuns(t *testing.T) {
	t.Parallel()
	b := setup(t, twoSteps, ok(`{"url": "https://cdn.example.com/r.pdf"}`))
	tk, err := b.create("report", `{"title": "Q4", "pages": 3}`)
	if err != nil {
		t.Fatal(err)
	}
	b.deliver(tk.ID)
	got := b.get(tk.ID)
	if got.SubTasks[0].Status != task.Success || !got.SubTasks[1].Waiting() {
		t.Fatalf("after one delivery: %+v, want Render done and Settle waiting", got.SubTasks)
	}
	b.advance(30 * time.Second)
	got = b.run(tk.ID, 2)
	if got.Status != task.Success {
		t.Fatalf("status %s, errors %+v", got.Status, got.Errors)
	}
	if d := cmp.Diff(`{"fixed":[1,"x"],"report":"https://cdn.example.com/r.pdf","waited":30}`, string(got.Result)); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	if d := cmp.Diff(`{"url":"https://cdn.example.com/r.pdf"}`, string(got.SubTasks[0].Output)); d != "" {
		t.Errorf("Render's output (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"Render"}, b.posted); d != "" {
		t.Errorf("posted (-want +got):\n%s", d)
	}
}

// TestCatalogStepFaults: through the worker, a catalog step's retryable failure is retried
// within the budget, a permanent one fails the task, a hung step is stopped by its timeout
// (retryable) and a panicking one fails with STEP_PANICKED.
func TestCatalogStepFaults(t *testing.T) {
	t.Parallel()
	const oneStep = `{"taskTypes": [{"name": "one", "description": "d", "maxAttempts": 2,
	  "steps": [{"name": "Call", "http": {"url": "{{receiver}}/call"}, "timeoutSeconds": 1}]}]}`
	t.Run("retryable then success", func(t *testing.T) {
		t.Parallel()
		b := setup(t, oneStep, ok(`{"n": 1}`))
		b.faults["Call"].FailNext(1)
		tk, _ := b.create("one", `{}`)
		got := b.run(tk.ID, 3)
		if got.Status != task.Success || got.SubTasks[0].Attempts != 2 || string(got.Result) != `{"n":1}` {
			t.Errorf("%s after %d attempts, result %s; want success after 2 with the output as result", got.Status, got.SubTasks[0].Attempts, got.Result)
		}
	})
	t.Run("retryable until the budget is spent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, oneStep, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
		tk, _ := b.create("one", `{}`)
		got := b.run(tk.ID, 3)
		if got.Status != task.Failure || got.SubTasks[0].Attempts != 2 || got.Errors[len(got.Errors)-1].ErrorCode != "STEP_HTTP_STATUS" {
			t.Errorf("%s after %d attempts, errors %+v; want failure with STEP_HTTP_STATUS after 2", got.Status, got.SubTasks[0].Attempts, got.Errors)
		}
	})
	t.Run("permanent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, oneStep, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(422) })
		tk, _ := b.create("one", `{}`)
		got := b.run(tk.ID, 1)
		if got.Status != task.Failure || got.SubTasks[0].Attempts != 1 {
			t.Errorf("%s after %d attempts; want failure after 1", got.Status, got.SubTasks[0].Attempts)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		b := setup(t, oneStep, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		tk, _ := b.create("one", `{}`)
		b.deliver(tk.ID)
		got := b.get(tk.ID)
		if len(got.Errors) != 1 || got.Errors[0].ErrorCode != "STEP_TIMED_OUT" || got.SubTasks[0].Status != task.Pending {
			t.Errorf("errors %+v, subtask %+v; want a retryable STEP_TIMED_OUT", got.Errors, got.SubTasks[0])
		}
	})
	t.Run("panic", func(t *testing.T) {
		t.Parallel()
		b := setup(t, oneStep, ok(`{}`))
		b.faults["Call"].OnExecute(func(context.Context, task.Attempt) error { panic("executor bug") })
		tk, _ := b.create("one", `{}`)
		got := b.run(tk.ID, 1)
		if got.Status != task.Failure || got.Errors[0].ErrorCode != "STEP_PANICKED" {
			t.Errorf("%s, errors %+v; want failure with STEP_PANICKED", got.Status, got.Errors)
		}
	})
}
