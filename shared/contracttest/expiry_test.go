package contracttest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExpiredTaskIsGone(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		done := e.createBody(map[string]any{"type": "demo", "name": "short-lived", "retentionSeconds": 60})["id"].(string)
		failed := e.createBody(map[string]any{"type": "demo", "retentionSeconds": 60, "input": steps(step("Boom", "failUntilRetry", 1))})["id"].(string)
		kept := e.create(nil) // default retention: outlives the others
		d := e.waitStatus(done, "success")
		f := e.waitStatus(failed, "failure")
		e.waitStatus(kept, "success")

		// Finished, and readable until expiresAt = finishedAt + 60 s.
		for _, m := range []map[string]any{d, f} {
			fin, exp := contractTime(t, m["finishedAt"]), contractTime(t, m["expiresAt"])
			if got := exp.Sub(fin); got != 60*time.Second {
				t.Errorf("task %v: expiresAt - finishedAt = %v, want 60s", m["id"], got)
			}
		}
		check := func(when string) {
			t.Helper()
			if r := e.do("GET", "/v1/tasks/"+done, nil); r.status != http.StatusSeeOther || r.json(t)["id"] != done {
				t.Errorf("%s: GET finished task: %d %s", when, r.status, r.body)
			}
			if r := e.do("GET", "/v1/tasks/"+done+"/result", nil); r.status != http.StatusOK || r.json(t)["steps"] != float64(3) {
				t.Errorf("%s: GET result: %d %s", when, r.status, r.body)
			}
			if r := e.do("GET", "/v1/tasks/"+failed, nil); r.status != http.StatusOK || r.json(t)["status"] != "failure" {
				t.Errorf("%s: GET failed task: %d %s", when, r.status, r.body)
			}
			all := e.listAll()
			if !slices.Contains(all, done) || !slices.Contains(all, failed) || !slices.Contains(all, kept) {
				t.Errorf("%s: list %v lacks a task", when, all)
			}
		}
		check("just finished")
		e.clock.Advance(30 * time.Second)
		check("30 s later")

		e.clock.Advance(31 * time.Second) // 61 s after finishing
		for _, id := range []string{done, failed} {
			for _, c := range []struct{ method, path string }{
				{"GET", "/v1/tasks/" + id},
				{"GET", "/v1/tasks/" + id + "?redirect=false"},
				{"GET", "/v1/tasks/" + id + "/result"},
				{"DELETE", "/v1/tasks/" + id},
				{"POST", "/v1/tasks/" + id + "/cancel"},
				{"PATCH", "/v1/tasks/" + id},
				{"POST", "/v1/tasks/" + id + "/retry"},
			} {
				problem(t, e.do(c.method, c.path, nil), http.StatusNotFound, "TASK_NOT_FOUND")
			}
			// Not even an admin sees it.
			problem(t, e.do("GET", "/v1/tasks/"+id, nil, as("root", "admin")...), http.StatusNotFound, "TASK_NOT_FOUND")
		}
		for _, q := range []string{"/v1/tasks", "/v1/tasks?limit=1", "/v1/tasks?status=success", "/v1/tasks?status=failure",
			"/v1/tasks?status=success,failure&limit=1", "/v1/tasks?sort_key=updatedAt", "/v1/tasks?type=demo&sort_dir=asc&limit=1"} {
			got, _ := e.walkPages(q, 100)
			if slices.Contains(got, done) || slices.Contains(got, failed) {
				t.Errorf("%s lists an expired task: %v", q, got)
			}
			if !strings.Contains(q, "failure") && !slices.Contains(got, kept) {
				t.Errorf("%s lacks the task that has not expired: %v", q, got)
			}
		}
		sameIDs(t, "admin list of local", e.getPage("/v1/tasks?owner=local", as("root", "admin")...).ids(), []string{kept})
		if r := e.do("GET", "/v1/tasks/"+kept, nil); r.status != http.StatusSeeOther {
			t.Errorf("task with default retention after 61 s: %d", r.status)
		}
		// A failed task that expired cannot be retried back to life.
		if r := e.do("GET", "/v1/tasks/"+failed+"?redirect=false", nil); r.status != http.StatusNotFound {
			t.Errorf("expired task after the retry attempts: %d %s", r.status, r.body)
		}
	})
}

func TestDefaultRetentionIs48Hours(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil)
		failed := e.create(steps(step("Boom", "failUntilRetry", 1)))
		pending := e.create(steps(step("Slow", "durationMs", 1000)))
		if m := e.do("GET", "/v1/tasks/"+pending+"?redirect=false", nil).json(t); m["expiresAt"] != nil || m["finishedAt"] != nil {
			t.Errorf("unfinished task: finishedAt %v expiresAt %v, want null", m["finishedAt"], m["expiresAt"])
		}
		for id, st := range map[string]string{id: "success", failed: "failure"} {
			m := e.waitStatus(id, st)
			fin, exp := contractTime(t, m["finishedAt"]), contractTime(t, m["expiresAt"])
			if got := exp.Sub(fin); got != 48*time.Hour {
				t.Errorf("%s task: expiresAt %v - finishedAt %v = %v, want exactly 48h", st, m["expiresAt"], m["finishedAt"], got)
			}
			r := e.do("GET", "/v1/tasks/"+id, nil)
			if h, err := http.ParseTime(r.header.Get("Expires")); err != nil || !h.Equal(exp.Truncate(time.Second)) {
				t.Errorf("%s task: Expires %q, want the HTTP-date of %v", st, r.header.Get("Expires"), exp)
			}
			// Listed tasks carry the same instants.
			for _, tk := range e.getPage("/v1/tasks?status=" + st).Tasks {
				if tk["id"] == id && (tk["expiresAt"] != m["expiresAt"] || tk["finishedAt"] != m["finishedAt"]) {
					t.Errorf("listed %s task: finishedAt %v expiresAt %v, GET says %v %v", st, tk["finishedAt"], tk["expiresAt"], m["finishedAt"], m["expiresAt"])
				}
			}
		}
		// Still there 47 h 59 min later; gone after 48 h.
		e.clock.Advance(48*time.Hour - time.Minute)
		if r := e.do("GET", "/v1/tasks/"+id, nil); r.status != http.StatusSeeOther {
			t.Errorf("47h59m after finishing: %d %s", r.status, r.body)
		}
		e.clock.Advance(2 * time.Minute)
		problem(t, e.do("GET", "/v1/tasks/"+id, nil), http.StatusNotFound, "TASK_NOT_FOUND")
		problem(t, e.do("GET", "/v1/tasks/"+failed, nil), http.StatusNotFound, "TASK_NOT_FOUND")
		if got := e.listAll(); slices.Contains(got, id) || slices.Contains(got, failed) {
			t.Errorf("list after 48 h: %v", got)
		}
	})
}
