package contracttest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// listAll lists every task of headers' tenant, newest first.
func (e *env) listAll(headers ...string) []string {
	e.t.Helper()
	ids, _ := e.walkPages("/v1/tasks?limit=100", 100, headers...)
	return ids
}

func TestIdempotencySameKeySameBodyReplays(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		body := map[string]any{"type": "demo", "name": "once", "input": steps(step("A"), step("B"))}
		first := e.do("POST", "/v1/tasks", body, "Idempotency-Key", "order-42")
		if first.status != http.StatusAccepted {
			t.Fatalf("first create: %d %s", first.status, first.body)
		}
		if v := first.header.Get("Idempotent-Replayed"); v != "" {
			t.Errorf("first create has Idempotent-Replayed %q", v)
		}
		id := first.json(t)["id"].(string)

		again := e.do("POST", "/v1/tasks", body, "Idempotency-Key", "order-42")
		if again.status != http.StatusAccepted {
			t.Fatalf("replay: %d %s", again.status, again.body)
		}
		if v := again.header.Get("Idempotent-Replayed"); v != "true" {
			t.Errorf("replay: Idempotent-Replayed %q, want true", v)
		}
		m := again.json(t)
		if m["id"] != id || m["name"] != "once" || m["owner"] != "local" || len(m["subTasks"].([]any)) != 2 {
			t.Errorf("replay body is not the original task: %s", again.body)
		}
		if loc := again.header.Get("Location"); loc != "/v1/tasks/"+id {
			t.Errorf("replay Location %q", loc)
		}
		sameIDs(t, "tasks after a replay", e.listAll(), []string{id})

		// After the task finished, the replay is still the original 202 with the task as it is now.
		e.waitStatus(id, "success")
		late := e.do("POST", "/v1/tasks", body, "Idempotency-Key", "order-42")
		if late.status != http.StatusAccepted || late.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("late replay: %d %v %s", late.status, late.header, late.body)
		}
		if lm := late.json(t); lm["id"] != id || lm["status"] != "success" {
			t.Errorf("late replay body: %s", late.body)
		}
		sameIDs(t, "tasks after two replays", e.listAll(), []string{id})
	})
}

func TestIdempotencyBodyComparedAsJSON(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		ct := []string{"Content-Type", "application/json", "Idempotency-Key", "k-json"}
		a := `{"type":"demo","name":"x","input":{"steps":[{"name":"A","durationMs":0,"transientFailures":0}]},"retentionSeconds":3600}`
		b := "{\n  \"retentionSeconds\" : 3600,\n  \"input\": { \"steps\": [ { \"transientFailures\": 0, \"durationMs\": 0, \"name\": \"A\" } ] },\n\t\"name\": \"x\", \"type\": \"demo\"\n}\n"
		first := e.do("POST", "/v1/tasks", a, ct...)
		if first.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", first.status, first.body)
		}
		id := first.json(t)["id"].(string)
		second := e.do("POST", "/v1/tasks", b, ct...)
		if second.status != http.StatusAccepted || second.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("same body, other spelling: %d Idempotent-Replayed %q %s", second.status, second.header.Get("Idempotent-Replayed"), second.body)
		}
		if second.json(t)["id"] != id {
			t.Errorf("same body, other spelling: id %v, want %s", second.json(t)["id"], id)
		}
		sameIDs(t, "tasks", e.listAll(), []string{id})
	}, noWorker)
}

func TestIdempotencyKeyReusedWithAnotherBody(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		key := []string{"Idempotency-Key", "k-reuse"}
		first := e.createBody(map[string]any{"type": "demo", "name": "one"}, key...)
		id := first["id"].(string)
		for _, other := range []map[string]any{
			{"type": "demo", "name": "two"},
			{"type": "demo"},
			{"type": "demo", "name": "one", "input": steps(step("A"))},
			{"type": "demo", "name": "one", "retentionSeconds": 60},
			{"type": "demo", "name": "one", "resources": []any{map[string]any{"resourceId": "r", "type": "VM"}}},
		} {
			r := e.do("POST", "/v1/tasks", other, key...)
			problem(t, r, http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED")
			if r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("422 has Idempotent-Replayed")
			}
		}
		sameIDs(t, "tasks", e.listAll(), []string{id})
		// The original body still replays.
		r := e.do("POST", "/v1/tasks", map[string]any{"type": "demo", "name": "one"}, key...)
		if r.status != http.StatusAccepted || r.json(t)["id"] != id || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("original body after refusals: %d %s", r.status, r.body)
		}
	}, noWorker)
}

func TestIdempotencyKeyIsPerTenant(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		body := map[string]any{"type": "demo", "name": "shared key"}
		a := e.do("POST", "/v1/tasks", body, append(as("tenant-a"), "Idempotency-Key", "same-key")...)
		b := e.do("POST", "/v1/tasks", body, append(as("tenant-b"), "Idempotency-Key", "same-key")...)
		if a.status != http.StatusAccepted || b.status != http.StatusAccepted {
			t.Fatalf("creates: %d %d", a.status, b.status)
		}
		if b.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("tenant-b's create was replayed from tenant-a's")
		}
		am, bm := a.json(t), b.json(t)
		if am["id"] == bm["id"] || am["owner"] != "tenant-a" || bm["owner"] != "tenant-b" {
			t.Errorf("tenant-a %v/%v, tenant-b %v/%v", am["id"], am["owner"], bm["id"], bm["owner"])
		}
		// A different body from tenant-b is not a reuse of tenant-a's key either.
		c := e.do("POST", "/v1/tasks", map[string]any{"type": "demo"}, append(as("tenant-c"), "Idempotency-Key", "same-key")...)
		if c.status != http.StatusAccepted || c.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("tenant-c: %d %s", c.status, c.body)
		}
		sameIDs(t, "tenant-a's tasks", e.listAll(as("tenant-a")...), []string{am["id"].(string)})
		sameIDs(t, "tenant-b's tasks", e.listAll(as("tenant-b")...), []string{bm["id"].(string)})
		// Each tenant's replay gives its own task.
		ra := e.do("POST", "/v1/tasks", body, append(as("tenant-a"), "Idempotency-Key", "same-key")...)
		rb := e.do("POST", "/v1/tasks", body, append(as("tenant-b"), "Idempotency-Key", "same-key")...)
		if ra.json(t)["id"] != am["id"] || rb.json(t)["id"] != bm["id"] || ra.header.Get("Idempotent-Replayed") != "true" || rb.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replays: a %s, b %s", ra.body, rb.body)
		}
	}, noWorker)
}

func TestIdempotencyKeyInvalid(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		body := map[string]any{"type": "demo"}
		for what, key := range map[string]string{
			"256 characters":  strings.Repeat("k", 256),
			"a tab":           "abc\tdef",
			"a non-ASCII":     "clé-1",
			"empty":           "",
			"1000 characters": strings.Repeat("x", 1000),
		} {
			r := e.do("POST", "/v1/tasks", body, "Idempotency-Key", key)
			if r.status != http.StatusBadRequest {
				t.Errorf("key with %s: %d %s", what, r.status, r.body)
				continue
			}
			problem(t, r, http.StatusBadRequest, "VALIDATION_FAILED")
			if d, _ := r.json(t)["detail"].(string); !strings.Contains(d, "Idempotency-Key") {
				t.Errorf("key with %s: detail %q does not name the header", what, d)
			}
		}
		if ids := e.listAll(); len(ids) != 0 {
			t.Errorf("refused creates made tasks: %v", ids)
		}
		// The bounds themselves are fine: 255 printable characters, and a single one.
		for _, key := range []string{strings.Repeat("~", 255), "x", "a b!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"} {
			r := e.do("POST", "/v1/tasks", body, "Idempotency-Key", key)
			if r.status != http.StatusAccepted || r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("key %q: %d %s", key, r.status, r.body)
			}
		}
		if ids := e.listAll(); len(ids) != 3 {
			t.Errorf("valid keys made %d tasks, want 3", len(ids))
		}
	}, noWorker)
}

func TestNoIdempotencyKeyCreatesEachTime(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		body := map[string]any{"type": "demo", "name": "twice"}
		a := e.do("POST", "/v1/tasks", body)
		b := e.do("POST", "/v1/tasks", body)
		if a.status != http.StatusAccepted || b.status != http.StatusAccepted {
			t.Fatalf("creates: %d %d", a.status, b.status)
		}
		if a.header.Get("Idempotent-Replayed") != "" || b.header.Get("Idempotent-Replayed") != "" {
			t.Error("Idempotent-Replayed without a key")
		}
		ida, idb := a.json(t)["id"].(string), b.json(t)["id"].(string)
		if ida == idb {
			t.Fatalf("two creates gave one id %s", ida)
		}
		got := e.listAll()
		if len(got) != 2 || !(got[0] == ida && got[1] == idb || got[0] == idb && got[1] == ida) {
			t.Errorf("tasks %v, want %s and %s", got, ida, idb)
		}
	}, noWorker)
}

func TestIdempotencyConcurrentSameKey(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		const n = 8
		type out struct {
			status   int
			replayed string
			id       string
			err      error
		}
		results := make([]out, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req, _ := http.NewRequest("POST", e.url+"/v1/tasks", strings.NewReader(`{"type":"demo","name":"race"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "race-key")
				resp, err := e.send(req)
				if err != nil {
					results[i].err = err
					return
				}
				var m map[string]any
				results[i].err = json.Unmarshal(resp.body, &m)
				results[i].status = resp.status
				results[i].replayed = resp.header.Get("Idempotent-Replayed")
				results[i].id, _ = m["id"].(string)
			}()
		}
		close(start)
		wg.Wait()
		fresh := 0
		for i, r := range results {
			if r.err != nil || r.status != http.StatusAccepted {
				t.Errorf("create %d: %d %v", i, r.status, r.err)
				continue
			}
			if r.id != results[0].id {
				t.Errorf("create %d: id %s, create 0: %s", i, r.id, results[0].id)
			}
			if r.replayed != "true" {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("%d creates were not replays, want exactly 1", fresh)
		}
		sameIDs(t, "tasks", e.listAll(), []string{results[0].id})
	}, noWorker)
}

// TestIdempotencyDefaultsAreTheSameBody: omitted fields and their defaults are the same body
// (the contract), so a replay that spells the defaults out, or numbers otherwise, replays.
func TestIdempotencyDefaultsAreTheSameBody(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		key := []string{"Content-Type", "application/json", "Idempotency-Key", "k-defaults"}
		first := e.do("POST", "/v1/tasks", `{"type":"demo"}`, key...)
		if first.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", first.status, first.body)
		}
		id := first.json(t)["id"].(string)
		for _, body := range []string{
			`{"type":"demo","input":{"steps":[{"name":"Validate"},{"name":"Allocate"},{"name":"Configure"}]},"retentionSeconds":172800,"resources":[]}`,
			`{"type":"demo","name":"","input":{"steps":[{"name":"Validate","durationMs":0,"transientFailures":0,"failUntilRetry":0},{"name":"Allocate","durationMs":0.0},{"name":"Configure","failUntilRetry":0e3}]},"retentionSeconds":1.728e5}`,
			`{"type":"demo","input":{}}`,
			`{"type":"demo","input":null,"name":null,"resources":null,"retentionSeconds":null}`,
		} {
			r := e.do("POST", "/v1/tasks", body, key...)
			if r.status != http.StatusAccepted || r.header.Get("Idempotent-Replayed") != "true" || r.json(t)["id"] != id {
				t.Errorf("%s: %d Idempotent-Replayed %q %.300s, want a replay of %s", body, r.status, r.header.Get("Idempotent-Replayed"), r.body, id)
			}
		}
		// A step more, or another duration, is another request.
		for _, body := range []string{
			`{"type":"demo","input":{"steps":[{"name":"Validate"},{"name":"Allocate"}]}}`,
			`{"type":"demo","input":{"steps":[{"name":"Validate","durationMs":1},{"name":"Allocate"},{"name":"Configure"}]}}`,
		} {
			problem(t, e.do("POST", "/v1/tasks", body, key...), http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED")
		}
		sameIDs(t, "tasks", e.listAll(), []string{id})
	}, noWorker)
}
