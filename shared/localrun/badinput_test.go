package localrun_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// crNoTasks checks that the default tenant has no tasks: refused creates made nothing.
func (e *env) crNoTasks() {
	e.t.Helper()
	r := e.do("GET", "/v1/tasks", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("list: %d %s", r.status, r.body)
	}
	if tasks := r.json(e.t)["tasks"].([]any); len(tasks) != 0 {
		e.t.Errorf("refused creates left %d tasks", len(tasks))
	}
}

func TestCreateBadBody(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, code string
	}{
		{"malformed JSON", `{"type": "demo",`, "VALIDATION_FAILED"},
		{"not JSON", `type=demo`, "VALIDATION_FAILED"},
		{"empty body", ``, "VALIDATION_FAILED"},
		{"array", `[{"type": "demo"}]`, "VALIDATION_FAILED"},
		{"two documents", `{"type": "demo"} {"type": "demo"}`, "VALIDATION_FAILED"},
		{"unknown top-level field", `{"type": "demo", "priority": 1}`, "VALIDATION_FAILED"},
		{"missing type", `{"name": "no type"}`, "VALIDATION_FAILED"},
		{"empty type", `{"type": ""}`, "VALIDATION_FAILED"},
		{"type not a string", `{"type": 7}`, "VALIDATION_FAILED"},
		{"unknown type", `{"type": "no-such-type"}`, "UNKNOWN_TASK_TYPE"},
		{"input not an object", `{"type": "demo", "input": [1]}`, "VALIDATION_FAILED"},
		{"durationMs too long", `{"type": "demo", "input": {"steps": [{"name": "a", "durationMs": 70000}]}}`, "VALIDATION_FAILED"},
		{"negative durationMs", `{"type": "demo", "input": {"steps": [{"name": "a", "durationMs": -1}]}}`, "VALIDATION_FAILED"},
		{"unknown step field", `{"type": "demo", "input": {"steps": [{"name": "a", "colour": "red"}]}}`, "VALIDATION_FAILED"},
		{"unknown input field", `{"type": "demo", "input": {"stages": []}}`, "VALIDATION_FAILED"},
		{"no steps", `{"type": "demo", "input": {"steps": []}}`, "VALIDATION_FAILED"},
		{"step without name", `{"type": "demo", "input": {"steps": [{"durationMs": 0}]}}`, "VALIDATION_FAILED"},
		{"resource without id", `{"type": "demo", "resources": [{"type": "HOST"}]}`, "VALIDATION_FAILED"},
		{"retentionSeconds 59", `{"type": "demo", "retentionSeconds": 59}`, "VALIDATION_FAILED"},
		{"retentionSeconds 2592001", `{"type": "demo", "retentionSeconds": 2592001}`, "VALIDATION_FAILED"},
		{"retentionSeconds string", `{"type": "demo", "retentionSeconds": "x"}`, "VALIDATION_FAILED"},
		{"retentionSeconds fraction", `{"type": "demo", "retentionSeconds": 60.5}`, "VALIDATION_FAILED"},
		{"retentionSeconds numeric string", `{"type": "demo", "retentionSeconds": "3600"}`, "VALIDATION_FAILED"},
		{"retentionSeconds exponent", `{"type": "demo", "retentionSeconds": 1e3}`, "VALIDATION_FAILED"},
	}
	eachBackend(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				problem(t, e.do("POST", "/v1/tasks", c.body, "Content-Type", "application/json"), http.StatusBadRequest, c.code)
			})
		}
		e.crNoTasks()
	}, noWorker)
}

func TestCreateRetentionBounds(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for _, s := range []string{"60", "2592000"} {
			r := e.do("POST", "/v1/tasks", `{"type": "demo", "retentionSeconds": `+s+`}`, "Content-Type", "application/json")
			if r.status != http.StatusAccepted {
				t.Errorf("retentionSeconds %s: %d %s, want 202", s, r.status, r.body)
			}
		}
	}, noWorker)
}

func TestCreateUnsupportedMediaType(t *testing.T) {
	t.Parallel()
	body := `{"type": "demo"}`
	eachBackend(t, func(t *testing.T, e *env) {
		for _, ct := range []string{"text/plain", "", "application/xml", "application/x-www-form-urlencoded", "application/json; charset=latin1", "not a media type"} {
			t.Run("Content-Type "+ct, func(t *testing.T) {
				var r reply
				if ct == "" {
					r = e.do("POST", "/v1/tasks", body)
				} else {
					r = e.do("POST", "/v1/tasks", body, "Content-Type", ct)
				}
				problem(t, r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
			})
		}
		e.crNoTasks()
		for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON"} {
			if r := e.do("POST", "/v1/tasks", body, "Content-Type", ct); r.status != http.StatusAccepted {
				t.Errorf("Content-Type %q: %d %s, want 202", ct, r.status, r.body)
			}
		}
	}, noWorker)
}

func TestCreateTooLarge(t *testing.T) {
	t.Parallel()
	// A valid document just over 256 KiB, and one of exactly 256 KiB (refused for its name,
	// not its size).
	doc := func(size int) string {
		head, tail := `{"type": "demo", "name": "`, `"}`
		return head + strings.Repeat("a", size-len(head)-len(tail)) + tail
	}
	eachBackend(t, func(t *testing.T, e *env) {
		problem(t, e.do("POST", "/v1/tasks", doc(256<<10+1), "Content-Type", "application/json"), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		problem(t, e.do("POST", "/v1/tasks", doc(1<<20), "Content-Type", "application/json"), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		problem(t, e.do("POST", "/v1/tasks", doc(256<<10), "Content-Type", "application/json"), http.StatusBadRequest, "VALIDATION_FAILED")
		e.crNoTasks()
	}, noWorker)
}

func TestListBadParameters(t *testing.T) {
	t.Parallel()
	queries := []string{
		"limit=0", "limit=101", "limit=abc", "limit=-1", "limit=", "limit=1&limit=2",
		"status=bogus", "status=pending,bogus", "sort_key=name", "sort_dir=up",
		"foo=1", "type=demo&type=demo", "sort_key=createdAt&sort_key=updatedAt",
	}
	eachBackend(t, func(t *testing.T, e *env) {
		e.create(nil)
		for _, q := range queries {
			t.Run(q, func(t *testing.T) {
				problem(t, e.do("GET", "/v1/tasks?"+q, nil), http.StatusBadRequest, "INVALID_PARAMETER")
			})
		}
		// The bounds themselves are fine.
		for _, q := range []string{"limit=1", "limit=100", "status=pending,failure", "sort_key=updatedAt&sort_dir=asc"} {
			if r := e.do("GET", "/v1/tasks?"+q, nil); r.status != http.StatusOK {
				t.Errorf("%s: %d %s", q, r.status, r.body)
			}
		}
	}, noWorker)
}

func TestGetBadParameters(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil)
		for _, q := range []string{"redirect=maybe", "redirect=", "redirect=false&redirect=true", "foo=1"} {
			t.Run(q, func(t *testing.T) {
				problem(t, e.do("GET", "/v1/tasks/"+id+"?"+q, nil), http.StatusBadRequest, "INVALID_PARAMETER")
			})
		}
		for _, q := range []string{"redirect=false", "redirect=true"} {
			if r := e.do("GET", "/v1/tasks/"+id+"?"+q, nil); r.status != http.StatusOK {
				t.Errorf("%s on a pending task: %d %s", q, r.status, r.body)
			}
		}
	}, noWorker)
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil)
		cases := []struct {
			method, path string
			allow        []string
		}{
			{"PUT", "/v1/tasks/" + id, []string{"DELETE", "GET", "PATCH"}},
			{"POST", "/v1/tasks/" + id, []string{"DELETE", "GET", "PATCH"}},
			{"DELETE", "/v1/tasks", []string{"GET", "POST"}},
			{"PUT", "/v1/tasks", []string{"GET", "POST"}},
			{"GET", "/v1/tasks/" + id + "/cancel", []string{"POST"}},
			{"DELETE", "/v1/tasks/" + id + "/result", []string{"GET"}},
			{"POST", "/v1/task-types", []string{"GET"}},
		}
		for _, c := range cases {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				r := e.do(c.method, c.path, nil)
				problem(t, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
				var got []string
				for _, m := range strings.Split(r.header.Get("Allow"), ",") {
					if m = strings.TrimSpace(m); m != "" {
						got = append(got, m)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, c.allow) {
					t.Errorf("Allow %q, want %v", r.header.Get("Allow"), c.allow)
				}
			})
		}
		// None of that touched the task.
		if task := e.crGet(id); task["status"] != "pending" {
			t.Errorf("task is %v after refused methods", task["status"])
		}
	}, noWorker)
}

func TestUnknownPath(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil)
		for _, p := range []string{"/", "/nope", "/v1", "/v1/nope", "/v2/tasks", "/v1/tasks/" + id + "/nope", "/v1/tasks/" + id + "/result/x", "/v1/schemas/nope"} {
			for _, m := range []string{"GET", "POST"} {
				r := e.do(m, p, nil)
				if r.status != http.StatusNotFound {
					t.Errorf("%s %s: %d %s, want 404", m, p, r.status, r.body)
					continue
				}
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("%s %s: Content-Type %q", m, p, ct)
				}
				if code, _ := r.json(t)["errorCode"].(string); code == "" {
					t.Errorf("%s %s: no errorCode: %s", m, p, r.body)
				}
			}
		}
	}, noWorker)
}
