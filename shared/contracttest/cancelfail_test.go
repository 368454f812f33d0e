package contracttest_test

import (
	"net/http"
	"testing"
)

// TestCancelledWhileFailingStepRuns: a cancel accepted while a step runs ends the task
// cancelled even when that step then fails for good; the failure stays in errors and the
// subtask that never started ends cancelled.
func TestCancelledWhileFailingStepRuns(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(steps(step("Broken", "durationMs", 800, "failUntilRetry", 1), step("Never")))
		e.waitFor("the step to start", func() bool {
			r := e.do("GET", "/v1/tasks/"+id, nil)
			return r.json(t)["subTasks"].([]any)[0].(map[string]any)["status"] == "processing"
		})
		r := e.do("DELETE", "/v1/tasks/"+id, nil)
		if r.status != http.StatusAccepted || r.json(t)["cancelRequested"] != true {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		done := e.waitStatus(id, "cancelled")
		subs := done["subTasks"].([]any)
		if s0, s1 := subs[0].(map[string]any)["status"], subs[1].(map[string]any)["status"]; s0 != "failure" || s1 != "cancelled" {
			t.Errorf("subtasks %v, %v; want failure, cancelled", s0, s1)
		}
		errs := done["errors"].([]any)
		if len(errs) == 0 || errs[len(errs)-1].(map[string]any)["errorCode"] != "DEMO_FAILURE" {
			t.Errorf("errors %v, want the step's failure kept", errs)
		}
		if done["isRetryable"] != false || done["isCancellable"] != false {
			t.Errorf("cancelled task: isRetryable %v isCancellable %v", done["isRetryable"], done["isCancellable"])
		}
	})
}
