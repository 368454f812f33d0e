package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/client"
	"github.com/tasklane/tasklane/shared/client/clienttest"
	"github.com/tasklane/tasklane/shared/fault"
)

// bundle is one test's Tasklane and a client of it.
type bundle struct {
	t   *testing.T
	srv *clienttest.Server
	c   *client.Client
	tr  *fault.Transport // the client's network, losing answers on demand
	ctx context.Context
}

// setup serves a fresh Tasklane and makes a client of it as tenant "tenant-a", with quick
// retries.
func setup(t *testing.T) *bundle {
	t.Helper()
	t.Parallel()
	srv := clienttest.Serve(t)
	tr := fault.NewTransport(nil)
	c, err := client.New(srv.URL, client.Options{Token: "dev:tenant-a", Backoff: time.Millisecond,
		HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return &bundle{t: t, srv: srv, c: c, tr: tr, ctx: ctx}
}

func steps(durationMs ...int) json.RawMessage {
	var s []map[string]any
	for i, d := range durationMs {
		s = append(s, map[string]any{"name": "Step" + string(rune('A'+i)), "durationMs": d})
	}
	b, _ := json.Marshal(map[string]any{"steps": s})
	return b
}

func (b *bundle) create(req client.CreateRequest) *client.Created {
	b.t.Helper()
	created, err := b.c.Create(b.ctx, req)
	if err != nil {
		b.t.Fatalf("create: %v", err)
	}
	return created
}

func TestCreateAndWaitSucceeds(t *testing.T) {
	b := setup(t)
	created := b.create(client.CreateRequest{Type: "demo", Name: "three", Input: steps(100, 100, 100)})
	if created.Status != client.Pending || created.ID == "" || created.Replayed || created.IdempotencyKey == "" {
		t.Fatalf("created %+v", created)
	}
	var seen []int
	done, err := b.c.Wait(b.ctx, created.ID, client.WaitOptions{Progress: func(t *client.Task) { seen = append(seen, t.Done()) }})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != client.Success || done.Done() != 3 || done.Progress != 100 {
		t.Errorf("waited: status %s, %d done, progress %d", done.Status, done.Done(), done.Progress)
	}
	if done.ResultURL != "/v1/tasks/"+created.ID+"/result" {
		t.Errorf("ResultURL %q", done.ResultURL)
	}
	// Each change seen once, in order, the last the end.
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Errorf("progress went back: %v", seen)
		}
	}
	if len(seen) < 2 || seen[len(seen)-1] != 3 {
		t.Errorf("progress calls %v, want several ending at 3", seen)
	}
	res, err := b.c.Result(b.ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(res, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"steps": 3.0}, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

// TestCreateRetriesWithItsKey: a create whose answer is lost (the API created the task, the
// client saw a 500) is sent again with the same generated key and answered by a replay, so
// that one task exists.
func TestCreateRetriesWithItsKey(t *testing.T) {
	b := setup(t)
	var mu sync.Mutex
	lost := 0
	b.tr.LoseIf(func(_ string, body []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if len(body) > 0 && lost == 0 {
			lost++
			return true
		}
		return false
	})
	created := b.create(client.CreateRequest{Type: "demo"})
	if lost != 1 {
		t.Fatalf("the fault was not hit")
	}
	if !created.Replayed {
		t.Errorf("the retry was not answered as a replay: %+v", created)
	}
	var ids []string
	for task, err := range b.c.List(b.ctx, client.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	if diff := cmp.Diff([]string{created.ID}, ids); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	// The caller's own key is sent as given.
	again := b.create(client.CreateRequest{Type: "demo", IdempotencyKey: created.IdempotencyKey})
	if !again.Replayed || again.ID != created.ID {
		t.Errorf("create with the same key: %+v", again)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	b := setup(t)
	_, err := b.c.Get(b.ctx, "01JDK6Q8W7C2N3X9RT0V5M4B1A")
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("get unknown: %v (%T), want *client.Error", err, err)
	}
	if e.Status != 404 || e.ErrorCode != client.CodeTaskNotFound || e.Title == "" || e.Detail == "" || e.RequestID == "" {
		t.Errorf("error %+v", e)
	}
	_, err = b.c.Create(b.ctx, client.CreateRequest{Type: "no-such-type"})
	if !client.IsCode(err, client.CodeUnknownTaskType) {
		t.Errorf("create of an unknown type: %v", err)
	}
	created := b.create(client.CreateRequest{Type: "demo"})
	if _, err := b.c.Wait(b.ctx, created.ID, client.WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = b.c.Cancel(b.ctx, created.ID)
	if !errors.As(err, &e) || e.Status != 409 || e.ErrorCode != client.CodeTaskNotCancellable {
		t.Errorf("cancel of a succeeded task: %v", err)
	}
	_, err = b.c.Retry(b.ctx, created.ID)
	if !client.IsCode(err, client.CodeTaskNotRetryable) {
		t.Errorf("retry of a succeeded task: %v", err)
	}
	// Other tenants' tasks do not exist.
	other, err := client.New(b.srv.URL, client.Options{Token: "dev:tenant-b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Get(b.ctx, created.ID); !client.IsCode(err, client.CodeTaskNotFound) {
		t.Errorf("another tenant's get: %v", err)
	}
}

func TestGetHonoursSeeOtherAndETag(t *testing.T) {
	b := setup(t)
	created := b.create(client.CreateRequest{Type: "demo"})
	if _, err := b.c.Wait(b.ctx, created.ID, client.WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := b.c.Get(b.ctx, created.ID) // a 303: the task, not its result
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != created.ID || got.Status != client.Success || got.ETag == "" || got.RetryAfter != 0 {
		t.Errorf("get of a succeeded task: %+v", got)
	}
	same, changed, err := b.c.GetIfChanged(b.ctx, got)
	if err != nil || changed || same != got {
		t.Errorf("GetIfChanged of an unchanged task: %v, %v, same %v", err, changed, same == got)
	}
	stale := *got
	stale.ETag = `"stale"`
	fresh, changed, err := b.c.GetIfChanged(b.ctx, &stale)
	if err != nil || !changed || fresh.ETag != got.ETag {
		t.Errorf("GetIfChanged with another ETag: %v, %v, %+v", err, changed, fresh)
	}
}

func TestWaitEndsInFailureAndRetry(t *testing.T) {
	b := setup(t)
	created := b.create(client.CreateRequest{Type: "demo",
		Input: json.RawMessage(`{"steps":[{"name":"A"},{"name":"B","failUntilRetry":1}]}`)})
	failed, err := b.c.Wait(b.ctx, created.ID, client.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != client.Failure || !failed.IsRetryable || len(failed.Errors) == 0 {
		t.Fatalf("waited: %+v", failed)
	}
	retried, err := b.c.Retry(b.ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if retried.Status != client.Pending || retried.RetryCount != 1 {
		t.Errorf("retried: status %s, retryCount %d", retried.Status, retried.RetryCount)
	}
	done, err := b.c.Wait(b.ctx, created.ID, client.WaitOptions{})
	if err != nil || done.Status != client.Success {
		t.Errorf("after the retry: %v, %+v", err, done)
	}
}

func TestWaitEndsCancelled(t *testing.T) {
	b := setup(t)
	created := b.create(client.CreateRequest{Type: "demo", Input: steps(300, 0)})
	cancelled, err := b.c.Cancel(b.ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !cancelled.CancelRequested && cancelled.Status != client.Cancelled {
		t.Errorf("cancel answered %+v", cancelled)
	}
	done, err := b.c.Wait(b.ctx, created.ID, client.WaitOptions{})
	if err != nil || done.Status != client.Cancelled {
		t.Errorf("waited: %v, %+v", err, done)
	}
}

func TestWaitIsCancellable(t *testing.T) {
	b := setup(t)
	created := b.create(client.CreateRequest{Type: "demo", Input: steps(20000)})
	ctx, cancel := context.WithTimeout(b.ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.c.Wait(ctx, created.ID, client.WaitOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait: %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("wait returned %v after its context ended", d)
	}
	if _, err := b.c.Cancel(b.ctx, created.ID); err != nil {
		t.Error(err)
	}
}

func TestListWalksEveryPage(t *testing.T) {
	b := setup(t)
	var want []string
	for range 5 {
		want = append([]string{b.create(client.CreateRequest{Type: "demo"}).ID}, want...) // newest first
	}
	var got []string
	pages := 0
	for p, err := range b.c.Pages(b.ctx, client.ListOptions{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, task := range p.Tasks {
			got = append(got, task.ID)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("%d pages; ids (-want +got):\n%s", pages, diff)
	}
	got = nil
	for task, err := range b.c.List(b.ctx, client.ListOptions{Limit: 2, SortDir: "asc"}) {
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, task.ID); len(got) == 3 {
			break
		}
	}
	if diff := cmp.Diff([]string{want[4], want[3], want[2]}, got); diff != "" {
		t.Errorf("ascending, stopped after 3 (-want +got):\n%s", diff)
	}
	for _, err := range b.c.List(b.ctx, client.ListOptions{Status: []client.Status{"nonsense"}}) {
		if !client.IsCode(err, client.CodeInvalidParameter) {
			t.Errorf("bad status: %v", err)
		}
	}
}

func TestTaskTypes(t *testing.T) {
	b := setup(t)
	types, err := b.c.TaskTypes(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range types {
		if tt.Name == "demo" {
			if diff := cmp.Diff([]string{"Validate", "Allocate", "Configure"}, tt.SubTasks); diff != "" || tt.MaxAttempts != 3 {
				t.Errorf("demo: maxAttempts %d, subtasks (-want +got):\n%s", tt.MaxAttempts, diff)
			}
			return
		}
	}
	t.Errorf("no demo type in %+v", types)
}

// fake is an API stand-in for what the local runner does not do (yet): gateway errors,
// Prefer: wait, callbacks. Each request gets the next answer.
type fake struct {
	t       *testing.T
	url     string
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request)
	got     []*http.Request
}

func newFake(t *testing.T, answers ...func(w http.ResponseWriter, r *http.Request)) (*fake, *client.Client) {
	t.Parallel()
	f := &fake{t: t, answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	c, err := client.New(srv.URL, client.Options{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
	if len(f.answers) == 0 {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(500)
		return
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	a(w, r)
}

func answer(status int, headers map[string]string, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

const taskJSON = `{"id":"T1","status":"%s","subTasks":[],"createdAt":"2026-11-22T08:30:00.000Z","updatedAt":"2026-11-22T08:30:00.000Z","startedAt":null,"finishedAt":null,"expiresAt":null}`

func taskBody(status string) string { return strings.Replace(taskJSON, "%s", status, 1) }

// TestRetriesHonourRetryAfter: a gateway's 429 (not problem+json) and a 503 are retried, the
// 429 after its Retry-After.
func TestRetriesHonourRetryAfter(t *testing.T) {
	f, c := newFake(t,
		answer(429, map[string]string{"Retry-After": "1"}, `{"message":"Too Many Requests"}`),
		answer(503, map[string]string{"Content-Type": "application/problem+json"}, `{"status":503,"errorCode":"INTERNAL","title":"x"}`),
		answer(200, map[string]string{"ETag": `"T1.1"`}, taskBody("processing")),
	)
	start := time.Now()
	got, err := c.Get(context.Background(), "T1")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("answered after %v, before the 429's Retry-After of 1 s", d)
	}
	if got.ID != "T1" || got.ETag != `"T1.1"` || len(f.got) != 3 {
		t.Errorf("got %+v after %d requests", got, len(f.got))
	}
}

func TestRetriesAreBounded(t *testing.T) {
	var answers []func(http.ResponseWriter, *http.Request)
	for range 3 {
		answers = append(answers, answer(502, nil, "bad gateway"))
	}
	t.Parallel()
	f := &fake{t: t, answers: answers}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := client.New(srv.URL, client.Options{Backoff: time.Millisecond, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), "T1")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 502 || e.ErrorCode != "" || e.Title != "Bad Gateway" {
		t.Errorf("err %v", err)
	}
	if len(f.got) != 3 {
		t.Errorf("%d requests, want 1 and 2 retries", len(f.got))
	}
}

// TestWaitUsesPreferWait: Wait asks the API to wait and reads again at once when it did
// (Preference-Applied), without pausing for Retry-After.
func TestWaitUsesPreferWait(t *testing.T) {
	held := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second) // as the API holds an unchanged task (here 1 s, not 20)
		answer(304, map[string]string{"ETag": `"T1.1"`, "Retry-After": "5", "Preference-Applied": "wait=20"}, "")(w, r)
	}
	f, c := newFake(t,
		answer(200, map[string]string{"ETag": `"T1.1"`, "Retry-After": "5"}, taskBody("processing")),
		held, held,
		answer(303, map[string]string{"ETag": `"T1.2"`, "Location": "/v1/tasks/T1/result", "Preference-Applied": "wait=20"}, taskBody("success")),
	)
	var calls atomic.Int32
	start := time.Now()
	got, err := c.Wait(context.Background(), "T1", client.WaitOptions{Progress: func(*client.Task) { calls.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Wait paused (%v) although the API waited", d)
	}
	if got.Status != client.Success || got.ResultURL != "/v1/tasks/T1/result" || calls.Load() != 2 {
		t.Errorf("got %+v, %d progress calls", got, calls.Load())
	}
	for i, r := range f.got[1:] {
		if r.Header.Get("Prefer") != "wait=20" || r.Header.Get("If-None-Match") != `"T1.1"` {
			t.Errorf("read %d: Prefer %q, If-None-Match %q", i+2, r.Header.Get("Prefer"), r.Header.Get("If-None-Match"))
		}
	}
}

// TestWaitPausesWithoutPreferenceApplied: an API that ignores Prefer: wait is polled at its
// Retry-After, and so is one that claims a wait it did not make (a 304 at once).
func TestWaitPausesWithoutPreferenceApplied(t *testing.T) {
	_, c := newFake(t,
		answer(200, map[string]string{"ETag": `"T1.1"`, "Retry-After": "1"}, taskBody("processing")),
		answer(304, map[string]string{"ETag": `"T1.1"`, "Retry-After": "1"}, ""),
		answer(304, map[string]string{"ETag": `"T1.1"`, "Retry-After": "1", "Preference-Applied": "wait=20"}, ""),
		answer(200, map[string]string{"ETag": `"T1.2"`}, taskBody("failure")),
	)
	start := time.Now()
	got, err := c.Wait(context.Background(), "T1", client.WaitOptions{})
	if err != nil || got.Status != client.Failure {
		t.Fatalf("%v, %+v", err, got)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("three reads in %v: one did not wait for Retry-After", d)
	}
}

func TestCallback(t *testing.T) {
	f, _ := newFake(t,
		func(w http.ResponseWriter, r *http.Request) {
			var report map[string]any
			if err := json.NewDecoder(r.Body).Decode(&report); err != nil {
				t.Error(err)
			}
			if diff := cmp.Diff(map[string]any{"action": "succeed", "output": map[string]any{"ok": true}}, report); diff != "" {
				t.Errorf("callback body (-want +got):\n%s", diff)
			}
			answer(200, map[string]string{"Content-Type": "application/json"}, `{"name":"Backup","status":"success","attempts":1}`)(w, r)
		},
		answer(404, map[string]string{"Content-Type": "application/problem+json"}, `{"status":404,"errorCode":"CALLBACK_NOT_FOUND","title":"Callback not found","detail":"no such callback"}`),
	)
	// The token is the callback's credential: the client's own is not sent with it.
	c, err := client.New(f.url, client.Options{Token: "dev:tenant-a"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Callback(context.Background(), "tok123", client.CallbackReport{Action: client.Succeed, Output: json.RawMessage(`{"ok":true}`)})
	if err != nil || st.Status != client.Success || st.Name != "Backup" {
		t.Fatalf("%v, %+v", err, st)
	}
	if r := f.got[0]; r.Method != "POST" || r.URL.Path != "/v1/callbacks/tok123" || r.Header.Get("Authorization") != "" {
		t.Errorf("request %s %s, Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
	}
	_, err = c.Callback(context.Background(), "/v1/callbacks/tok123", client.CallbackReport{Action: client.Heartbeat})
	if !client.IsCode(err, client.CodeCallbackNotFound) {
		t.Errorf("ended callback: %v", err)
	}
}

// TestHungAttemptIsRetried: an attempt that gets no answer within Options.Timeout is given up
// and sent again, like a network error.
func TestHungAttemptIsRetried(t *testing.T) {
	t.Parallel()
	f := &fake{t: t, answers: []func(http.ResponseWriter, *http.Request){
		func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		answer(200, map[string]string{"ETag": `"T1.1"`}, taskBody("processing")),
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		a := f.answers[0]
		f.answers = f.answers[1:]
		f.mu.Unlock()
		a(w, r)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.Options{Backoff: time.Millisecond, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(context.Background(), "T1")
	if err != nil || got.ETag != `"T1.1"` {
		t.Errorf("%v, %+v", err, got)
	}
}
