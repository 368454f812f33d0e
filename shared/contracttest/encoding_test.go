package contracttest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tasklane/tasklane/shared/apigw"
)

// TestResponsesAreNotHTMLEscaped: bodies are JSON, not HTML; <, > and & are written as
// themselves (in a task, a list's next link, a problem's detail), not as \u003c, \u003e and
// \u0026, which break a copied link and inflate a page.
func TestResponsesAreNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		name := "<b>web & db</b>"
		created := e.do("POST", "/v1/tasks", map[string]any{"type": "demo", "name": name})
		if created.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", created.status, created.body)
		}
		e.create(nil)
		got := e.do("GET", "/v1/tasks?limit=1", nil)
		if got.status != http.StatusOK {
			t.Fatalf("list: %d %s", got.status, got.body)
		}
		bad := e.do("GET", "/v1/tasks?a<b=1", nil)
		problem(t, bad, http.StatusBadRequest, "INVALID_PARAMETER")
		for what, r := range map[string]reply{"create": created, "list": got, "problem": bad} {
			if bytes.Contains(r.body, []byte(`\u00`)) {
				t.Errorf("%s body has HTML escapes: %s", what, r.body)
			}
		}
		if !bytes.Contains(created.body, []byte(`"name":"`+name+`"`)) {
			t.Errorf("create body does not carry the name as sent: %s", created.body)
		}
		var page struct{ Next string }
		if err := json.Unmarshal(got.body, &page); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got.body), `"next":"`+page.Next+`"`) || !strings.Contains(page.Next, "&marker=") {
			t.Errorf("next is not written as the plain URL %q: %s", page.Next, got.body)
		}
		if !bytes.Contains(bad.body, []byte("a<b")) {
			t.Errorf("problem detail does not name the parameter as sent: %s", bad.body)
		}
	}, noWorker)
}

// TestListPageIsCappedInBytes: a page of large tasks (the largest a create allows, in what a
// list shows: name, resources, subtasks) holds fewer tasks than the limit rather than grow
// past Lambda's response limit; its next continues right after the last task shown, so the
// walk still visits every task exactly once, in order.
func TestListPageIsCappedInBytes(t *testing.T) {
	t.Parallel()
	// A control character is 6 bytes in JSON (\u0001): each task lists at some 200 kB.
	ctl := func(n int) string { return strings.Repeat("\x01", n) }
	big := func(i int) map[string]any {
		res := make([]any, 100)
		for j := range res {
			res[j] = map[string]any{"resourceId": fmt.Sprintf("%03d%03d", i, j) + ctl(250), "type": ctl(64)}
		}
		st := make([]any, 20)
		for j := range st {
			st[j] = map[string]any{"name": fmt.Sprintf("%02d", j) + ctl(98)}
		}
		return map[string]any{"type": "demo", "name": ctl(256), "resources": res, "input": map[string]any{"steps": st}}
	}
	const n = 8
	eachBackend(t, func(t *testing.T, e *env) {
		var want []string
		for i := range n {
			e.clock.Advance(1)
			want = append([]string{e.createBody(big(i))["id"].(string)}, want...) // newest first
		}
		var got []string
		pages := 0
		for next := "/v1/tasks?limit=100"; next != ""; pages++ {
			if pages > n {
				t.Fatalf("the walk does not end: %v", got)
			}
			r := e.do("GET", next, nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: %d %.500s", next, r.status, r.body)
			}
			var page struct {
				Tasks []json.RawMessage
				Next  string
			}
			if err := json.Unmarshal(r.body, &page); err != nil {
				t.Fatal(err)
			}
			size := 0
			for _, raw := range page.Tasks {
				size += len(raw) + 1
				var v struct{ ID string }
				_ = json.Unmarshal(raw, &v)
				got = append(got, v.ID)
			}
			if size > apigw.MaxListBytes && len(page.Tasks) > 1 {
				t.Errorf("page %d: its %d tasks are %d bytes, over the cap of %d", pages+1, len(page.Tasks), size, apigw.MaxListBytes)
			}
			if len(r.body) > apigw.MaxListBytes+1<<10 {
				t.Errorf("page %d is %d bytes", pages+1, len(r.body))
			}
			if len(page.Tasks) == 0 {
				t.Errorf("page %d is empty", pages+1)
			}
			next = page.Next
		}
		if pages < 2 {
			t.Errorf("%d tasks of ~200 kB fit in one page", n)
		}
		if !slices.Equal(got, want) {
			t.Errorf("walk visited\n %v\nwant\n %v", got, want)
		}
	}, noWorker)
}
