package contracttest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/apigw"
)

// noTasks checks that the default tenant has no tasks: refused creates made nothing.
func (e *env) noTasks() {
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
		{"retentionSeconds exponent fraction", `{"type": "demo", "retentionSeconds": 6.05e1}`, "VALIDATION_FAILED"},
	}
	eachBackend(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				problem(t, e.do("POST", "/v1/tasks", c.body, "Content-Type", "application/json"), http.StatusBadRequest, c.code)
			})
		}
		e.noTasks()
	}, noWorker)
}

func TestCreateRetentionBounds(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for _, s := range []string{"60", "2592000", "1e3", "60.0", "2.592e6"} {
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
		e.noTasks()
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
		e.noTasks()
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
		if task := e.getTask(id); task["status"] != "pending" {
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

// TestCreateHostileBody: the hostile corpus's bodies are each a 400 VALIDATION_FAILED whose
// detail names the problem, never a 500 and never a task made of something else than what
// was sent (encoding/json replaces bad UTF-8 with U+FFFD).
func TestCreateHostileBody(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	cases := []struct {
		name, body, detail string
	}{
		{"invalid UTF-8 in a string", "{\"type\": \"demo\", \"name\": \"caf\xe9\"}", "UTF-8"},
		{"invalid UTF-8 in a key", "{\"type\": \"demo\", \"n\xffame\": \"x\"}", "UTF-8"},
		{"truncated UTF-8 sequence", "{\"type\": \"demo\", \"name\": \"\xe2\x82\"}", "UTF-8"},
		{"lone surrogate escape", `{"type": "demo", "name": "\ud800"}`, "surrogate"},
		{"nested 65 deep in input", `{"type": "demo", "input": ` + deep(64) + `}`, "64 levels"},
		{"nested 10001 deep", `{"type": "demo", "input": ` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, "64 levels"},
		{"durationMs with a fraction", `{"type": "demo", "input": {"steps": [{"name": "a", "durationMs": 100.5}]}}`, "input.steps[0].durationMs"},
		{"transientFailures with a fraction", `{"type": "demo", "input": {"steps": [{"name": "a", "transientFailures": 1.5}]}}`, "input.steps[0].transientFailures"},
		{"failUntilRetry with a fraction", `{"type": "demo", "input": {"steps": [{"name": "a", "failUntilRetry": 5e-1}]}}`, "input.steps[0].failUntilRetry"},
		{"durationMs beyond int64", `{"type": "demo", "input": {"steps": [{"name": "a", "durationMs": 1e30}]}}`, "input.steps[0].durationMs"},
		{"durationMs of a huge exponent", `{"type": "demo", "input": {"steps": [{"name": "a", "durationMs": 1e999999999}]}}`, "input.steps[0].durationMs"},
		{"retentionSeconds with a fraction", `{"type": "demo", "retentionSeconds": 3600.5}`, "retentionSeconds"},
		{"retentionSeconds beyond int64", `{"type": "demo", "retentionSeconds": 1e19}`, "retentionSeconds"},
		{"duplicate step names", `{"type": "demo", "input": {"steps": [{"name": "A"}, {"name": "B"}, {"name": "A"}]}}`, "input.steps[2].name"},
	}
	eachBackend(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do("POST", "/v1/tasks", c.body, "Content-Type", "application/json")
				problem(t, r, http.StatusBadRequest, "VALIDATION_FAILED")
				if d, _ := r.json(t)["detail"].(string); !strings.Contains(d, c.detail) {
					t.Errorf("detail %q does not name %q", d, c.detail)
				}
			})
		}
		e.noTasks()
	}, noWorker)
}

// TestCreateIntegersWithoutFraction: an integer field accepts any JSON number without a
// fractional part (the contract's Conventions), in the demo input as in retentionSeconds.
func TestCreateIntegersWithoutFraction(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		body := `{"type": "demo", "retentionSeconds": 3.6e3, "input": {"steps": [` +
			`{"name": "A", "durationMs": 100.0, "transientFailures": 0.0e1, "failUntilRetry": 0E0},` +
			`{"name": "B", "durationMs": 1e2, "transientFailures": 1.0}]}}`
		r := e.do("POST", "/v1/tasks", body, "Content-Type", "application/json")
		if r.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		m := r.json(t)
		if subs := m["subTasks"].([]any); len(subs) != 2 {
			t.Errorf("subTasks %v", subs)
		}
		done := e.waitStatus(m["id"].(string), "success")
		// B's one transient failure happened: its second attempt succeeded.
		if b := done["subTasks"].([]any)[1].(map[string]any); b["attempts"] != float64(2) {
			t.Errorf("B attempts %v, want 2 (transientFailures 1.0 is 1)", b["attempts"])
		}
		exp, _ := time.Parse(apigw.TimeFormat, done["expiresAt"].(string))
		fin, _ := time.Parse(apigw.TimeFormat, done["finishedAt"].(string))
		if exp.Sub(fin) != time.Hour {
			t.Errorf("expiresAt - finishedAt = %v, want 1h (retentionSeconds 3.6e3)", exp.Sub(fin))
		}
	})
}
