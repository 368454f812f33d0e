package contracttest_test

import (
	"net/http"
	"testing"
	"time"
)

// failsOnce is a demo input whose second step fails permanently until the task is retried
// once.
func failsOnce() map[string]any {
	return steps(step("Validate"), step("Allocate", "failUntilRetry", 1), step("Configure"))
}

// contractTime parses a contract time, failing the test unless it is RFC 3339 UTC with milliseconds.
func contractTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("time %v is not a string", v)
	}
	at, err := time.Parse("2006-01-02T15:04:05.000Z", s)
	if err != nil {
		t.Fatalf("time %q is not RFC 3339 UTC with milliseconds: %v", s, err)
	}
	return at
}

// checkFailed checks the failure of a failsOnce task.
func checkFailed(t *testing.T, task map[string]any) {
	t.Helper()
	if task["status"] != "failure" {
		t.Fatalf("status %v, want failure", task["status"])
	}
	if m, _ := task["message"].(string); m == "" {
		t.Error("a failed task has no message")
	}
	if task["isRetryable"] != true || task["isCancellable"] != false {
		t.Errorf("isRetryable %v, isCancellable %v: want true, false", task["isRetryable"], task["isCancellable"])
	}
	links := linksOf(t, task)
	if links["retry"] != "PATCH /v1/tasks/"+task["id"].(string) {
		t.Errorf("retry link %q, want PATCH to the task", links["retry"])
	}
	if _, ok := links["cancel"]; ok {
		t.Error("a failed task offers cancel")
	}
	if task["finishedAt"] == nil || task["expiresAt"] == nil || task["result"] != nil {
		t.Errorf("finishedAt %v expiresAt %v result %v", task["finishedAt"], task["expiresAt"], task["result"])
	}
	errs := errorsOf(t, task)
	if len(errs) != 1 {
		t.Fatalf("errors %v, want one entry", errs)
	}
	e := errs[0]
	if e["errorType"] != "ERROR" || e["errorCode"] != "DEMO_FAILURE" || e["subTask"] != "Allocate" || e["message"] == "" {
		t.Errorf("error entry %v", e)
	}
	if _, ok := e["causes"].([]any); !ok {
		t.Errorf("error entry has no causes array: %v", e)
	}
	subs := subTasksOf(t, task)
	want := []struct {
		status   string
		attempts float64
	}{{"success", 1}, {"failure", 1}, {"pending", 0}}
	for i, w := range want {
		if subs[i]["status"] != w.status || subs[i]["attempts"] != w.attempts {
			t.Errorf("subtask %d: %v with %v attempts, want %s with %v", i, subs[i]["status"], subs[i]["attempts"], w.status, w.attempts)
		}
	}
	if task["progress"] != float64(33) {
		t.Errorf("progress %v, want 33", task["progress"])
	}
}

func TestRetryAfterFailure(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		ids := map[string]string{}
		for _, w := range retryWays {
			ids[w.method] = e.create(failsOnce())
		}
		for _, w := range retryWays {
			id := ids[w.method]
			t.Run(w.method+w.suffix, func(t *testing.T) {
				failed := e.waitStatus(id, "failure")
				checkFailed(t, failed)
				first := subTasksOf(t, failed)[0]

				r := e.do(w.method, "/v1/tasks/"+id+w.suffix, nil)
				task := checkAccepted(t, r, id)
				if task["status"] != "pending" || task["retryCount"] != float64(1) {
					t.Errorf("retried task: status %v retryCount %v, want pending, 1", task["status"], task["retryCount"])
				}
				if r.header.Get("Retry-After") == "" {
					t.Error("no Retry-After on a pending task")
				}
				if task["finishedAt"] != nil || task["expiresAt"] != nil || task["isRetryable"] != false || task["isCancellable"] != true {
					t.Errorf("retried task: finishedAt %v expiresAt %v isRetryable %v isCancellable %v", task["finishedAt"], task["expiresAt"], task["isRetryable"], task["isCancellable"])
				}
				subs := subTasksOf(t, task)
				if subs[0]["status"] != "success" || subs[0]["attempts"] != float64(1) {
					t.Errorf("succeeded subtask after retry: %v", subs[0])
				}
				for i := 1; i < 3; i++ {
					if subs[i]["status"] != "pending" || subs[i]["attempts"] != float64(0) {
						t.Errorf("subtask %d after retry: %v, want pending with 0 attempts", i, subs[i])
					}
				}
				if len(errorsOf(t, task)) != 1 {
					t.Errorf("errors after retry: %v, want the history kept", task["errors"])
				}

				done := e.waitStatus(id, "success")
				if done["retryCount"] != float64(1) {
					t.Errorf("retryCount %v, want 1", done["retryCount"])
				}
				subs = subTasksOf(t, done)
				if subs[0]["attempts"] != float64(1) || subs[0]["startedAt"] != first["startedAt"] || subs[0]["finishedAt"] != first["finishedAt"] {
					t.Errorf("the subtask that had succeeded was run again: %v, was %v", subs[0], first)
				}
				for i := 1; i < 3; i++ {
					if subs[i]["status"] != "success" || subs[i]["attempts"] != float64(1) {
						t.Errorf("subtask %d: %v, want success after one attempt of the new run", i, subs[i])
					}
				}
				if contractTime(t, subs[1]["startedAt"]).Before(contractTime(t, failed["finishedAt"])) {
					t.Errorf("failed subtask was not run again: startedAt %v, before the failure at %v", subs[1]["startedAt"], failed["finishedAt"])
				}
				errs := errorsOf(t, done)
				if len(errs) != 1 || errs[0]["errorType"] != "ERROR" || errs[0]["errorCode"] != "DEMO_FAILURE" {
					t.Errorf("errors after success: %v, want the first run's failure kept", errs)
				}
				if done["message"] != "" {
					t.Errorf("message %q on success", done["message"])
				}
				if res := e.do("GET", "/v1/tasks/"+id+"/result", nil); res.status != http.StatusOK || res.json(t)["steps"] != float64(3) {
					t.Errorf("result: %d %s", res.status, res.body)
				}
			})
		}
	})
}

func TestRetryPatchBody(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(failsOnce())
		e.waitStatus(id, "failure")
		for _, body := range []any{map[string]any{"status": "pending"}, `{"x":1}`, `[]`, `retry please`, `{} {}`} {
			r := e.do("PATCH", "/v1/tasks/"+id, body, "Content-Type", "application/json")
			problem(t, r, http.StatusBadRequest, "VALIDATION_FAILED")
		}
		if st := e.getTask(id)["status"]; st != "failure" {
			t.Fatalf("a refused PATCH changed the task to %v", st)
		}
		// An empty JSON object is as good as no body.
		task := checkAccepted(t, e.do("PATCH", "/v1/tasks/"+id, map[string]any{}), id)
		if task["status"] != "pending" || task["retryCount"] != float64(1) {
			t.Errorf("PATCH {}: status %v retryCount %v", task["status"], task["retryCount"])
		}
		e.waitStatus(id, "success")
	})
}

func TestRetryPendingOrCancelledConflicts(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil)
		for _, w := range retryWays {
			problem(t, e.do(w.method, "/v1/tasks/"+id+w.suffix, nil), http.StatusConflict, "TASK_NOT_RETRYABLE")
		}
		checkAccepted(t, e.do("DELETE", "/v1/tasks/"+id, nil), id)
		for _, w := range retryWays {
			problem(t, e.do(w.method, "/v1/tasks/"+id+w.suffix, nil), http.StatusConflict, "TASK_NOT_RETRYABLE")
		}
		if task := e.getTask(id); task["status"] != "cancelled" || task["retryCount"] != float64(0) {
			t.Errorf("after refused retries: status %v retryCount %v", task["status"], task["retryCount"])
		}
	}, noWorker)
}

func TestRetryProcessingOrSuccessConflicts(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(steps(step("Slow", "durationMs", 1500)))
		e.waitRunning(id, 0)
		for _, w := range retryWays {
			problem(t, e.do(w.method, "/v1/tasks/"+id+w.suffix, nil), http.StatusConflict, "TASK_NOT_RETRYABLE")
		}
		e.waitStatus(id, "success")
		for _, w := range retryWays {
			problem(t, e.do(w.method, "/v1/tasks/"+id+w.suffix, nil), http.StatusConflict, "TASK_NOT_RETRYABLE")
		}
		if task := e.getTask(id); task["status"] != "success" || task["retryCount"] != float64(0) {
			t.Errorf("after refused retries: status %v retryCount %v", task["status"], task["retryCount"])
		}
	})
}

func TestRetryUnknownTask(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for _, w := range retryWays {
			problem(t, e.do(w.method, "/v1/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV"+w.suffix, nil), http.StatusNotFound, "TASK_NOT_FOUND")
		}
	}, noWorker)
}

func TestAttemptBudgetTransientRecovers(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(steps(step("First"), step("Flaky", "transientFailures", 2), step("Last")))
		done := e.waitStatus(id, "success")
		subs := subTasksOf(t, done)
		for i, want := range []float64{1, 3, 1} {
			if subs[i]["status"] != "success" || subs[i]["attempts"] != want {
				t.Errorf("subtask %d: %v with %v attempts, want success with %v", i, subs[i]["status"], subs[i]["attempts"], want)
			}
		}
		errs := errorsOf(t, done)
		if len(errs) != 2 {
			t.Fatalf("errors %v, want two warnings", errs)
		}
		for _, e := range errs {
			if e["errorType"] != "WARNING" || e["errorCode"] != "DEMO_TRANSIENT" || e["subTask"] != "Flaky" {
				t.Errorf("error entry %v, want a DEMO_TRANSIENT WARNING of Flaky", e)
			}
		}
		if done["retryCount"] != float64(0) || done["message"] != "" {
			t.Errorf("retryCount %v message %q", done["retryCount"], done["message"])
		}
	})
}

func TestAttemptBudgetSpent(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(steps(step("First"), step("Flaky", "transientFailures", 3), step("Last")))
		done := e.waitStatus(id, "failure")
		subs := subTasksOf(t, done)
		if subs[1]["status"] != "failure" || subs[1]["attempts"] != float64(3) {
			t.Errorf("spent subtask: %v with %v attempts, want failure with 3", subs[1]["status"], subs[1]["attempts"])
		}
		if subs[2]["status"] != "pending" || subs[2]["attempts"] != float64(0) {
			t.Errorf("subtask after the failed one: %v", subs[2])
		}
		errs := errorsOf(t, done)
		if len(errs) != 3 {
			t.Fatalf("errors %v, want two warnings and the error", errs)
		}
		for i, want := range []string{"WARNING", "WARNING", "ERROR"} {
			if errs[i]["errorType"] != want || errs[i]["subTask"] != "Flaky" {
				t.Errorf("error %d: %v, want a %s of Flaky", i, errs[i], want)
			}
		}
		if m, _ := done["message"].(string); m == "" {
			t.Error("no message on failure")
		}
		if done["isRetryable"] != true {
			t.Error("a task whose budget was spent is not retryable")
		}
	})
}
