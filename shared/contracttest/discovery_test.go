package contracttest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// contractTaskFields are the fields of the contract's task document.
var contractTaskFields = []string{
	"id", "self", "type", "name", "status", "cancelRequested", "owner", "input", "result",
	"message", "progress", "subTasks", "errors", "resources", "isCancellable", "isRetryable",
	"retryCount", "createdAt", "updatedAt", "startedAt", "finishedAt", "expiresAt", "links",
}

// fetchSchema fetches a schema and checks the response and the schema's frame.
func (e *env) fetchSchema(path string) (schema map[string]any, props map[string]any, required []string) {
	e.t.Helper()
	r := e.do("GET", path, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("%s: Content-Type %q", path, ct)
	}
	if !json.Valid(r.body) {
		e.t.Fatalf("%s is not valid JSON: %s", path, r.body)
	}
	schema = r.json(e.t)
	if schema["$id"] != path {
		e.t.Errorf("%s: $id %v", path, schema["$id"])
	}
	if s, _ := schema["$schema"].(string); s == "" {
		e.t.Errorf("%s: no $schema", path)
	}
	if schema["type"] != "object" {
		e.t.Errorf("%s: type %v, want object", path, schema["type"])
	}
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		e.t.Fatalf("%s: no properties", path)
	}
	for _, r := range stringsOf(e.t, schema["required"]) {
		if _, ok := props[r]; !ok {
			e.t.Errorf("%s: required %q is not a property", path, r)
		}
		required = append(required, r)
	}
	return schema, props, required
}

func stringsOf(t *testing.T, v any) []string {
	t.Helper()
	raw, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not an array", v)
	}
	out := make([]string, len(raw))
	for i, s := range raw {
		out[i] = s.(string)
	}
	return out
}

// checkDeclared checks that a document has every required field and no undeclared one.
func checkDeclared(t *testing.T, what string, doc map[string]any, props map[string]any, required []string) {
	t.Helper()
	for _, r := range required {
		if _, ok := doc[r]; !ok {
			t.Errorf("%s lacks required %q", what, r)
		}
	}
	for k := range doc {
		if _, ok := props[k]; !ok {
			t.Errorf("%s has %q, which the schema does not declare", what, k)
		}
	}
}

func TestSchemaTask(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		schema, props, required := e.fetchSchema("/v1/schemas/task")
		for _, f := range contractTaskFields {
			if _, ok := props[f]; !ok {
				t.Errorf("task schema lacks the contract's field %q", f)
			}
		}
		// Everything a task always carries is required; input and result are left out of
		// list items, so they cannot be.
		for _, f := range contractTaskFields {
			if f == "input" || f == "result" || f == "name" {
				continue
			}
			if !slices.Contains(required, f) {
				t.Errorf("task schema does not require %q", f)
			}
		}
		for _, f := range []string{"input", "result"} {
			if slices.Contains(required, f) {
				t.Errorf("task schema requires %q, which lists omit", f)
			}
		}
		status, _ := props["status"].(map[string]any)
		if ref, _ := status["$ref"].(string); ref != "" {
			defs, _ := schema["$defs"].(map[string]any)
			status, _ = defs[ref[len("#/$defs/"):]].(map[string]any)
		}
		if got := stringsOf(t, status["enum"]); !slices.Equal(got, []string{"pending", "processing", "success", "failure", "cancelled"}) {
			t.Errorf("status enum %v", got)
		}
		for name, want := range map[string][]string{
			"subTasks": {"name", "description", "status", "attempts", "startedAt", "finishedAt"},
			"errors":   {"errorCode", "errorType", "message", "causes"},
			"links":    {"rel", "href", "method"},
		} {
			items, _ := props[name].(map[string]any)["items"].(map[string]any)
			ip, _ := items["properties"].(map[string]any)
			for _, f := range want {
				if _, ok := ip[f]; !ok {
					t.Errorf("task schema: %s items lack %q", name, f)
				}
			}
		}

		// Real documents conform: a full one (with input and result) and a list item.
		id := e.create(steps(step("Only")))
		done := e.waitStatus(id, "success")
		checkDeclared(t, "task", done, props, required)
		if _, ok := done["input"]; !ok {
			t.Error("a task read alone lacks input")
		}
		l := e.do("GET", "/v1/tasks", nil).json(t)
		items := l["tasks"].([]any)
		if len(items) != 1 {
			t.Fatalf("list has %d tasks", len(items))
		}
		checkDeclared(t, "list item", items[0].(map[string]any), props, required)
		for _, sub := range subTasksOf(t, done) {
			sp := props["subTasks"].(map[string]any)["items"].(map[string]any)
			checkDeclared(t, "subtask", sub, sp["properties"].(map[string]any), stringsOf(t, sp["required"]))
		}
	})
}

func TestSchemaTasks(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		_, props, required := e.fetchSchema("/v1/schemas/tasks")
		for _, f := range []string{"tasks", "first", "next", "schema"} {
			if _, ok := props[f]; !ok {
				t.Errorf("tasks schema lacks %q", f)
			}
		}
		slices.Sort(required)
		if !slices.Equal(required, []string{"first", "schema", "tasks"}) {
			t.Errorf("tasks schema requires %v, want first, schema, tasks (next is absent on the last page)", required)
		}
		items, _ := props["tasks"].(map[string]any)["items"].(map[string]any)
		if items["$ref"] != "/v1/schemas/task" {
			t.Errorf("tasks items %v, want a $ref to /v1/schemas/task", items)
		}

		e.create(nil)
		e.create(nil)
		page := e.do("GET", "/v1/tasks?limit=1", nil).json(t)
		checkDeclared(t, "first page", page, props, required)
		if page["schema"] != "/v1/schemas/tasks" {
			t.Errorf("list schema %v", page["schema"])
		}
		next, _ := page["next"].(string)
		if next == "" {
			t.Fatal("first of two pages has no next")
		}
		last := e.do("GET", next, nil).json(t)
		checkDeclared(t, "last page", last, props, required)
		if _, ok := last["next"]; ok {
			t.Errorf("last page has next %v", last["next"])
		}
	}, noWorker)
}

func TestTaskTypes(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		r := e.do("GET", "/v1/task-types", nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /v1/task-types: %d %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		types, ok := r.json(t)["taskTypes"].([]any)
		if !ok {
			t.Fatalf("no taskTypes array: %s", r.body)
		}
		var demo map[string]any
		for _, ty := range types {
			if m := ty.(map[string]any); m["name"] == "demo" {
				demo = m
			}
		}
		if demo == nil {
			t.Fatalf("demo is not listed: %s", r.body)
		}
		if got := stringsOf(t, demo["subTasks"]); !slices.Equal(got, []string{"Validate", "Allocate", "Configure"}) {
			t.Errorf("demo subTasks %v", got)
		}
		if demo["maxAttempts"] != float64(3) {
			t.Errorf("demo maxAttempts %v, want 3", demo["maxAttempts"])
		}
		if d, _ := demo["description"].(string); d == "" {
			t.Error("demo has no description")
		}
		problem(t, e.do("GET", "/v1/task-types?x=1", nil), http.StatusBadRequest, "INVALID_PARAMETER")
	}, noWorker)
}
