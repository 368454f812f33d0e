package contracttest_test

import (
	"net/http"
	"testing"

	"github.com/tasklane/tasklane/shared/demo"
)

// withNoRetryType registers "once", the demo type with client retries refused.
func withNoRetryType(o *options) {
	once := demo.Type()
	once.Name = "once"
	once.NoRetry = true
	o.types = append(o.types, once)
}

// TestTypeWithoutRetry: a failed task of a type that refuses retries is not retryable
// (isRetryable false, no retry link) and a retry answers 409 TASK_NOT_RETRYABLE.
func TestTypeWithoutRetry(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		r := e.do("POST", "/v1/tasks", map[string]any{"type": "once", "input": steps(step("Broken", "failUntilRetry", 1))})
		if r.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		failed := e.waitStatus(id, "failure")
		if failed["isRetryable"] != false {
			t.Errorf("isRetryable = %v, want false", failed["isRetryable"])
		}
		for _, l := range failed["links"].([]any) {
			if l.(map[string]any)["rel"] == "retry" {
				t.Errorf("a retry link on a type without retries: %v", l)
			}
		}
		problem(t, e.do("PATCH", "/v1/tasks/"+id, nil), http.StatusConflict, "TASK_NOT_RETRYABLE")
		problem(t, e.do("POST", "/v1/tasks/"+id+"/retry", nil), http.StatusConflict, "TASK_NOT_RETRYABLE")
	}, withNoRetryType)
}
