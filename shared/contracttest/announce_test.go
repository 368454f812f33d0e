package contracttest_test

import (
	"net/http"
	"testing"

	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/queue"
)

// faultySends wraps each environment's work queue in a fault.Queue; a test finds its own
// with faults(e).
func faultySends(o *options) {
	o.wrap = func(q queue.Queue) queue.Queue { return fault.NewQueue(q) }
}

func faults(e *env) *fault.Queue {
	e.t.Helper()
	q, ok := e.deps.Queue.(*fault.Queue)
	if !ok {
		e.t.Fatal("the environment was not set up with faultySends")
	}
	return q
}

// TestAnnounceFails: the work queue refuses the message of a create or a retry, which the API
// sends before it stores the task (see "No task without a message" in shared/worker). The
// answer is the contract's 500 INTERNAL problem, and nothing was stored: no task is listed,
// and the retried task is still failed; a second try of either goes through.
func TestAnnounceFails(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		q := faults(e)
		q.FailSends(1)
		r := e.do("POST", "/v1/tasks", map[string]any{"type": "demo", "name": "never stored"})
		problem(t, r, http.StatusInternalServerError, "INTERNAL")
		if r := e.do("GET", "/v1/tasks", nil); r.status != http.StatusOK || len(r.json(t)["tasks"].([]any)) != 0 {
			t.Fatalf("after the failed create: %d %s, want no task", r.status, r.body)
		}

		id := e.create(failsOnce())
		e.waitStatus(id, "failure")
		q.FailSends(1)
		problem(t, e.do("POST", "/v1/tasks/"+id+"/retry", nil), http.StatusInternalServerError, "INTERNAL")
		if got := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil).json(t); got["status"] != "failure" || got["retryCount"] != float64(0) {
			t.Fatalf("after the failed retry: %v retryCount %v, want failure, 0", got["status"], got["retryCount"])
		}
		if r := e.do("POST", "/v1/tasks/"+id+"/retry", nil); r.status != http.StatusAccepted {
			t.Fatalf("second retry: %d %s", r.status, r.body)
		}
		e.waitStatus(id, "success")
	}, faultySends)
}
