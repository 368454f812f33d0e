package contracttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/executor"
)

// testCatalog is a catalog type with an input schema, an http step against a receiver and a
// wait step, and one that waits an hour; "{{receiver}}" stands for the receiver's URL.
const testCatalog = `{"taskTypes": [{
  "name": "report", "description": "Render a report, let it settle", "maxAttempts": 2, "retryable": false,
  "input": {"type": "object", "additionalProperties": false, "required": ["title", "pages"],
    "properties": {"title": {"type": "string", "minLength": 1}, "pages": {"type": "integer", "minimum": 1}}},
  "steps": [
    {"name": "Render", "description": "POST to the renderer", "http": {"url": "{{receiver}}/render"}, "timeoutSeconds": 5, "retry": {"backoffSeconds": 1}},
    {"name": "Settle", "wait": {"seconds": 1}}
  ],
  "result": {"report": "{{Render.url}}"}
}, {
  "name": "hold", "description": "Wait an hour, then settle",
  "steps": [{"name": "Hold", "wait": {"seconds": 3600}}, {"name": "Settle", "wait": {"seconds": 1}}]
}]}`

// withCatalog registers testCatalog's types, their http steps posting to a local receiver.
func withCatalog(t *testing.T) func(*options) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d executor.Document
		_ = json.NewDecoder(r.Body).Decode(&d)
		_, _ = io.WriteString(w, `{"url": "https://cdn.example.com/`+d.Task.ID+`.pdf"}`)
	}))
	t.Cleanup(recv.Close)
	types, err := catalog.Parse([]byte(strings.ReplaceAll(testCatalog, "{{receiver}}", recv.URL)), catalog.Runtime{HTTPClient: executor.NewHTTPClient(true)})
	if err != nil {
		t.Fatal(err)
	}
	return func(o *options) { o.types = append(o.types, types...) }
}

// TestCatalogInputSchemaErrors: a create whose input breaks the catalog type's input schema is
// a 400 VALIDATION_FAILED whose detail names the failing field.
func TestCatalogInputSchemaErrors(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			input  any
			detail string
		}{
			{map[string]any{"title": "Q4", "pages": 0}, "input.pages: must be >= 1"},
			{map[string]any{"title": "Q4"}, "input.pages: is required"},
			{map[string]any{"title": "Q4", "pages": 1, "color": "red"}, "input.color: is not allowed"},
			{map[string]any{"title": 4, "pages": 1}, "input.title: must be string, not integer"},
			{nil, "input: must be object, not null"},
		} {
			body := map[string]any{"type": "report"}
			if c.input != nil {
				body["input"] = c.input
			}
			r := e.do("POST", "/v1/tasks", body)
			problem(t, r, http.StatusBadRequest, "VALIDATION_FAILED")
			if d, _ := r.json(t)["detail"].(string); !strings.Contains(d, c.detail) {
				t.Errorf("input %v: detail %q, want it to say %q", c.input, d, c.detail)
			}
		}
	}, withCatalog(t), noWorker)
}

// TestCatalogTypeThroughTheAPI: a catalog type is listed with its steps, executors, budget
// and input schema; a task of it runs its http step (whose answer is the subtask's output,
// shown in the task and not in the list) and its wait step, and its result is the template's.
func TestCatalogTypeThroughTheAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		r := e.do("GET", "/v1/task-types", nil)
		var listed struct {
			TaskTypes []map[string]any `json:"taskTypes"`
		}
		if err := json.Unmarshal(r.body, &listed); err != nil {
			t.Fatal(err)
		}
		var report map[string]any
		for _, ty := range listed.TaskTypes {
			if ty["name"] == "report" {
				report = ty
			}
		}
		want := map[string]any{
			"name": "report", "description": "Render a report, let it settle", "maxAttempts": float64(2), "retryable": false,
			"subTasks": []any{"Render", "Settle"},
			"steps": []any{
				map[string]any{"name": "Render", "description": "POST to the renderer", "executor": "http", "timeoutSeconds": float64(5), "backoffSeconds": float64(1)},
				map[string]any{"name": "Settle", "executor": "wait"},
			},
			"inputSchema": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"title", "pages"},
				"properties": map[string]any{"title": map[string]any{"type": "string", "minLength": float64(1)}, "pages": map[string]any{"type": "integer", "minimum": float64(1)}}},
		}
		if d := cmp.Diff(want, report); d != "" {
			t.Errorf("report in /v1/task-types (-want +got):\n%s", d)
		}

		r = e.do("POST", "/v1/tasks", map[string]any{"type": "report", "input": map[string]any{"title": "Q4", "pages": 3}})
		if r.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		done := e.waitStatus(id, "success")
		subs := done["subTasks"].([]any)
		render := subs[0].(map[string]any)
		if d := cmp.Diff(map[string]any{"url": "https://cdn.example.com/" + id + ".pdf"}, render["output"]); d != "" {
			t.Errorf("Render's output (-want +got):\n%s", d)
		}
		if d := cmp.Diff(map[string]any{"seconds": float64(1)}, subs[1].(map[string]any)["output"]); d != "" {
			t.Errorf("Settle's output (-want +got):\n%s", d)
		}
		res := e.do("GET", "/v1/tasks/"+id+"/result", nil)
		if d := cmp.Diff(map[string]any{"report": "https://cdn.example.com/" + id + ".pdf"}, res.json(t)); d != "" {
			t.Errorf("result (-want +got):\n%s", d)
		}
		list := e.do("GET", "/v1/tasks?limit=5", nil)
		if strings.Contains(string(list.body), `"output"`) {
			t.Errorf("a listed task shows outputs: %s", list.body)
		}
	}, withCatalog(t))
}

// TestCancelDuringAWaitStep: a cancel while a wait step waits answers the task cancelled at
// once, the waiting subtask and the next with it (docs/api.md, "Waiting without compute"),
// and it stays so.
func TestCancelDuringAWaitStep(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		r := e.do("POST", "/v1/tasks", map[string]any{"type": "hold"})
		if r.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		e.waitFor("the wait step to wait", func() bool {
			sub := e.do("GET", "/v1/tasks/"+id, nil).json(t)["subTasks"].([]any)[0].(map[string]any)
			return sub["status"] == "processing" && sub["waitUntil"] != nil
		})
		c := e.do("DELETE", "/v1/tasks/"+id, nil)
		got := c.json(t)
		if c.status != http.StatusAccepted || got["status"] != "cancelled" || got["cancelRequested"] != true {
			t.Fatalf("cancel during the wait: %d %s, want 202 with the task cancelled", c.status, c.body)
		}
		var statuses []any
		for _, s := range got["subTasks"].([]any) {
			statuses = append(statuses, s.(map[string]any)["status"])
		}
		if diff := cmp.Diff([]any{"cancelled", "cancelled"}, statuses); diff != "" {
			t.Errorf("subtask statuses (-want +got):\n%s", diff)
		}
		if again := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil).json(t); again["status"] != "cancelled" {
			t.Errorf("read after the cancel: %v", again["status"])
		}
	}, withCatalog(t))
}
