package contracttest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/queue"
)

// Helpers of the list, idempotency, tenancy and expiry tests. Their names start with ls so
// that they do not collide with helpers of other test files in the package.

// listPage is one decoded list page.
type listPage struct {
	Tasks  []map[string]any
	First  string
	Next   string
	HasNxt bool // "next" is a key of the document
	Schema string
	raw    map[string]any
}

// getPage lists path (a "/v1/tasks?..." URL) and fails unless it is a 200 list page.
func (e *env) getPage(path string, headers ...string) listPage {
	e.t.Helper()
	r := e.do("GET", path, nil, headers...)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	m := r.json(e.t)
	var p listPage
	p.raw = m
	tasks, ok := m["tasks"].([]any)
	if !ok {
		e.t.Fatalf("GET %s: tasks is not an array: %s", path, r.body)
	}
	for _, t := range tasks {
		p.Tasks = append(p.Tasks, t.(map[string]any))
	}
	p.First, _ = m["first"].(string)
	var next any
	next, p.HasNxt = m["next"]
	p.Next, _ = next.(string)
	p.Schema, _ = m["schema"].(string)
	return p
}

// ids are the ids of a page's tasks, in order.
func (p listPage) ids() []string {
	out := make([]string, len(p.Tasks))
	for i, t := range p.Tasks {
		out[i] = t["id"].(string)
	}
	return out
}

// walkPages follows next from path until a page has none, checking that no page holds more
// than limit tasks; it returns every id in the order seen and the pages.
func (e *env) walkPages(path string, limit int, headers ...string) ([]string, []listPage) {
	e.t.Helper()
	var ids []string
	var pages []listPage
	for next := path; ; {
		p := e.getPage(next, headers...)
		pages = append(pages, p)
		if len(p.Tasks) > limit {
			e.t.Fatalf("page %d of %s holds %d tasks, limit %d", len(pages), path, len(p.Tasks), limit)
		}
		ids = append(ids, p.ids()...)
		if !p.HasNxt {
			return ids, pages
		}
		if p.Next == "" || !strings.HasPrefix(p.Next, "/v1/tasks?") {
			e.t.Fatalf("next %q is not a list URL", p.Next)
		}
		if len(pages) > 200 {
			e.t.Fatalf("walk of %s does not end", path)
		}
		next = p.Next
	}
}

// markerOf is the marker parameter of a next URL.
func markerOf(t *testing.T, next string) (url.Values, string) {
	t.Helper()
	u, err := url.Parse(next)
	if err != nil {
		t.Fatalf("next %q: %v", next, err)
	}
	q := u.Query()
	m := q.Get("marker")
	if m == "" {
		t.Fatalf("next %q has no marker", next)
	}
	return q, m
}

// createBody creates a task from body (a map, marshalled) and returns the 202's task.
func (e *env) createBody(body map[string]any, headers ...string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/v1/tasks", body, headers...)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("create %v: %d %s", body, r.status, r.body)
	}
	return r.json(e.t)
}

// makeTasks creates n default demo tasks as headers' tenant, moving the clock 1 ms before each
// so that creation order is list order, and returns their ids in creation order.
func (e *env) makeTasks(n int, headers ...string) []string {
	e.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		e.clock.Advance(time.Millisecond)
		ids[i] = e.create(nil, headers...)
	}
	return ids
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// holdQueue drops sends while held, so that tasks created meanwhile stay pending although a
// worker runs (nothing else sends a stored task its message).
type holdQueue struct {
	queue.Queue
	held atomic.Bool
}

func (h *holdQueue) Send(ctx context.Context, m queue.Message, d time.Duration) error {
	if h.held.Load() {
		return nil
	}
	return h.Queue.Send(ctx, m, d)
}

// holdSends wraps each environment's work queue in a holdQueue; a test finds its own with
// held(e).
func holdSends(o *options) {
	o.wrap = func(q queue.Queue) queue.Queue { return &holdQueue{Queue: q} }
}

func held(e *env) *holdQueue {
	e.t.Helper()
	h, ok := e.deps.Queue.(*holdQueue)
	if !ok {
		e.t.Fatal("the environment was not set up with holdSends")
	}
	return h
}

// tasksInEachStatus makes two tasks in each of success, failure, pending and cancelled, created in
// an interleaved order, and returns their ids in creation order with each one's status.
func tasksInEachStatus(e *env) ([]string, map[string]string) {
	e.t.Helper()
	var order []string
	status := map[string]string{}
	add := func(id, st string) { order = append(order, id); status[id] = st }
	for range 2 {
		e.clock.Advance(time.Millisecond)
		add(e.create(nil), "success")
		e.clock.Advance(time.Millisecond)
		add(e.create(steps(step("Boom", "failUntilRetry", 1))), "failure")
	}
	for id, st := range status {
		e.waitStatus(id, st)
	}
	held(e).held.Store(true)
	for range 2 {
		e.clock.Advance(time.Millisecond)
		add(e.create(nil), "pending")
		e.clock.Advance(time.Millisecond)
		id := e.create(nil)
		add(id, "cancelled")
		if r := e.do("DELETE", "/v1/tasks/"+id, nil); r.status != http.StatusAccepted {
			e.t.Fatalf("cancel pending: %d %s", r.status, r.body)
		}
	}
	for _, id := range order {
		if got := e.waitStatus(id, status[id])["status"]; got != status[id] {
			e.t.Fatalf("fixture task %s is %v", id, got)
		}
	}
	return order, status
}

// withStatuses are the ids of order whose status is one of sts, newest first.
func withStatuses(order []string, status map[string]string, sts ...string) []string {
	var out []string
	for _, id := range reversed(order) {
		if slices.Contains(sts, status[id]) {
			out = append(out, id)
		}
	}
	return out
}

// withSecondType registers a copy of the demo type named demo-b next to demo, so that a
// type filter has something to leave out.
func withSecondType(o *options) {
	second := demo.Type()
	second.Name = "demo-b"
	o.types = append(o.types, second)
}

func TestListDefaultOrderIsCreatedAtDesc(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		ids := e.makeTasks(6)
		p := e.getPage("/v1/tasks")
		sameIDs(t, "default order", p.ids(), reversed(ids))
		explicit := e.getPage("/v1/tasks?sort_key=createdAt&sort_dir=desc")
		sameIDs(t, "sort_key=createdAt&sort_dir=desc", explicit.ids(), reversed(ids))
		var prev time.Time
		for i, tk := range p.Tasks {
			c := contractTime(t, tk["createdAt"])
			if i > 0 && !c.Before(prev) {
				t.Errorf("task %d createdAt %v not before %v", i, c, prev)
			}
			prev = c
		}
	}, noWorker)
}

func TestListSortKeyAndDirection(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		ids := e.makeTasks(4) // a b c d
		a, b, c, d := ids[0], ids[1], ids[2], ids[3]
		// Cancelling b then a makes them the most recently updated: updatedAt order is c d b a.
		for _, id := range []string{b, a} {
			e.clock.Advance(time.Millisecond)
			if r := e.do("POST", "/v1/tasks/"+id+"/cancel", nil); r.status != http.StatusAccepted {
				t.Fatalf("cancel: %d %s", r.status, r.body)
			}
		}
		cases := map[string][]string{
			"sort_key=createdAt&sort_dir=asc":  {a, b, c, d},
			"sort_key=createdAt&sort_dir=desc": {d, c, b, a},
			"sort_key=updatedAt&sort_dir=asc":  {c, d, b, a},
			"sort_key=updatedAt&sort_dir=desc": {a, b, d, c},
			"sort_key=updatedAt":               {a, b, d, c}, // desc by default
			"sort_dir=asc":                     {a, b, c, d}, // createdAt by default
		}
		for q, want := range cases {
			sameIDs(t, q, e.getPage("/v1/tasks?"+q).ids(), want)
			walked, pages := e.walkPages("/v1/tasks?limit=1&"+q, 1)
			sameIDs(t, q+" walked with limit=1", walked, want)
			if len(pages) < 4 {
				t.Errorf("%s: %d pages of limit 1 for 4 tasks", q, len(pages))
			}
		}
		// The values really are in that order.
		p := e.getPage("/v1/tasks?sort_key=updatedAt&sort_dir=asc")
		for i := 1; i < len(p.Tasks); i++ {
			if !contractTime(t, p.Tasks[i-1]["updatedAt"]).Before(contractTime(t, p.Tasks[i]["updatedAt"])) {
				t.Errorf("updatedAt asc: %v then %v", p.Tasks[i-1]["updatedAt"], p.Tasks[i]["updatedAt"])
			}
		}
		for _, bad := range []string{"sort_key=name", "sort_key=created_at", "sort_dir=up", "sort_dir=DESC", "sort_key=createdAt&sort_key=updatedAt"} {
			problem(t, e.do("GET", "/v1/tasks?"+bad, nil), http.StatusBadRequest, "INVALID_PARAMETER")
		}
	}, noWorker)
}

func TestListLimit(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		ids := e.makeTasks(27)
		newest := reversed(ids)

		def := e.getPage("/v1/tasks")
		sameIDs(t, "default limit page", def.ids(), newest[:25])
		if !def.HasNxt {
			t.Fatal("27 tasks, default limit 25: no next")
		}
		rest := e.getPage(def.Next)
		sameIDs(t, "page after the default limit", rest.ids(), newest[25:])
		if rest.HasNxt {
			t.Errorf("last page has next %q", rest.Next)
		}

		for _, n := range []int{1, 2, 7, 26} {
			p := e.getPage(fmt.Sprintf("/v1/tasks?limit=%d", n))
			sameIDs(t, fmt.Sprintf("limit=%d", n), p.ids(), newest[:n])
			if !p.HasNxt {
				t.Errorf("limit=%d of 27: no next", n)
			}
			walked, pages := e.walkPages(fmt.Sprintf("/v1/tasks?limit=%d", n), n)
			sameIDs(t, fmt.Sprintf("walk limit=%d", n), walked, newest)
			if want := (27 + n - 1) / n; len(pages) < want {
				t.Errorf("walk limit=%d: %d pages, want at least %d", n, len(pages), want)
			}
		}
		for _, n := range []int{28, 100} {
			p := e.getPage(fmt.Sprintf("/v1/tasks?limit=%d", n))
			sameIDs(t, fmt.Sprintf("limit=%d", n), p.ids(), newest)
			if p.HasNxt {
				t.Errorf("limit=%d holds every task but has next %q", n, p.Next)
			}
		}
		for _, bad := range []string{"0", "101", "-1", "abc", "2.5", "", "1e2"} {
			problem(t, e.do("GET", "/v1/tasks?limit="+bad, nil), http.StatusBadRequest, "INVALID_PARAMETER")
		}
		problem(t, e.do("GET", "/v1/tasks?limit=2&limit=3", nil), http.StatusBadRequest, "INVALID_PARAMETER")
	}, noWorker)
}

func TestListStatusFilterSingle(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		order, status := tasksInEachStatus(e)
		for _, st := range []string{"success", "failure", "pending", "cancelled"} {
			p := e.getPage("/v1/tasks?status=" + st)
			sameIDs(t, "status="+st, p.ids(), withStatuses(order, status, st))
			for _, tk := range p.Tasks {
				if tk["status"] != st {
					t.Errorf("status=%s lists a %v task", st, tk["status"])
				}
			}
			walked, _ := e.walkPages("/v1/tasks?limit=1&status="+st, 1)
			sameIDs(t, "walk status="+st, walked, withStatuses(order, status, st))
		}
		if p := e.getPage("/v1/tasks?status=processing"); len(p.Tasks) != 0 || p.HasNxt {
			t.Errorf("status=processing: %v, next %q", p.ids(), p.Next)
		}
		for _, bad := range []string{"done", "SUCCESS", "", "success,", "success,bogus"} {
			problem(t, e.do("GET", "/v1/tasks?status="+url.QueryEscape(bad), nil), http.StatusBadRequest, "INVALID_PARAMETER")
		}
	}, holdSends)
}

func TestListStatusFilterRepeated(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		order, status := tasksInEachStatus(e)
		want := withStatuses(order, status, "pending", "success")
		sameIDs(t, "status=pending&status=success", e.getPage("/v1/tasks?status=pending&status=success").ids(), want)
		for _, n := range []int{1, 2, 3} {
			walked, _ := e.walkPages(fmt.Sprintf("/v1/tasks?status=success&status=pending&limit=%d", n), n)
			sameIDs(t, fmt.Sprintf("walk status=success&status=pending limit=%d", n), walked, want)
		}
		three := withStatuses(order, status, "pending", "failure", "cancelled")
		walked, _ := e.walkPages("/v1/tasks?status=cancelled&status=pending&status=failure&sort_dir=asc&limit=2", 2)
		sameIDs(t, "walk three statuses asc", walked, reversed(three))
		all := e.getPage("/v1/tasks?status=pending&status=processing&status=success&status=failure&status=cancelled")
		sameIDs(t, "all five statuses", all.ids(), reversed(order))
		dup := e.getPage("/v1/tasks?status=failure&status=failure")
		sameIDs(t, "a status repeated", dup.ids(), withStatuses(order, status, "failure"))
	}, holdSends)
}

func TestListStatusFilterCommaSeparated(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		order, status := tasksInEachStatus(e)
		want := withStatuses(order, status, "cancelled", "failure")
		sameIDs(t, "status=cancelled,failure", e.getPage("/v1/tasks?status=cancelled,failure").ids(), want)
		sameIDs(t, "status=cancelled%2Cfailure", e.getPage("/v1/tasks?status=cancelled%2Cfailure").ids(), want)
		walked, _ := e.walkPages("/v1/tasks?status=failure,cancelled&limit=1", 1)
		sameIDs(t, "walk status=failure,cancelled limit=1", walked, want)
		mixed := withStatuses(order, status, "cancelled", "failure", "success")
		walked, _ = e.walkPages("/v1/tasks?status=cancelled,failure&status=success&limit=2", 2)
		sameIDs(t, "comma-separated and repeated together", walked, mixed)
	}, holdSends)
}

func TestListTypeFilter(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		var all, demos, others []string
		for i := range 7 {
			e.clock.Advance(time.Millisecond)
			typ := "demo"
			if i%3 == 1 {
				typ = "demo-b"
			}
			tk := e.createBody(map[string]any{"type": typ})
			all = append([]string{tk["id"].(string)}, all...)
			if typ == "demo" {
				demos = append([]string{tk["id"].(string)}, demos...)
			} else {
				others = append([]string{tk["id"].(string)}, others...)
			}
		}
		sameIDs(t, "no type filter", e.getPage("/v1/tasks").ids(), all)
		p := e.getPage("/v1/tasks?type=demo-b")
		sameIDs(t, "type=demo-b", p.ids(), others)
		for _, tk := range p.Tasks {
			if tk["type"] != "demo-b" {
				t.Errorf("type=demo-b lists a %v", tk["type"])
			}
		}
		sameIDs(t, "type=demo", e.getPage("/v1/tasks?type=demo").ids(), demos)
		walked, _ := e.walkPages("/v1/tasks?type=demo-b&limit=1", 1)
		sameIDs(t, "walk type=demo-b limit=1", walked, others)
		walked, _ = e.walkPages("/v1/tasks?type=demo&limit=2&sort_dir=asc", 2)
		sameIDs(t, "walk type=demo limit=2 asc", walked, reversed(demos))
		if p := e.getPage("/v1/tasks?type=nothing-of-that-type"); len(p.Tasks) != 0 || p.HasNxt {
			t.Errorf("type with no tasks: %v next %q", p.ids(), p.Next)
		}
		problem(t, e.do("GET", "/v1/tasks?type=demo&type=demo-b", nil), http.StatusBadRequest, "INVALID_PARAMETER")
	}, noWorker, withSecondType)
}

func TestListLinksAndSchema(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		empty := e.getPage("/v1/tasks")
		if len(empty.Tasks) != 0 || empty.HasNxt || empty.Schema != "/v1/schemas/tasks" || empty.First == "" {
			t.Errorf("empty list: %v", empty.raw)
		}
		if tasks, _ := empty.raw["tasks"].([]any); tasks == nil {
			t.Errorf("empty list's tasks is %v, want []", empty.raw["tasks"])
		}

		ids := e.makeTasks(5)
		const q = "/v1/tasks?limit=2&status=pending&sort_key=createdAt&sort_dir=desc"
		p1 := e.getPage(q)
		if p1.Schema != "/v1/schemas/tasks" {
			t.Errorf("schema %q", p1.Schema)
		}
		if !strings.HasPrefix(p1.First, "/v1/tasks") || strings.Contains(p1.First, "marker=") {
			t.Errorf("first %q", p1.First)
		}
		fq, err := url.Parse(p1.First)
		if err != nil {
			t.Fatal(err)
		}
		if fq.Query().Get("limit") != "2" || fq.Query().Get("status") != "pending" {
			t.Errorf("first %q lost the query", p1.First)
		}
		if !p1.HasNxt {
			t.Fatal("first page of 5 with limit 2 has no next")
		}
		nq, _ := markerOf(t, p1.Next)
		if nq.Get("limit") != "2" || nq.Get("status") != "pending" {
			t.Errorf("next %q lost the query", p1.Next)
		}
		sameIDs(t, "first page", p1.ids(), reversed(ids)[:2])
		_, pages := e.walkPages(q, 2)
		if len(pages) != 3 {
			t.Fatalf("5 tasks, limit 2: %d pages", len(pages))
		}
		for i, p := range pages {
			if p.First != p1.First || p.Schema != "/v1/schemas/tasks" {
				t.Errorf("page %d: first %q schema %q", i+1, p.First, p.Schema)
			}
			if i < 2 && (!p.HasNxt || p.Next == "") {
				t.Errorf("page %d has no next", i+1)
			}
		}
		if last := pages[2]; last.HasNxt || len(last.Tasks) != 1 {
			t.Errorf("last page: %d tasks, next %v", len(last.Tasks), last.raw["next"])
		}
		// A page that holds the last task has no next; a store that cannot know it (DynamoDB
		// answers a LastEvaluatedKey when the limit is reached exactly) may instead give a
		// next whose page is empty and ends the walk.
		for _, q := range []string{"/v1/tasks?limit=5", "/v1/tasks?limit=1&sort_dir=asc", "/v1/tasks?limit=2&status=pending,cancelled"} {
			walked, pages := e.walkPages(q, 5)
			sameIDs(t, q, walked, map[bool][]string{true: ids, false: reversed(ids)}[strings.Contains(q, "asc")])
			for i, p := range pages {
				if i < len(pages)-1 && len(p.Tasks) == 0 {
					t.Errorf("%s: empty page %d before the end", q, i+1)
				}
			}
			if last := pages[len(pages)-1]; len(last.Tasks) == 0 && len(pages) > 1 {
				t.Logf("%s: the page with the last task had a next to an empty page", q)
			}
		}
		if p := e.getPage("/v1/tasks?limit=6"); p.HasNxt {
			t.Errorf("limit above the count: next %q", p.Next)
		}

		again := e.getPage(p1.First)
		sameIDs(t, "following first", again.ids(), p1.ids())
		if again.First != p1.First {
			t.Errorf("first of first %q, want %q", again.First, p1.First)
		}
		if s := e.do("GET", p1.Schema, nil); s.status != http.StatusOK || !bytes.Contains(s.body, []byte("tasks")) {
			t.Errorf("GET %s: %d %s", p1.Schema, s.status, s.body)
		}
	}, noWorker)
}

func TestListOmitsInputAndResult(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		done := e.createBody(map[string]any{"type": "demo", "name": "listed", "input": steps(step("One"), step("Two")),
			"resources": []any{map[string]any{"resourceId": "vm-7", "type": "VM"}}})["id"].(string)
		failed := e.create(steps(step("Boom", "failUntilRetry", 1)))
		e.waitStatus(done, "success")
		e.waitStatus(failed, "failure")

		p := e.getPage("/v1/tasks")
		if len(p.Tasks) != 2 {
			t.Fatalf("list: %v", p.ids())
		}
		for _, item := range p.Tasks {
			id := item["id"].(string)
			for _, k := range []string{"input", "result"} {
				if _, ok := item[k]; ok {
					t.Errorf("listed task %s has %q: %v", id, k, item[k])
				}
			}
			full := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil).json(t)
			if _, ok := full["input"]; !ok {
				t.Errorf("GET %s has no input", id)
			}
			if _, ok := full["result"]; !ok {
				t.Errorf("GET %s has no result", id)
			}
			delete(full, "input")
			delete(full, "result")
			if !reflect.DeepEqual(item, full) {
				a, _ := json.Marshal(item)
				b, _ := json.Marshal(full)
				t.Errorf("listed task differs from GET (without input and result):\n list %s\n get  %s", a, b)
			}
			for _, k := range []string{"id", "self", "type", "name", "status", "cancelRequested", "owner", "message", "progress",
				"subTasks", "errors", "resources", "isCancellable", "isRetryable", "retryCount", "createdAt", "updatedAt",
				"startedAt", "finishedAt", "expiresAt", "links"} {
				if _, ok := item[k]; !ok {
					t.Errorf("listed task %s lacks %q", id, k)
				}
			}
		}
		byID := map[string]map[string]any{}
		for _, item := range p.Tasks {
			byID[item["id"].(string)] = item
		}
		d := byID[done]
		if d["status"] != "success" || d["name"] != "listed" || d["progress"] != float64(100) || d["owner"] != "local" ||
			len(d["subTasks"].([]any)) != 2 || d["self"] != "/v1/tasks/"+done {
			t.Errorf("listed success: %v", d)
		}
		if res := d["resources"].([]any); len(res) != 1 || res[0].(map[string]any)["resourceId"] != "vm-7" {
			t.Errorf("listed resources: %v", d["resources"])
		}
		f := byID[failed]
		if f["status"] != "failure" || f["isRetryable"] != true || len(f["errors"].([]any)) == 0 {
			t.Errorf("listed failure: %v", f)
		}
	})
}

func TestListMarkerWalk(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		ids := e.makeTasks(10)
		walked, pages := e.walkPages("/v1/tasks?limit=3", 3)
		sameIDs(t, "desc walk, limit 3", walked, reversed(ids))
		if len(pages) != 4 {
			t.Errorf("10 tasks, limit 3: %d pages, want 4", len(pages))
		}
		for i, p := range pages[:3] {
			if len(p.Tasks) != 3 {
				t.Errorf("page %d holds %d tasks", i+1, len(p.Tasks))
			}
		}
		walked, pages = e.walkPages("/v1/tasks?limit=2&sort_dir=asc", 2)
		sameIDs(t, "asc walk, limit 2", walked, ids)
		if len(pages) < 5 {
			t.Errorf("10 tasks, limit 2: %d pages", len(pages))
		}
		// The limit may change along the walk; the position stays.
		p := e.getPage("/v1/tasks?limit=3")
		q, _ := markerOf(t, p.Next)
		q.Set("limit", "4")
		sameIDs(t, "next page with another limit", e.getPage("/v1/tasks?"+q.Encode()).ids(), reversed(ids)[3:7])
		// A marker may be used twice: it is a position, not a one-time token.
		sameIDs(t, "replayed next", e.getPage(p.Next).ids(), e.getPage(p.Next).ids())
	}, noWorker)
}

// tryCreate creates a demo task and returns its id, or why it could not; it does not touch
// e.t, so that goroutines other than the test's may call it.
func (e *env) tryCreate() (string, error) {
	req, err := http.NewRequest("POST", e.url+"/v1/tasks", strings.NewReader(`{"type":"demo"}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.send(req)
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(resp.body, &m); err != nil {
		return "", err
	}
	if resp.status != http.StatusAccepted {
		return "", fmt.Errorf("create: %d %v", resp.status, m)
	}
	id, _ := m["id"].(string)
	return id, nil
}

func TestListMarkerWalkWhileCreating(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		e.makeTasks(12)
		for _, dir := range []string{"desc", "asc"} {
			// The tasks that exist at the start exist throughout the walk.
			initial, _ := e.walkPages("/v1/tasks?limit=100&sort_dir="+dir, 100)
			if len(initial) < 12 {
				t.Fatalf("%d tasks before the %s walk", len(initial), dir)
			}
			var (
				mu      sync.Mutex
				created []string
				wg      sync.WaitGroup
				stop    atomic.Bool
			)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < 8 && !stop.Load(); n++ {
						id, err := e.tryCreate()
						if err != nil {
							t.Errorf("concurrent create: %v", err)
							return
						}
						mu.Lock()
						created = append(created, id)
						mu.Unlock()
					}
				}()
			}
			var walked []string
			var pages []listPage
			for next := "/v1/tasks?limit=2&sort_dir=" + dir; ; {
				p := e.getPage(next)
				pages = append(pages, p)
				if len(p.Tasks) > 2 {
					t.Fatalf("%s: page of %d tasks, limit 2", dir, len(p.Tasks))
				}
				walked = append(walked, p.ids()...)
				if len(pages) == 1 {
					// Make sure creates really overlap the walk.
					e.waitFor("concurrent creates", func() bool {
						mu.Lock()
						defer mu.Unlock()
						return len(created) >= 4
					})
				}
				if !p.HasNxt || len(pages) > 500 {
					break
				}
				next = p.Next
			}
			stop.Store(true)
			wg.Wait()

			seen := map[string]int{}
			for _, id := range walked {
				seen[id]++
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("%s walk: %s seen %d times", dir, id, n)
				}
			}
			for _, id := range initial {
				if seen[id] != 1 {
					t.Errorf("%s walk: task %s that existed throughout seen %d times", dir, id, seen[id])
				}
			}
			known := map[string]bool{}
			for _, id := range append(slices.Clone(initial), created...) {
				known[id] = true
			}
			for id := range seen {
				if !known[id] {
					t.Errorf("%s walk: unknown task %s", dir, id)
				}
			}
			// The tasks that existed throughout come in the order they were listed before.
			var got []string
			for _, id := range walked {
				if slices.Contains(initial, id) {
					got = append(got, id)
				}
			}
			sameIDs(t, dir+" walk, tasks that existed throughout", got, initial)
			// The whole walk is in order: the stores order by createdAt, then id.
			var keys []string
			for _, p := range pages {
				for _, tk := range p.Tasks {
					keys = append(keys, tk["createdAt"].(string)+tk["id"].(string))
				}
			}
			for i := 1; i < len(keys); i++ {
				if (dir == "desc" && keys[i-1] <= keys[i]) || (dir == "asc" && keys[i-1] >= keys[i]) {
					t.Errorf("%s walk out of order at %d: %s then %s", dir, i, keys[i-1], keys[i])
				}
			}
			t.Logf("%s walk: %d pages, %d tasks seen, %d created meanwhile", dir, len(pages), len(walked), len(created))
		}
	}, noWorker)
}

func TestListTamperedMarker(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		e.makeTasks(5)
		p := e.getPage("/v1/tasks?limit=2")
		q, m := markerOf(t, p.Next)
		flip := func(i int) string {
			b := []byte(m)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}
		bad := map[string]string{
			"first character flipped":  flip(0),
			"middle character flipped": flip(len(m) / 2),
			"truncated":                m[:len(m)-2],
			"truncated to half":        m[:len(m)/2],
			"extended":                 m + "AAAA",
			"garbage":                  "not-a-marker",
			"garbage base64":           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			"bad base64":               "!!!***",
			"a task id":                p.Tasks[1]["id"].(string),
		}
		for what, mk := range bad {
			q.Set("marker", mk)
			r := e.do("GET", "/v1/tasks?"+q.Encode(), nil)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s: %d %s", what, r.status, r.body)
				continue
			}
			problem(t, r, http.StatusBadRequest, "INVALID_MARKER")
		}
		// The genuine marker still works.
		if got := e.getPage(p.Next); len(got.Tasks) != 2 {
			t.Errorf("genuine marker: %v", got.ids())
		}
	}, noWorker)
}

func TestListMarkerOfAnotherTenant(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		a, b := as("tenant-a"), as("tenant-b")
		e.makeTasks(4, a...)
		e.makeTasks(4, b...)
		p := e.getPage("/v1/tasks?limit=2", a...)
		if !p.HasNxt {
			t.Fatal("no next")
		}
		problem(t, e.do("GET", p.Next, nil, b...), http.StatusBadRequest, "INVALID_MARKER")
		problem(t, e.do("GET", p.Next, nil), http.StatusBadRequest, "INVALID_MARKER") // tenant "local"
		// An admin replaying tenant-a's marker, even for tenant-a's own tasks, is another principal.
		q, _ := markerOf(t, p.Next)
		q.Set("owner", "tenant-a")
		problem(t, e.do("GET", "/v1/tasks?"+q.Encode(), nil, as("root", "admin")...), http.StatusBadRequest, "INVALID_MARKER")
		if got := e.getPage(p.Next, a...); len(got.Tasks) != 2 {
			t.Errorf("tenant-a's own marker: %v", got.ids())
		}
	}, noWorker)
}

func TestListMarkerOfAnotherQuery(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		e.makeTasks(5)
		p := e.getPage("/v1/tasks?limit=2&status=pending")
		_, m := markerOf(t, p.Next)
		for _, q := range []string{
			"limit=2",                          // status filter dropped
			"limit=2&status=success",           // another status
			"limit=2&status=pending,cancelled", // more statuses
			"limit=2&status=pending&sort_key=updatedAt",
			"limit=2&status=pending&sort_dir=asc",
			"limit=2&status=pending&type=demo",
			"limit=2&status=pending&owner=someone", // (403 for a non-admin comes first)
		} {
			r := e.do("GET", "/v1/tasks?"+q+"&marker="+url.QueryEscape(m), nil)
			if strings.Contains(q, "owner=") {
				problem(t, r, http.StatusForbidden, "FORBIDDEN")
				continue
			}
			problem(t, r, http.StatusBadRequest, "INVALID_MARKER")
		}
		// The same marker with the same query in another spelling still opens.
		got := e.getPage("/v1/tasks?status=pending&limit=2&sort_dir=desc&sort_key=createdAt&marker=" + url.QueryEscape(m))
		if len(got.Tasks) != 2 {
			t.Errorf("same query, other spelling: %v", got.ids())
		}
		// A marker of a sorted walk does not open for the default sort.
		s := e.getPage("/v1/tasks?limit=2&sort_key=updatedAt&sort_dir=asc")
		_, m2 := markerOf(t, s.Next)
		problem(t, e.do("GET", "/v1/tasks?limit=2&marker="+url.QueryEscape(m2), nil), http.StatusBadRequest, "INVALID_MARKER")
		problem(t, e.do("GET", "/v1/tasks?limit=2&sort_key=updatedAt&marker="+url.QueryEscape(m2), nil), http.StatusBadRequest, "INVALID_MARKER")
	}, noWorker)
}

func TestListOwnerForbiddenForNonAdmin(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		e.makeTasks(2, as("other")...)
		problem(t, e.do("GET", "/v1/tasks?owner=other", nil, as("tenant-a")...), http.StatusForbidden, "FORBIDDEN")
		problem(t, e.do("GET", "/v1/tasks?owner=other", nil), http.StatusForbidden, "FORBIDDEN")
		problem(t, e.do("GET", "/v1/tasks?owner=other", nil, as("tenant-a", "reader")...), http.StatusForbidden, "FORBIDDEN")
	}, noWorker)
}

func TestListAdminListsAnotherOwner(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		aIDs := e.makeTasks(3, as("tenant-a")...)
		e.makeTasks(2, as("tenant-b")...)
		e.makeTasks(1, as("root", "admin")...)
		admin := as("root", "admin")
		p := e.getPage("/v1/tasks?owner=tenant-a", admin...)
		sameIDs(t, "admin lists owner=tenant-a", p.ids(), reversed(aIDs))
		for _, tk := range p.Tasks {
			if tk["owner"] != "tenant-a" {
				t.Errorf("owner=tenant-a lists a task of %v", tk["owner"])
			}
		}
		if fq, err := url.Parse(p.First); err != nil || fq.Query().Get("owner") != "tenant-a" {
			t.Errorf("first %q lost owner", p.First)
		}
		walked, _ := e.walkPages("/v1/tasks?owner=tenant-a&limit=1", 1, admin...)
		sameIDs(t, "admin walks owner=tenant-a", walked, reversed(aIDs))
		if p := e.getPage("/v1/tasks?owner=nobody", admin...); len(p.Tasks) != 0 || p.HasNxt {
			t.Errorf("owner without tasks: %v", p.ids())
		}
	}, noWorker)
}

func TestAdminGetsAnotherTenantsTask(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil, as("tenant-a")...)
		e.waitStatus(id, "success", as("tenant-a")...)
		admin := as("root", "admin")
		r := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil, admin...)
		if r.status != http.StatusOK {
			t.Fatalf("admin GET: %d %s", r.status, r.body)
		}
		if m := r.json(t); m["id"] != id || m["owner"] != "tenant-a" || m["status"] != "success" {
			t.Errorf("admin GET: %s", r.body)
		}
		res := e.do("GET", "/v1/tasks/"+id+"/result", nil, admin...)
		if res.status != http.StatusOK || res.json(t)["steps"] != float64(3) {
			t.Errorf("admin GET result: %d %s", res.status, res.body)
		}
		// Without the role, the same tenant name as the admin does not see it.
		problem(t, e.do("GET", "/v1/tasks/"+id, nil, as("root")...), http.StatusNotFound, "TASK_NOT_FOUND")
	})
}
