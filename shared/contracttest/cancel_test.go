package contracttest_test

import (
	"net/http"
	"testing"
	"time"
)

// Helpers of the cancel, retry, bad-input and discovery tests carry a cr prefix so that they
// cannot clash with helpers other test files of this package define.

// cancelWays are the two ways of asking for a cancel.
var cancelWays = []struct{ method, suffix string }{
	{"DELETE", ""},
	{"POST", "/cancel"},
}

// retryWays are the two ways of asking for a retry (PATCH with an empty body).
var retryWays = []struct{ method, suffix string }{
	{"PATCH", ""},
	{"POST", "/retry"},
}

// subTasksOf returns a task document's subtasks.
func subTasksOf(t *testing.T, task map[string]any) []map[string]any {
	t.Helper()
	raw, ok := task["subTasks"].([]any)
	if !ok {
		t.Fatalf("subTasks is not an array: %v", task["subTasks"])
	}
	out := make([]map[string]any, len(raw))
	for i, s := range raw {
		out[i] = s.(map[string]any)
	}
	return out
}

// errorsOf returns a task document's errors.
func errorsOf(t *testing.T, task map[string]any) []map[string]any {
	t.Helper()
	raw, ok := task["errors"].([]any)
	if !ok {
		t.Fatalf("errors is not an array: %v", task["errors"])
	}
	out := make([]map[string]any, len(raw))
	for i, s := range raw {
		out[i] = s.(map[string]any)
	}
	return out
}

// linksOf returns a task document's links as rel → "METHOD href".
func linksOf(t *testing.T, task map[string]any) map[string]string {
	t.Helper()
	raw, ok := task["links"].([]any)
	if !ok {
		t.Fatalf("links is not an array: %v", task["links"])
	}
	out := map[string]string{}
	for _, l := range raw {
		m := l.(map[string]any)
		out[m["rel"].(string)] = m["method"].(string) + " " + m["href"].(string)
	}
	return out
}

// getTask reads a task with redirect=false and fails unless it is a 200.
func (e *env) getTask(id string) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", id, r.status, r.body)
	}
	return r.json(e.t)
}

// waitRunning waits until subtask i of the task is mid-attempt.
func (e *env) waitRunning(id string, i int) {
	e.t.Helper()
	e.waitFor("subtask "+id+" to run", func() bool {
		r := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil)
		if r.status != http.StatusOK {
			return false
		}
		task := r.json(e.t)
		return task["status"] == "processing" && subTasksOf(e.t, task)[i]["status"] == "processing"
	})
}

// checkAccepted checks a 202 of cancel or retry: headers and the task as body.
func checkAccepted(t *testing.T, r reply, id string) map[string]any {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", r.status, r.body)
	}
	url := "/v1/tasks/" + id
	for h, want := range map[string]string{"Location": url, "Content-Location": url, "Content-Type": "application/json"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	task := r.json(t)
	if task["id"] != id {
		t.Errorf("202 body is not the task: %s", r.body)
	}
	return task
}

// checkCancelled checks a task that ended cancelled: terminal fields set, nothing left to
// do, and every subtask from first on cancelled without ever having started.
func checkCancelled(t *testing.T, task map[string]any, first int) {
	t.Helper()
	if task["status"] != "cancelled" {
		t.Fatalf("status %v, want cancelled", task["status"])
	}
	if task["finishedAt"] == nil || task["expiresAt"] == nil {
		t.Errorf("finishedAt %v, expiresAt %v: want both set", task["finishedAt"], task["expiresAt"])
	} else if d := contractTime(t, task["expiresAt"]).Sub(contractTime(t, task["finishedAt"])); d != 48*time.Hour {
		t.Errorf("expiresAt is finishedAt + %v, want the default retention of 48h", d)
	}
	if task["isCancellable"] != false || task["isRetryable"] != false {
		t.Errorf("isCancellable %v, isRetryable %v: want false, false", task["isCancellable"], task["isRetryable"])
	}
	if l := linksOf(t, task); len(l) != 0 {
		t.Errorf("links of a cancelled task: %v, want none", l)
	}
	if task["message"] == "" {
		t.Error("no message saying why the task was cancelled")
	}
	if task["result"] != nil {
		t.Errorf("result %v on a cancelled task", task["result"])
	}
	for i, s := range subTasksOf(t, task)[first:] {
		if s["status"] != "cancelled" || s["attempts"] != float64(0) {
			t.Errorf("subtask %d: status %v attempts %v, want cancelled with 0 attempts", first+i, s["status"], s["attempts"])
		}
		if _, ok := s["startedAt"]; ok {
			t.Errorf("subtask %d never ran but has startedAt %v", first+i, s["startedAt"])
		}
	}
}

func TestCancelPending(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for _, w := range cancelWays {
			t.Run(w.method+w.suffix, func(t *testing.T) {
				id := e.create(nil)
				r := e.do(w.method, "/v1/tasks/"+id+w.suffix, nil)
				task := checkAccepted(t, r, id)
				if r.header.Get("Retry-After") != "" {
					t.Error("Retry-After on a task that is already cancelled")
				}
				checkCancelled(t, task, 0)
				if task["cancelRequested"] == nil {
					t.Error("no cancelRequested field")
				}
				if n := len(subTasksOf(t, task)); n != 3 {
					t.Errorf("%d subtasks, want 3", n)
				}
				// The cancel is stored, not only answered.
				got := e.getTask(id)
				checkCancelled(t, got, 0)
				if got["finishedAt"] != task["finishedAt"] {
					t.Errorf("stored finishedAt %v, answered %v", got["finishedAt"], task["finishedAt"])
				}
			})
		}
	}, noWorker)
}

func TestCancelProcessing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		// 5 s: the cancels below must reach the task while its first step still runs, also on
		// a loaded machine (1.5 s was once not enough for a similar test).
		input := steps(step("Slow", "durationMs", 5000), step("Next"), step("Last"))
		for _, w := range cancelWays {
			t.Run(w.method+w.suffix, func(t *testing.T) {
				// Created here, not all first: a task's first message may reach the worker
				// before its write and come back a second later (see "No task without a
				// message" in shared/worker), so tasks do not start in creation order.
				id := e.create(input)
				e.waitRunning(id, 0)
				r := e.do(w.method, "/v1/tasks/"+id+w.suffix, nil)
				task := checkAccepted(t, r, id)
				if task["status"] != "processing" || task["cancelRequested"] != true {
					t.Fatalf("cancel of a running task: status %v cancelRequested %v, want processing, true", task["status"], task["cancelRequested"])
				}
				if r.header.Get("Retry-After") == "" {
					t.Error("no Retry-After while the task still runs")
				}

				// Asking again, either way, while the cancel is requested: 202 as well.
				for _, again := range cancelWays {
					a := e.do(again.method, "/v1/tasks/"+id+again.suffix, nil)
					if a.status == http.StatusConflict {
						// The worker may have ended the task in between: only that is a 409.
						if e.getTask(id)["status"] != "cancelled" {
							t.Fatalf("second cancel %s: 409 while not yet cancelled: %s", again.method, a.body)
						}
						continue
					}
					at := checkAccepted(t, a, id)
					if at["status"] == "processing" && at["cancelRequested"] != true {
						t.Errorf("second cancel %s: cancelRequested %v", again.method, at["cancelRequested"])
					}
				}

				done := e.waitStatus(id, "cancelled")
				checkCancelled(t, done, 1)
				first := subTasksOf(t, done)[0]
				if st := first["status"]; st != "success" && st != "cancelled" {
					t.Errorf("running subtask ended %v, want success or cancelled", st)
				}
				if first["attempts"] != float64(1) {
					t.Errorf("running subtask attempts %v, want 1", first["attempts"])
				}
				if first["status"] == "success" && done["progress"] != float64(33) {
					t.Errorf("progress %v, want 33 (one of three subtasks succeeded)", done["progress"])
				}
			})
		}
	})
}

func TestCancelTerminalConflicts(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		succeeded := e.create(steps(step("Only")))
		failed := e.create(steps(step("Broken", "failUntilRetry", 1)))
		cancelled := e.create(steps(step("Slow", "durationMs", 5000), step("Never"))) // cancelled while Slow runs
		e.waitRunning(cancelled, 0)
		checkAccepted(t, e.do("DELETE", "/v1/tasks/"+cancelled, nil), cancelled)

		for status, id := range map[string]string{"success": succeeded, "failure": failed, "cancelled": cancelled} {
			before := e.waitStatus(id, status)
			for _, w := range cancelWays {
				problem(t, e.do(w.method, "/v1/tasks/"+id+w.suffix, nil), http.StatusConflict, "TASK_NOT_CANCELLABLE")
			}
			after := e.getTask(id)
			if after["status"] != status || after["updatedAt"] != before["updatedAt"] {
				t.Errorf("%s task changed by a refused cancel: %v at %v, was %v", status, after["status"], after["updatedAt"], before["updatedAt"])
			}
		}
	})
}

func TestCancelUnknownTask(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for _, w := range cancelWays {
			problem(t, e.do(w.method, "/v1/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV"+w.suffix, nil), http.StatusNotFound, "TASK_NOT_FOUND")
		}
	}, noWorker)
}
