package contracttest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestTenancyOtherTenantsTaskIsNotFound(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		a, b := as("tenant-a"), as("tenant-b")
		// One task of each kind an operation could act on: succeeded (result, GET 303),
		// failed (retry), pending (cancel).
		done := e.create(nil, a...)
		failed := e.create(steps(step("Boom", "failUntilRetry", 1)), a...)
		e.waitStatus(done, "success", a...)
		e.waitStatus(failed, "failure", a...)
		held(e).held.Store(true)
		pending := e.create(nil, a...)

		for _, id := range []string{done, failed, pending} {
			for _, c := range []struct{ method, path string }{
				{"GET", "/v1/tasks/" + id},
				{"GET", "/v1/tasks/" + id + "?redirect=false"},
				{"GET", "/v1/tasks/" + id + "/result"},
				{"DELETE", "/v1/tasks/" + id},
				{"POST", "/v1/tasks/" + id + "/cancel"},
				{"PATCH", "/v1/tasks/" + id},
				{"POST", "/v1/tasks/" + id + "/retry"},
			} {
				r := e.do(c.method, c.path, nil, b...)
				problem(t, r, http.StatusNotFound, "TASK_NOT_FOUND")
				if r.header.Get("Location") != "" || r.header.Get("ETag") != "" {
					t.Errorf("%s %s as tenant-b leaks headers: %v", c.method, c.path, r.header)
				}
				// The default local tenant is just another tenant.
				problem(t, e.do(c.method, c.path, nil), http.StatusNotFound, "TASK_NOT_FOUND")
			}
		}
		// Nothing happened to tenant-a's tasks.
		for id, st := range map[string]string{done: "success", failed: "failure", pending: "pending"} {
			r := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil, a...)
			m := r.json(t)
			if r.status != http.StatusOK || m["status"] != st || m["retryCount"] != float64(0) || m["cancelRequested"] != false || m["owner"] != "tenant-a" {
				t.Errorf("tenant-a's %s task after tenant-b's attempts: %d %s", st, r.status, r.body)
			}
		}
		// The 404 of another tenant's task looks like that of a task that never existed: the
		// same problem, word for word (but for the path it names), so ids cannot be probed.
		const unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
		for _, c := range []struct{ method, suffix string }{{"GET", ""}, {"GET", "/result"}, {"DELETE", ""}, {"POST", "/retry"}} {
			mine := e.do(c.method, "/v1/tasks/"+pending+c.suffix, nil, b...).json(t)
			none := e.do(c.method, "/v1/tasks/"+unknown+c.suffix, nil, b...).json(t)
			for _, k := range []string{"type", "title", "status", "errorCode", "detail"} {
				if strings.ReplaceAll(fmt.Sprint(mine[k]), pending, "ID") != strings.ReplaceAll(fmt.Sprint(none[k]), unknown, "ID") {
					t.Errorf("%s %s: %s is %q for another tenant's task, %q for none", c.method, c.suffix, k, mine[k], none[k])
				}
			}
		}
	}, holdSends)
}

func TestTenancyListNeverShowsOtherTenants(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		a, b := as("tenant-a"), as("tenant-b")
		var aIDs, bIDs []string
		for i := range 5 {
			aIDs = append(aIDs, e.makeTasks(1, a...)...)
			if i%2 == 0 {
				bIDs = append(bIDs, e.makeTasks(1, b...)...)
			}
		}
		e.makeTasks(2) // the local tenant's
		for _, q := range []string{"/v1/tasks", "/v1/tasks?limit=1", "/v1/tasks?status=pending&limit=2", "/v1/tasks?sort_key=updatedAt&sort_dir=asc&limit=1", "/v1/tasks?type=demo&limit=2"} {
			got, pages := e.walkPages(q, 100, b...)
			for _, p := range pages {
				for _, tk := range p.Tasks {
					if tk["owner"] != "tenant-b" {
						t.Errorf("%s as tenant-b lists a task of %v", q, tk["owner"])
					}
				}
			}
			if q == "/v1/tasks?sort_key=updatedAt&sort_dir=asc&limit=1" {
				sameIDs(t, q+" as tenant-b", got, bIDs)
			} else {
				sameIDs(t, q+" as tenant-b", got, reversed(bIDs))
			}
		}
		sameIDs(t, "tenant-a's list", e.listAll(a...), reversed(aIDs))
		if got := e.listAll(as("tenant-c")...); len(got) != 0 {
			t.Errorf("tenant-c without tasks lists %v", got)
		}
		if got := e.listAll(); len(got) != 2 {
			t.Errorf("local tenant lists %v", got)
		}
	}, noWorker)
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil)
		for _, auth := range []string{"Bearer garbage", "Basic x", "Basic ZGV2OmxvY2FsOg==", "Bearer dev:", "Bearer", "Bearer  dev:local", "dev:local", "Token dev:local"} {
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/v1/tasks", nil},
				{"POST", "/v1/tasks", map[string]any{"type": "demo"}},
				{"GET", "/v1/tasks/" + id, nil},
				{"GET", "/v1/tasks/" + id + "/result", nil},
				{"DELETE", "/v1/tasks/" + id, nil},
				{"POST", "/v1/tasks/" + id + "/retry", nil},
			} {
				r := e.do(c.method, c.path, c.body, "Authorization", auth, "X-Request-Id", "unauth-1")
				if r.status != http.StatusUnauthorized {
					t.Errorf("%s %s with %q: %d %s", c.method, c.path, auth, r.status, r.body)
					continue
				}
				problem(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
				if r.header.Get("X-Request-Id") != "unauth-1" {
					t.Errorf("401 X-Request-Id %q", r.header.Get("X-Request-Id"))
				}
			}
		}
		// Nothing was created or cancelled by the refused requests.
		sameIDs(t, "tasks", e.listAll(), []string{id})
		if m := e.do("GET", "/v1/tasks/"+id, nil).json(t); m["status"] != "pending" {
			t.Errorf("task after refused cancel: %v", m["status"])
		}
	}, noWorker)
}
