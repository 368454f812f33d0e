package contracttest_test

import (
	"net/http"
	"testing"
	"time"
)

func TestCreatePollRedirectResult(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		r := e.do("POST", "/v1/tasks", map[string]any{"type": "demo", "name": "Provision web-01",
			"resources": []any{map[string]any{"resourceId": "h-1", "type": "HOST"}}},
			"X-Request-Id", "req-create-1")
		if r.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		task := r.json(t)
		id := task["id"].(string)
		url := "/v1/tasks/" + id
		for h, want := range map[string]string{"Location": url, "Content-Location": url, "Retry-After": "1", "X-Request-Id": "req-create-1", "Content-Type": "application/json"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if task["status"] != "pending" || task["self"] != url || task["owner"] != "local" || task["isCancellable"] != true || task["isRetryable"] != false {
			t.Errorf("created task: %s", r.body)
		}
		if n := len(task["subTasks"].([]any)); n != 3 {
			t.Errorf("default demo has %d subtasks, want 3", n)
		}

		done := e.waitStatus(id, "success")
		if done["progress"] != float64(100) || done["expiresAt"] == nil || done["finishedAt"] == nil {
			t.Errorf("finished task: %v", done)
		}

		g := e.do("GET", url, nil)
		if g.status != http.StatusSeeOther {
			t.Fatalf("GET finished task: %d, want 303", g.status)
		}
		if loc := g.header.Get("Location"); loc != url+"/result" {
			t.Errorf("303 Location %q", loc)
		}
		if g.json(t)["id"] != id {
			t.Error("303 body is not the task")
		}
		if g.header.Get("Expires") == "" || g.header.Get("ETag") == "" {
			t.Errorf("303 headers: %v", g.header)
		}
		if g.header.Get("Retry-After") != "" {
			t.Error("Retry-After on a terminal task")
		}
		exp, err := http.ParseTime(g.header.Get("Expires"))
		want, _ := time.Parse(time.RFC3339, done["expiresAt"].(string))
		if err != nil || !exp.Equal(want.Truncate(time.Second)) {
			t.Errorf("Expires %q, want the HTTP-date of %v", g.header.Get("Expires"), done["expiresAt"])
		}

		res := e.do("GET", url+"/result", nil)
		if res.status != http.StatusOK || res.json(t)["steps"] != float64(3) {
			t.Errorf("result: %d %s", res.status, res.body)
		}
	})
}

func TestGetWhileRunningAndConditional(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		// A task of the catalog's hold type, once its wait step waits, does not change for an
		// hour, so the ETag read below is still current when If-None-Match sends it back
		// (a demo step of a fixed duration could end in between on a loaded machine).
		c := e.do("POST", "/v1/tasks", map[string]any{"type": "hold"})
		if c.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", c.status, c.body)
		}
		id := c.json(t)["id"].(string)
		e.waitFor("the wait step to wait", func() bool {
			sub := e.do("GET", "/v1/tasks/"+id, nil).json(t)["subTasks"].([]any)[0].(map[string]any)
			return sub["status"] == "processing" && sub["waitUntil"] != nil
		})
		r := e.do("GET", "/v1/tasks/"+id, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET processing: %d", r.status)
		}
		if r.header.Get("Retry-After") == "" || r.header.Get("Expires") != "" {
			t.Errorf("processing headers: %v", r.header)
		}
		etag := r.header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		if nm := e.do("GET", "/v1/tasks/"+id, nil, "If-None-Match", etag); nm.status != http.StatusNotModified || len(nm.body) != 0 {
			t.Errorf("If-None-Match current: %d %q", nm.status, nm.body)
		}
		if nm := e.do("GET", "/v1/tasks/"+id, nil, "If-None-Match", `"stale"`); nm.status != http.StatusOK {
			t.Errorf("If-None-Match stale: %d", nm.status)
		}
		if d := e.do("DELETE", "/v1/tasks/"+id, nil); d.status != http.StatusAccepted { // a change: the task ends cancelled
			t.Fatalf("cancel: %d %s", d.status, d.body)
		}
		after := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil)
		if after.status != http.StatusOK || after.header.Get("ETag") == etag {
			t.Errorf("after a change: %d, ETag %q (was %q)", after.status, after.header.Get("ETag"), etag)
		}
		if nm := e.do("GET", "/v1/tasks/"+id, nil, "If-None-Match", etag); nm.status == http.StatusNotModified {
			t.Error("old ETag still answers 304")
		}
	}, withCatalog(t))
}

func TestResultNotFinished(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil)
		problem(t, e.do("GET", "/v1/tasks/"+id+"/result", nil), http.StatusConflict, "TASK_NOT_FINISHED")
		problem(t, e.do("GET", "/v1/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV/result", nil), http.StatusNotFound, "TASK_NOT_FOUND")
	}, noWorker)
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for _, id := range []string{"01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-a-ulid", "01arz3ndektsv4rrffq69g5fav", "81ARZ3NDEKTSV4RRFFQ69G5FAV"} {
			problem(t, e.do("GET", "/v1/tasks/"+id, nil), http.StatusNotFound, "TASK_NOT_FOUND")
		}
	}, noWorker)
}

func TestRequestIDOnEveryResponse(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		r := e.do("GET", "/v1/task-types", nil, "X-Request-Id", "abc-123")
		if r.header.Get("X-Request-Id") != "abc-123" {
			t.Errorf("echo: %q", r.header.Get("X-Request-Id"))
		}
		r = e.do("GET", "/v1/task-types", nil)
		if r.header.Get("X-Request-Id") == "" {
			t.Error("no generated X-Request-Id")
		}
		r = e.do("GET", "/v1/tasks/nope", nil, "X-Request-Id", "err-1")
		if r.header.Get("X-Request-Id") != "err-1" {
			t.Errorf("error echo: %q", r.header.Get("X-Request-Id"))
		}
	}, noWorker)
}
