package contracttest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/task"
)

// The contract's "Callbacks" and "Service tasks", through HTTP on both backends.

var (
	service = as("svc", "service")      // an outside service's principal
	tenantA = as("tenant-a")            // the tenant it works for
	tenantB = as("tenant-b")            // another tenant
	svcOfA  = as("tenant-a", "service") // a service principal of tenant-a itself
)

// createService creates a service task for tenant-a with the named steps as the service and
// returns its id and the first step's callback URL.
func (e *env) createService(names ...string) (string, string) {
	e.t.Helper()
	subs := make([]any, len(names))
	for i, n := range names {
		subs[i] = map[string]any{"name": n, "description": "step " + n}
	}
	r := e.do("POST", "/v1/tasks", map[string]any{
		"type": "external", "name": "backup", "owner": "tenant-a", "serviceNamespace": "org.example.backup", "subTasks": subs,
	}, service...)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	m := r.json(e.t)
	return m["id"].(string), callbackURL(e.t, m, 0)
}

// callbackURL is the callback of subtask i of a task view, failing the test without one.
func callbackURL(t *testing.T, task map[string]any, i int) string {
	t.Helper()
	sub := task["subTasks"].([]any)[i].(map[string]any)
	cb, ok := sub["callback"].(map[string]any)
	if !ok {
		t.Fatalf("subtask %d has no callback: %v", i, sub)
	}
	return cb["url"].(string)
}

// report posts a callback body, with no credentials.
func (e *env) report(url string, body map[string]any) reply {
	e.t.Helper()
	return e.do("POST", url, body)
}

func TestServiceTaskDrivenByCallbacks(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id, first := e.createService("Snapshot", "Upload")

		// The tenant sees it with its service and user, but not its callbacks.
		got := e.do("GET", "/v1/tasks/"+id, nil, tenantA...).json(t)
		if got["owner"] != "tenant-a" || got["serviceNamespace"] != "org.example.backup" || got["user"] != "svc" || got["status"] != "processing" {
			t.Errorf("the tenant's view: %v", got)
		}
		if _, shown := got["subTasks"].([]any)[0].(map[string]any)["callback"]; shown {
			t.Error("the tenant is shown the callback; only service principals are")
		}
		problem(t, e.do("GET", "/v1/tasks/"+id, nil, tenantB...), http.StatusNotFound, "TASK_NOT_FOUND")
		problem(t, e.do("DELETE", "/v1/tasks/"+id, nil, tenantB...), http.StatusNotFound, "TASK_NOT_FOUND")
		if page := e.do("GET", "/v1/tasks", nil, tenantA...).json(t); len(page["tasks"].([]any)) != 1 {
			t.Errorf("the tenant's list: %v", page)
		}

		// A heartbeat reports progress: the task's progress counts half of the first of two.
		r := e.report(first, map[string]any{"action": "heartbeat", "progress": 50, "message": "snapshotting"})
		if r.status != http.StatusOK {
			t.Fatalf("heartbeat: %d %s", r.status, r.body)
		}
		got = e.do("GET", "/v1/tasks/"+id, nil, tenantA...).json(t)
		if got["progress"] != float64(25) || got["message"] != "snapshotting" {
			t.Errorf("after the heartbeat: progress %v message %v, want 25 and the message", got["progress"], got["message"])
		}

		// succeed ends the step and the answer carries the next step's callback.
		done := map[string]any{"action": "succeed", "output": map[string]any{"snapshot": "snap-1"}}
		r = e.report(first, done)
		if r.status != http.StatusOK {
			t.Fatalf("succeed: %d %s", r.status, r.body)
		}
		ans := r.json(t)
		next, _ := ans["nextCallback"].(map[string]any)
		if ans["status"] != "success" || next == nil || next["subTask"] != float64(1) {
			t.Fatalf("succeed answer: %s", r.body)
		}
		// The same report again is done; another outcome is refused.
		if r := e.report(first, map[string]any{"action": "succeed", "output": map[string]any{"snapshot": "snap-1"}}); r.status != http.StatusOK {
			t.Errorf("replayed succeed: %d %s", r.status, r.body)
		}
		problem(t, e.report(first, map[string]any{"action": "fail", "error": map[string]any{"errorCode": "BROKEN", "message": "no"}}), http.StatusConflict, "CALLBACK_ENDED")
		problem(t, e.report(first, map[string]any{"action": "succeed", "output": map[string]any{"snapshot": "other"}}), http.StatusConflict, "CALLBACK_ENDED")
		problem(t, e.report(first, map[string]any{"action": "heartbeat"}), http.StatusNotFound, "CALLBACK_NOT_FOUND")

		if r := e.report(next["url"].(string), map[string]any{"action": "succeed", "output": map[string]any{"url": "s3://b/k"}}); r.status != http.StatusOK {
			t.Fatalf("second succeed: %d %s", r.status, r.body)
		}
		final := e.waitStatus(id, "success", tenantA...)
		if s := final["subTasks"].([]any)[0].(map[string]any); s["output"].(map[string]any)["snapshot"] != "snap-1" {
			t.Errorf("first output: %v", s)
		}
		res := e.do("GET", "/v1/tasks/"+id+"/result", nil, tenantA...)
		if !strings.Contains(string(res.body), "s3://b/k") {
			t.Errorf("result %s, want the last step's output", res.body)
		}
	})
}

func TestServiceTaskRefusals(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		ext := map[string]any{"type": "external", "owner": "tenant-a", "serviceNamespace": "org.example.backup", "subTasks": []any{map[string]any{"name": "A"}}}
		problem(t, e.do("POST", "/v1/tasks", ext, tenantA...), http.StatusForbidden, "FORBIDDEN")
		problem(t, e.do("POST", "/v1/tasks", map[string]any{"type": "external", "subTasks": []any{map[string]any{"name": "A"}}}, tenantA...), http.StatusForbidden, "FORBIDDEN")
		problem(t, e.do("POST", "/v1/tasks", map[string]any{"type": "demo", "owner": "tenant-b"}, tenantA...), http.StatusForbidden, "FORBIDDEN")
		problem(t, e.do("POST", "/v1/tasks", map[string]any{"type": "demo", "serviceNamespace": "org.example.x"}, as("tenant-a", "admin")...), http.StatusForbidden, "FORBIDDEN")
		for name, body := range map[string]map[string]any{
			"bad namespace": {"type": "external", "owner": "tenant-a", "serviceNamespace": "Backup Service", "subTasks": []any{map[string]any{"name": "A"}}},
			"no owner":      {"type": "external", "serviceNamespace": "org.example.backup", "subTasks": []any{map[string]any{"name": "A"}}},
			"no subTasks":   {"type": "external", "owner": "tenant-a", "serviceNamespace": "org.example.backup"},
			"51 subTasks":   {"type": "external", "owner": "tenant-a", "serviceNamespace": "org.example.backup", "subTasks": manySteps(51)},
			"bad owner":     {"type": "external", "owner": "tenant a", "serviceNamespace": "org.example.backup", "subTasks": []any{map[string]any{"name": "A"}}},
		} {
			t.Run(name, func(t *testing.T) {
				problem(t, e.do("POST", "/v1/tasks", body, service...), http.StatusBadRequest, "VALIDATION_FAILED")
			})
		}
	})
}

func manySteps(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": "S"}
	}
	return out
}

// Forged, altered and unknown tokens, bad bodies, and a cancel while the step runs: the
// cancel waits for the service's report, which ends the task cancelled; its callbacks are
// then gone.
func TestCallbackForgedAndAfterCancel(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id, url := e.createService("Only", "Never")
		tok := strings.TrimPrefix(url, "/v1/callbacks/")
		altered := []byte(tok)
		altered[len(altered)/2] ^= 1
		for _, forged := range []string{"/v1/callbacks/forged", "/v1/callbacks/" + string(altered), "/v1/callbacks/" + tok[:len(tok)-4]} {
			problem(t, e.report(forged, map[string]any{"action": "heartbeat"}), http.StatusNotFound, "CALLBACK_NOT_FOUND")
		}
		problem(t, e.report(url, map[string]any{"action": "explode"}), http.StatusBadRequest, "VALIDATION_FAILED")
		problem(t, e.report(url, map[string]any{"action": "heartbeat", "progress": 101}), http.StatusBadRequest, "VALIDATION_FAILED")
		problem(t, e.report(url, map[string]any{"action": "heartbeat", "output": 1}), http.StatusBadRequest, "VALIDATION_FAILED")
		problem(t, e.do("GET", url, nil), http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")

		c := e.do("DELETE", "/v1/tasks/"+id, nil, tenantA...)
		if m := c.json(t); c.status != http.StatusAccepted || m["cancelRequested"] != true || m["status"] != "processing" {
			t.Fatalf("cancel while the callback runs: %d %s", c.status, c.body)
		}
		r := e.report(url, map[string]any{"action": "heartbeat"})
		ans := r.json(t)
		if r.status != http.StatusOK || ans["task"].(map[string]any)["cancelRequested"] != true || ans["task"].(map[string]any)["status"] != "cancelled" {
			t.Fatalf("the report after the cancel: %d %s", r.status, r.body)
		}
		e.waitStatus(id, "cancelled", tenantA...)
		problem(t, e.report(url, map[string]any{"action": "succeed"}), http.StatusNotFound, "CALLBACK_NOT_FOUND")
	})
}

// Concurrent succeed and fail of one callback: exactly one outcome wins; the others are
// answered 409 CALLBACK_ENDED, or 200 when they repeat the winner.
func TestCallbackConcurrentReports(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		_, url := e.createService("Only")
		bodies := []map[string]any{
			{"action": "succeed", "output": map[string]any{"n": 1}},
			{"action": "fail", "error": map[string]any{"errorCode": "BROKEN", "message": "no", "retryable": false}},
		}
		const n = 8
		status := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", e.url+url, strings.NewReader(mustJSON(t, bodies[i%2])))
				req.Header.Set("Content-Type", "application/json")
				r, err := e.send(req)
				if err != nil && r.status == 0 {
					t.Error(err)
				}
				status[i] = r.status
			}()
		}
		wg.Wait()
		won := map[int]bool{}
		for i, s := range status {
			switch s {
			case http.StatusOK:
				won[i%2] = true
			case http.StatusConflict:
			default:
				t.Errorf("report %d: status %d", i, s)
			}
		}
		if len(won) != 1 {
			t.Fatalf("statuses %v: winners %v, want exactly one outcome", status, won)
		}
		for i, s := range status {
			if won[i%2] != (s == http.StatusOK) {
				t.Errorf("report %d (%s): %d", i, bodies[i%2]["action"], s)
			}
		}
	})
}

// A retry of a failed service task starts its failed step's callback again; the step that
// succeeded is not run again.
func TestServiceTaskRetryResumesAtTheFailedCallback(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id, first := e.createService("Snapshot", "Upload")
		next := e.report(first, map[string]any{"action": "succeed"}).json(t)["nextCallback"].(map[string]any)["url"].(string)
		r := e.report(next, map[string]any{"action": "fail", "error": map[string]any{"errorCode": "UPLOAD_FAILED", "message": "bucket gone", "retryable": false}})
		if r.status != http.StatusOK {
			t.Fatalf("fail: %d %s", r.status, r.body)
		}
		failed := e.waitStatus(id, "failure", tenantA...)
		if failed["isRetryable"] != true {
			t.Fatalf("failed task: %v", failed)
		}
		if r := e.do("POST", "/v1/tasks/"+id+"/retry", nil, tenantA...); r.status != http.StatusAccepted {
			t.Fatalf("retry: %d %s", r.status, r.body)
		}
		problem(t, e.report(next, map[string]any{"action": "succeed"}), http.StatusNotFound, "CALLBACK_NOT_FOUND") // the old run's
		got := e.waitStatus(id, "processing", svcOfA...)
		again := callbackURL(t, got, 1)
		if r := e.report(again, map[string]any{"action": "succeed"}); r.status != http.StatusOK {
			t.Fatalf("succeed after the retry: %d %s", r.status, r.body)
		}
		done := e.waitStatus(id, "success", tenantA...)
		if s := done["subTasks"].([]any)[0].(map[string]any); s["attempts"] != float64(1) {
			t.Errorf("the first step ran again: %v", s)
		}
		if done["retryCount"] != float64(1) {
			t.Errorf("retryCount %v", done["retryCount"])
		}
	})
}

// A callback step that hears nothing within its heartbeat fails its attempt with
// CALLBACK_TIMED_OUT (retryable: the next attempt has a new callback; with the budget spent
// the task fails); the timed-out attempt's token is then late: 404.
func TestCallbackHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	approval := task.Type{
		Name:        "approval",
		MaxAttempts: 2,
		Plan: func(json.RawMessage) ([]task.Step, error) {
			return []task.Step{{Name: "Approve", Executor: "callback"}}, nil
		},
		Execute: executor.Callback{Heartbeat: time.Second, Timeout: time.Hour}.Execute,
	}
	eachBackend(t, func(t *testing.T, e *env) {
		r := e.do("POST", "/v1/tasks", map[string]any{"type": "approval"}, svcOfA...)
		if r.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		var url string
		e.waitFor("the first callback", func() bool {
			sub := e.do("GET", "/v1/tasks/"+id, nil, svcOfA...).json(t)["subTasks"].([]any)[0].(map[string]any)
			cb, ok := sub["callback"].(map[string]any)
			if ok {
				url = cb["url"].(string)
			}
			return ok
		})
		failed := e.waitStatus(id, "failure", tenantA...)
		errs := failed["errors"].([]any)
		if len(errs) != 2 || errs[0].(map[string]any)["errorCode"] != "CALLBACK_TIMED_OUT" || errs[1].(map[string]any)["errorCode"] != "CALLBACK_TIMED_OUT" {
			t.Errorf("errors %v, want two CALLBACK_TIMED_OUT (a warning, then the error)", errs)
		}
		if s := failed["subTasks"].([]any)[0].(map[string]any); s["attempts"] != float64(2) {
			t.Errorf("attempts %v, want 2", s["attempts"])
		}
		problem(t, e.report(url, map[string]any{"action": "succeed"}), http.StatusNotFound, "CALLBACK_NOT_FOUND")
	}, func(o *options) { o.types = append(o.types, approval) })
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Error(err)
	}
	return string(b)
}

// The catalog's review type (tasktypes.json): its callback step, started by the worker, is
// shown to a service principal of the tenant and completed through its callback; the
// task's result is the step's output.
func TestCatalogCallbackStep(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		r := e.do("POST", "/v1/tasks", map[string]any{"type": "review", "name": "deploy to prod"}, tenantA...)
		if r.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		var got map[string]any
		e.waitFor("the worker to start the callback step", func() bool {
			got = e.do("GET", "/v1/tasks/"+id, nil, svcOfA...).json(t)
			_, ok := got["subTasks"].([]any)[0].(map[string]any)["callback"]
			return ok
		})
		url := callbackURL(t, got, 0)
		cb := got["subTasks"].([]any)[0].(map[string]any)["callback"].(map[string]any)
		if cb["heartbeatSeconds"] != float64(3600) || cb["attempt"] != float64(1) {
			t.Errorf("callback %v, want the catalog's heartbeat and attempt 1", cb)
		}
		if r := e.report(url, map[string]any{"action": "succeed", "output": map[string]any{"approvedBy": "carol"}}); r.status != http.StatusOK {
			t.Fatalf("succeed: %d %s", r.status, r.body)
		}
		e.waitStatus(id, "success", tenantA...)
		if res := e.do("GET", "/v1/tasks/"+id+"/result", nil, tenantA...); !strings.Contains(string(res.body), `"approvedBy":"carol"`) {
			t.Errorf("result %s, want the step's output", res.body)
		}
	})
}
