package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/authtest"
	"github.com/tasklane/tasklane/shared/function"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// The events in testdata/ are API Gateway HTTP API (payload format 2.0) events as the
// deployed functions receive them. "{{taskId}}" in a file stands for the id of the task the
// case prepares (or of a task that does not exist when the case prepares none);
// "{{token:<tenant>:<roles>}}" for a JWT the test's issuer signs with those claims (roles
// comma-separated), since the handlers verify the Authorization header themselves.

// absentID is a well-formed id no test creates.
const absentID = "01JDK6Q8W7C2N3X9RT0V5M4B1A"

// tenant is the tenant the testdata's tokens name (get-other-tenant.json, get-admin.json
// excepted).
const tenant = "tenant-a"

// user is the sub of the testdata's tokens.
const user = "7c1e4f0a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"

// bundle is what a test of the handler works with (setup): a Tasklane on the embedded
// backends that verifies JWTs, as deployed, against a fresh test issuer.
type bundle struct {
	app *app.App
	iss *authtest.Issuer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	iss := authtest.NewIssuer(t)
	a := apptest.OpenEmbedded(t, func(c *settings.Settings) {
		c.JWT = settings.JWT{Issuer: iss.URL, Audiences: []string{authtest.Audience}}
	})
	return &bundle{app: a, iss: iss}
}

// load reads testdata/name as an event, with {{taskId}} replaced by id and each
// {{token:...}} by a token b.iss signs. Unknown fields are refused so that a misspelt field
// cannot silently drop out of the event.
func (b *bundle) load(t *testing.T, name, id string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		id = absentID
	}
	raw = bytes.ReplaceAll(raw, []byte("{{taskId}}"), []byte(id))
	raw = b.iss.Expand(raw, user)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var ev events.APIGatewayV2HTTPRequest
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// prepare makes a task of tenant in the given state ("" makes none) and returns its id.
func (b *bundle) prepare(t *testing.T, state string) string {
	t.Helper()
	if state == "" {
		return ""
	}
	ctx := context.Background()
	input := json.RawMessage(`{"steps": [{"name": "Validate"}, {"name": "Allocate"}, {"name": "Configure"}]}`)
	if state == "failure" {
		input = json.RawMessage(`{"steps": [{"name": "Validate"}, {"name": "Broken", "failUntilRetry": 1}]}`)
	}
	c, err := b.app.Service().Create(ctx, usecase.Principal{Tenant: tenant}, usecase.CreateRequest{Spec: task.Spec{Type: "demo", Name: "prepared", Input: input}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	id := c.Task.ID
	if state == "pending" {
		return id
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "prepare-1", ReceiptHandle: "prepare-1", Body: queue.Message{TaskID: id}.Encode(), EventSource: "aws:sqs"}}}
	resp, err := b.app.Worker().Handle(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("worker: %v %v", resp, err)
	}
	got, err := b.app.Store.Get(ctx, id, time.Now())
	if err != nil || string(got.Status) != state {
		t.Fatalf("prepared task is %s (%v), want %s", got.Status, err, state)
	}
	return id
}

// body decodes a JSON response body.
func body(t *testing.T, resp events.APIGatewayV2HTTPResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, resp.Body)
	}
	return m
}

// wantHeaders checks response headers exactly by name.
func wantHeaders(t *testing.T, resp events.APIGatewayV2HTTPResponse, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := resp.Headers[k]; !ok || got != v {
			t.Errorf("header %s = %q (present %t), want %q", k, got, ok, v)
		}
	}
}

type handlerCase struct {
	file     string
	function string
	state    string // the task the case prepares: "", pending, failure, success
	status   int
	code     string // errorCode of an error; "*" any non-empty one
	check    func(t *testing.T, resp events.APIGatewayV2HTTPResponse, id string)
}

var handlerCases = []handlerCase{
	{"create.json", function.Create, "", http.StatusAccepted, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		b := body(t, resp)
		id, _ := b["id"].(string)
		url := "/v1/tasks/" + id
		wantHeaders(t, resp, map[string]string{"Location": url, "Content-Location": url, "Retry-After": "1", "Content-Type": "application/json"})
		if b["status"] != "pending" || b["owner"] != tenant || b["name"] != "Provision web-01" || b["self"] != url || b["type"] != "demo" {
			t.Errorf("created task: %s", resp.Body)
		}
		if res, _ := b["resources"].([]any); len(res) != 1 {
			t.Errorf("resources: %v", b["resources"])
		}
		if _, ok := resp.Headers["Idempotent-Replayed"]; ok {
			t.Error("a first create says it was replayed")
		}
	}},
	{"create-service-task.json", function.Create, "", http.StatusAccepted, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		b := body(t, resp)
		sub, _ := b["subTasks"].([]any)[0].(map[string]any)
		cb, _ := sub["callback"].(map[string]any)
		if b["owner"] != "tenant-a" || b["serviceNamespace"] != "org.example.backup" || b["status"] != "processing" || cb == nil || !strings.HasPrefix(cb["url"].(string), "/v1/callbacks/") {
			t.Errorf("created service task: %s", resp.Body)
		}
	}},
	// A token that does not open (the placeholder's task id, unsealed): as if there were none.
	{"callback.json", function.Callback, "", http.StatusNotFound, "CALLBACK_NOT_FOUND", nil},
	{"create-base64.json", function.Create, "", http.StatusAccepted, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if b := body(t, resp); b["name"] != "Provision web-02" || len(b["subTasks"].([]any)) != 3 {
			t.Errorf("created task: %s", resp.Body)
		}
	}},
	{"create-bad-body.json", function.Create, "", http.StatusBadRequest, "VALIDATION_FAILED", nil},
	// The example catalog type of tasktypes.json, whose input schema wants pages >= 1.
	{"create-catalog-bad-input.json", function.Create, "", http.StatusBadRequest, "VALIDATION_FAILED", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if d, _ := body(t, resp)["detail"].(string); !strings.Contains(d, "input.pages: must be >= 1") {
			t.Errorf("detail %q, want it to name input.pages", d)
		}
	}},
	{"create-unknown-type.json", function.Create, "", http.StatusBadRequest, "UNKNOWN_TASK_TYPE", nil},
	{"create-callback.json", function.Create, "", http.StatusAccepted, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if u := body(t, resp)["callbackUrl"]; u != "https://hooks.example.com/tasklane?source=ci" {
			t.Errorf("callbackUrl %v: %s", u, resp.Body)
		}
	}},
	{"create-callback-private.json", function.Create, "", http.StatusBadRequest, "VALIDATION_FAILED", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if d, _ := body(t, resp)["detail"].(string); !strings.HasPrefix(d, "callbackUrl: ") {
			t.Errorf("detail %q does not name callbackUrl", d)
		}
	}},
	{"create-text.json", function.Create, "", http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", nil},
	{"create-no-claims.json", function.Create, "", http.StatusUnauthorized, "UNAUTHENTICATED", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		wantHeaders(t, resp, map[string]string{"WWW-Authenticate": "Bearer"})
		if d := body(t, resp)["detail"]; d != "The request needs a bearer token (Authorization: Bearer <token>)." {
			t.Errorf("detail %q", d)
		}
	}},
	{"get.json", function.Get, "pending", http.StatusOK, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, id string) {
		wantHeaders(t, resp, map[string]string{"Retry-After": "1", "Content-Type": "application/json", "Content-Location": "/v1/tasks/" + id})
		if resp.Headers["ETag"] == "" {
			t.Error("no ETag")
		}
		if _, ok := resp.Headers["Expires"]; ok {
			t.Error("Expires on a pending task")
		}
		b := body(t, resp)
		if b["id"] != id || b["status"] != "pending" || b["isCancellable"] != true {
			t.Errorf("task: %s", resp.Body)
		}
		if _, ok := b["input"]; !ok {
			t.Error("a task read alone lacks input")
		}
	}},
	{"get.json", function.Get, "", http.StatusNotFound, "TASK_NOT_FOUND", nil},
	{"get-forged-token.json", function.Get, "pending", http.StatusUnauthorized, "UNAUTHENTICATED", nil},
	{"get-other-tenant.json", function.Get, "pending", http.StatusNotFound, "TASK_NOT_FOUND", nil},
	{"get-admin.json", function.Get, "success", http.StatusSeeOther, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, id string) {
		wantHeaders(t, resp, map[string]string{"Location": "/v1/tasks/" + id + "/result"})
		if resp.Headers["Expires"] == "" || resp.Headers["ETag"] == "" {
			t.Errorf("303 headers: %v", resp.Headers)
		}
		if b := body(t, resp); b["id"] != id || b["owner"] != tenant {
			t.Errorf("303 body: %s", resp.Body)
		}
	}},
	{"result.json", function.Get, "success", http.StatusOK, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if b := body(t, resp); b["steps"] != float64(3) {
			t.Errorf("result: %s", resp.Body)
		}
	}},
	{"result.json", function.Get, "pending", http.StatusConflict, "TASK_NOT_FINISHED", nil},
	{"list.json", function.List, "pending", http.StatusOK, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, id string) {
		b := body(t, resp)
		tasks, _ := b["tasks"].([]any)
		if len(tasks) != 1 || tasks[0].(map[string]any)["id"] != id {
			t.Fatalf("list: %s", resp.Body)
		}
		if _, ok := tasks[0].(map[string]any)["input"]; ok {
			t.Error("a listed task has input")
		}
		if b["schema"] != "/v1/schemas/tasks" || !strings.HasPrefix(b["first"].(string), "/v1/tasks?") {
			t.Errorf("list page: %s", resp.Body)
		}
		if _, ok := b["next"]; ok {
			t.Error("next on the only page")
		}
	}},
	{"list-bad-limit.json", function.List, "", http.StatusBadRequest, "INVALID_PARAMETER", nil},
	{"cancel.json", function.Cancel, "pending", http.StatusAccepted, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, id string) {
		wantHeaders(t, resp, map[string]string{"Location": "/v1/tasks/" + id})
		if b := body(t, resp); b["status"] != "cancelled" || b["finishedAt"] == nil {
			t.Errorf("cancelled task: %s", resp.Body)
		}
	}},
	{"cancel.json", function.Cancel, "failure", http.StatusConflict, "TASK_NOT_CANCELLABLE", nil},
	{"cancel-post.json", function.Cancel, "pending", http.StatusAccepted, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if b := body(t, resp); b["status"] != "cancelled" {
			t.Errorf("cancelled task: %s", resp.Body)
		}
	}},
	{"retry.json", function.Retry, "failure", http.StatusAccepted, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, id string) {
		wantHeaders(t, resp, map[string]string{"Location": "/v1/tasks/" + id, "Retry-After": "1"})
		b := body(t, resp)
		if b["status"] != "pending" || b["retryCount"] != float64(1) {
			t.Errorf("retried task: %s", resp.Body)
		}
		if errs, _ := b["errors"].([]any); len(errs) != 1 {
			t.Errorf("errors after retry: %v", b["errors"])
		}
	}},
	{"retry.json", function.Retry, "pending", http.StatusConflict, "TASK_NOT_RETRYABLE", nil},
	{"retry-patch.json", function.Retry, "failure", http.StatusAccepted, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if b := body(t, resp); b["status"] != "pending" || b["retryCount"] != float64(1) {
			t.Errorf("retried task: %s", resp.Body)
		}
	}},
	{"retry-patch.json", function.Retry, "success", http.StatusConflict, "TASK_NOT_RETRYABLE", nil},
	{"task-types.json", function.List, "", http.StatusOK, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		types, _ := body(t, resp)["taskTypes"].([]any)
		if len(types) == 0 || types[0].(map[string]any)["name"] != "demo" || types[0].(map[string]any)["maxAttempts"] != float64(3) {
			t.Errorf("task types: %s", resp.Body)
		}
	}},
	{"openapi.json", function.List, "", http.StatusOK, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if b := body(t, resp); b["openapi"] != "3.1.0" || resp.Headers["Content-Type"] != "application/json" {
			t.Errorf("openapi.json: %v %.200s", resp.Headers, resp.Body)
		}
	}},
	{"schema-task.json", function.List, "", http.StatusOK, "", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		if b := body(t, resp); b["$id"] != "/v1/schemas/task" {
			t.Errorf("schema: %s", resp.Body)
		}
	}},
	{"put-task.json", function.Get, "pending", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", func(t *testing.T, resp events.APIGatewayV2HTTPResponse, _ string) {
		allow := strings.Split(resp.Headers["Allow"], ", ")
		slices.Sort(allow)
		if !slices.Equal(allow, []string{"DELETE", "GET", "PATCH"}) {
			t.Errorf("Allow %q", resp.Headers["Allow"])
		}
	}},
	{"unknown-path.json", function.Get, "", http.StatusNotFound, "*", nil},
}

func TestHandlerEvents(t *testing.T) {
	t.Parallel()
	for _, c := range handlerCases {
		name := strings.TrimSuffix(c.file, ".json") + "/" + c.state
		if c.state == "" {
			name += "none"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			id := b.prepare(t, c.state)
			ev := b.load(t, c.file, id)
			resp, err := b.app.Handler(c.function).Handle(context.Background(), ev)
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
			wantID := ev.RequestContext.RequestID
			if v := ev.Headers["x-request-id"]; v != "" {
				wantID = v
			}
			if got := resp.Headers["X-Request-Id"]; got != wantID {
				t.Errorf("X-Request-Id %q, want %q", got, wantID)
			}
			if resp.IsBase64Encoded {
				t.Error("a JSON response is base64-encoded")
			}
			if c.code != "" {
				checkProblem(t, resp, c.status, c.code)
			}
			if c.check != nil {
				c.check(t, resp, id)
			}
		})
	}
}

// checkProblem checks an RFC 9457 problem response.
func checkProblem(t *testing.T, resp events.APIGatewayV2HTTPResponse, status int, code string) {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	p := body(t, resp)
	for _, k := range []string{"type", "title", "status", "detail", "errorCode"} {
		if _, ok := p[k]; !ok {
			t.Errorf("problem lacks %q: %s", k, resp.Body)
		}
	}
	if p["status"] != float64(status) {
		t.Errorf("problem status %v, want %d", p["status"], status)
	}
	got, _ := p["errorCode"].(string)
	if code == "*" {
		if got == "" {
			t.Errorf("no errorCode: %s", resp.Body)
		}
	} else if got != code {
		t.Errorf("errorCode %q, want %s", got, code)
	}
}

// TestHandlerEventsAreRealistic keeps the testdata honest: each event's route key is one
// API Gateway is configured with, and the fields API Gateway repeats agree.
func TestHandlerEventsAreRealistic(t *testing.T) {
	t.Parallel()
	keys := map[string]bool{}
	for _, r := range apigw.Routes() {
		keys[r.Key()] = true
	}
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	b := &bundle{iss: authtest.NewIssuer(t)} // the events alone: no Tasklane
	covered := map[string]bool{}
	for _, c := range handlerCases {
		covered[c.file] = true
	}
	for _, f := range files {
		name := filepath.Base(f)
		if !covered[name] {
			t.Errorf("%s is in no test case", name)
		}
		ev := b.load(t, name, "")
		if ev.Version != "2.0" || !keys[ev.RouteKey] || ev.RequestContext.RouteKey != ev.RouteKey {
			t.Errorf("%s: version %q routeKey %q / %q", name, ev.Version, ev.RouteKey, ev.RequestContext.RouteKey)
		}
		if ev.RawPath != ev.RequestContext.HTTP.Path || ev.RequestContext.HTTP.Method == "" || ev.RequestContext.RequestID == "" {
			t.Errorf("%s: rawPath %q, http %+v, requestId %q", name, ev.RawPath, ev.RequestContext.HTTP, ev.RequestContext.RequestID)
		}
		if m := strings.Fields(ev.RouteKey)[0]; m != "ANY" && m != ev.RequestContext.HTTP.Method {
			t.Errorf("%s: routeKey %q for method %s", name, ev.RouteKey, ev.RequestContext.HTTP.Method)
		}
		for k := range ev.Headers {
			if k != strings.ToLower(k) {
				t.Errorf("%s: header %q is not lower-case, as HTTP APIs send them", name, k)
			}
		}
	}
}

// TestHandlerOtherFunctionsRouteKey: each function serves only its own routes; an event with
// another function's route key is a 404, and changes nothing.
func TestHandlerOtherFunctionsRouteKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.prepare(t, "pending")
	seen := map[string]bool{}
	for _, c := range handlerCases {
		if seen[c.file] {
			continue
		}
		seen[c.file] = true
		ev := b.load(t, c.file, id)
		for _, f := range apigw.Functions() {
			if f == c.function {
				continue
			}
			resp, err := b.app.Handler(f).Handle(context.Background(), ev)
			if err != nil {
				t.Fatalf("%s to %s: %v", c.file, f, err)
			}
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s given to function %s: %d %s, want 404", c.file, f, resp.StatusCode, resp.Body)
				continue
			}
			checkProblem(t, resp, http.StatusNotFound, "*")
		}
	}
	got, err := b.app.Store.Get(context.Background(), id, time.Now())
	if err != nil || got.Status != task.Pending || got.Version != 1 {
		t.Errorf("task after misrouted events: %s v%d (%v)", got.Status, got.Version, err)
	}
	if tasks, _ := b.app.Store.List(context.Background(), task.ListQuery{Owner: tenant, SortKey: task.SortCreated, Limit: 10, Now: time.Now()}); len(tasks.Tasks) != 1 {
		t.Errorf("misrouted creates made %d tasks", len(tasks.Tasks)-1)
	}
}

// secret is what a broken store says; it must never reach a client.
const secret = "arn:aws:dynamodb:eu-west-1:123456789012:table/tasklane-prod RequestID: Q9J1K2 secret-token-hunter2"

// brokenStore panics or fails in every read.
type brokenStore struct {
	task.Store
	panics bool
}

func (s brokenStore) Get(ctx context.Context, id string, now time.Time) (task.Task, error) {
	if s.panics {
		panic("store exploded: " + secret)
	}
	return task.Task{}, errors.New("AccessDeniedException: " + secret)
}

func (s brokenStore) List(ctx context.Context, q task.ListQuery) (task.Page, error) {
	if s.panics {
		panic("store exploded: " + secret)
	}
	return task.Page{}, errors.New("AccessDeniedException: " + secret)
}

func TestHandlerStoreFailureIsOpaque500(t *testing.T) {
	t.Parallel()
	for _, panics := range []bool{true, false} {
		for _, c := range []struct{ file, function string }{
			{"get.json", function.Get},
			{"list.json", function.List},
			{"cancel.json", function.Cancel},
			{"retry.json", function.Retry},
		} {
			name := c.file + "/error"
			if panics {
				name = c.file + "/panic"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				id := b.prepare(t, "pending")
				b.app.Store = brokenStore{Store: b.app.Store, panics: panics}
				ev := b.load(t, c.file, id)
				resp, err := b.app.Handler(c.function).Handle(context.Background(), ev)
				if err != nil {
					t.Fatalf("handler returned an error (API Gateway would send a bare 500): %v", err)
				}
				if resp.StatusCode != http.StatusInternalServerError {
					t.Fatalf("status %d, want 500: %s", resp.StatusCode, resp.Body)
				}
				checkProblem(t, resp, http.StatusInternalServerError, "INTERNAL")
				for _, leak := range []string{"hunter2", "arn:aws", "RequestID", "exploded", "AccessDenied", "goroutine", ".go:"} {
					if strings.Contains(resp.Body, leak) {
						t.Errorf("500 body shows %q: %s", leak, resp.Body)
					}
					for k, v := range resp.Headers {
						if strings.Contains(v, leak) {
							t.Errorf("500 header %s shows %q", k, leak)
						}
					}
				}
				reqID := ev.RequestContext.RequestID
				if v := ev.Headers["x-request-id"]; v != "" {
					reqID = v
				}
				if resp.Headers["X-Request-Id"] != reqID || !strings.Contains(body(t, resp)["detail"].(string), reqID) {
					t.Errorf("500 does not give the request id %q to quote: %v %s", reqID, resp.Headers, resp.Body)
				}
			})
		}
	}
}

// TestHandlerRefusesBadTokens sends get.json with its token replaced: every bad token is a
// 401 UNAUTHENTICATED problem with the RFC 6750 challenge and the request id, whose detail
// does not say which check failed.
func TestHandlerRefusesBadTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := authtest.NewIssuer(t)
	id := b.prepare(t, "pending")
	b.iss.AddKey(t, "unpublished", "RS256", false)
	good := b.iss.Token(map[string]any{"tenant": tenant})
	claims := func(kv ...any) map[string]any {
		m := map[string]any{"tenant": tenant}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name, authorization, challenge string
	}{
		{"no header", "", "Bearer"},
		{"not bearer", "Basic dXNlcjpwYXNz", "Bearer"},
		{"dev token", "Bearer dev:tenant-a:admin", `Bearer error="invalid_token"`},
		{"malformed", "Bearer not.a.jwt", `Bearer error="invalid_token"`},
		{"expired", "Bearer " + b.iss.Token(claims("exp", time.Now().Add(-time.Hour).Unix())), `Bearer error="invalid_token"`},
		{"wrong audience", "Bearer " + b.iss.Token(claims("aud", "another-api")), `Bearer error="invalid_token"`},
		{"wrong issuer", "Bearer " + other.Token(claims()), `Bearer error="invalid_token"`},
		{"unknown kid", "Bearer " + b.iss.TokenWithKey("unpublished", claims()), `Bearer error="invalid_token"`},
		{"alg none", "Bearer " + b.iss.Unsigned(claims()), `Bearer error="invalid_token"`},
		{"HS256 with the public key", "Bearer " + b.iss.HS256WithPublicKey(claims()), `Bearer error="invalid_token"`},
		{"tampered", "Bearer " + authtest.Tamper(good, map[string]any{"roles": []string{"admin"}}), `Bearer error="invalid_token"`},
		{"tenant too long", "Bearer " + b.iss.Token(claims("tenant", strings.Repeat("t", 129))), `Bearer error="invalid_token"`},
		{"tenant of 70 kB", "Bearer " + b.iss.Token(claims("tenant", strings.Repeat("t", 70<<10))), `Bearer error="invalid_token"`},
		{"tenant with bad characters", "Bearer " + b.iss.Token(claims("tenant", "tenant-a#I")), `Bearer error="invalid_token"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := b.load(t, "get.json", id)
			if c.authorization == "" {
				delete(ev.Headers, "authorization")
			} else {
				ev.Headers["authorization"] = c.authorization
			}
			resp, err := b.app.Handler(function.Get).Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", resp.StatusCode, resp.Body)
			}
			checkProblem(t, resp, http.StatusUnauthorized, "UNAUTHENTICATED")
			wantHeaders(t, resp, map[string]string{"WWW-Authenticate": c.challenge, "X-Request-Id": ev.Headers["x-request-id"]})
			detail, _ := body(t, resp)["detail"].(string)
			for _, leak := range []string{"exp", "aud", "iss", "kid", "alg", "signature", "tenant", "dev"} {
				if strings.Contains(detail, leak) {
					t.Errorf("detail %q says %q; the reason is for the log only", detail, leak)
				}
			}
		})
	}
	// The same event with its good token is served: the refusals are the token's doing.
	ev := b.load(t, "get.json", id)
	if resp, _ := b.app.Handler(function.Get).Handle(context.Background(), ev); resp.StatusCode != http.StatusOK {
		t.Errorf("good token: %d %s", resp.StatusCode, resp.Body)
	}
}

// TestHandlerIgnoresAuthorizerClaims: claims in the event's requestContext (what API
// Gateway's JWT authorizer used to pass) are not credentials; only the verified token is.
func TestHandlerIgnoresAuthorizerClaims(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.prepare(t, "pending")
	ev := b.load(t, "get.json", id)
	delete(ev.Headers, "authorization")
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"tenant": tenant, "roles": "[admin]"}},
	}
	resp, err := b.app.Handler(function.Get).Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d (%v), want 401: %s", resp.StatusCode, err, resp.Body)
	}
	// A token of another tenant is not overridden by the claims either.
	ev.Headers["authorization"] = "Bearer " + b.iss.Token(map[string]any{"tenant": "tenant-b"})
	if resp, _ := b.app.Handler(function.Get).Handle(context.Background(), ev); resp.StatusCode != http.StatusNotFound {
		t.Errorf("tenant-b's token with tenant-a's authorizer claims: %d, want 404", resp.StatusCode)
	}
}

// TestHandlerPrincipalFromToken: the token's claims make the principal (owner, admin).
func TestHandlerPrincipalFromToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ev := b.load(t, "create.json", "")
	ev.Headers["authorization"] = "Bearer " + b.iss.Token(map[string]any{"tenant": "acme@corp.example", "roles": "ops admin"})
	resp, err := b.app.Handler(function.Create).Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	if b := body(t, resp); b["owner"] != "acme@corp.example" {
		t.Errorf("owner %v, want the token's tenant", b["owner"])
	}
}
