package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/embedded"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// TestLogLinesNameRequestTaskAndTenant: a line the API logs for a request, and a line
// logged deep in the worker's write of a message (a failing hook's), carry the request id,
// the task id and the tenant, though none of the code that logs them passes them.
func TestLogLinesNameRequestTaskAndTenant(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s := settings.Settings{DataFile: filepath.Join(t.TempDir(), "tasklane.db"), MarkerSecret: []byte("0123456789abcdef0123")}
	b, err := embedded.Open(s)
	if err != nil {
		t.Fatal(err)
	}
	types, err := tasktypes.Registry()
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(s, b, types, slog.New(slog.NewJSONHandler(&out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ctx := context.Background()

	// The API: a create, then a poll of a task of another tenant (refused, 404, logged).
	h := a.Handler("")
	resp, err := h.Handle(ctx, events.APIGatewayV2HTTPRequest{RawPath: "/v1/tasks", Body: `{"type":"demo"}`,
		Headers:        map[string]string{"content-type": "application/json", "authorization": "Bearer dev:tenant-a", "x-request-id": "req-create"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}})
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("create: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
		t.Fatal(err)
	}
	resp, _ = h.Handle(ctx, events.APIGatewayV2HTTPRequest{RawPath: "/v1/tasks/" + created.ID,
		Headers:        map[string]string{"authorization": "Bearer dev:tenant-b", "x-request-id": "req-get"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}})
	if resp.StatusCode != 404 {
		t.Fatalf("another tenant's get: %d %s", resp.StatusCode, resp.Body)
	}

	// The worker: a hook that fails logs from inside the task's write.
	w := a.Worker()
	w.Hooks = append(w.Hooks, task.HookFunc(func(context.Context, task.Stored) error { return errors.New("hook down") }))
	lctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
	if _, err := w.Handle(lctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "msg-1", Body: queue.Message{TaskID: created.ID}.Encode()}}}); err != nil {
		t.Fatal(err)
	}

	want := []map[string]string{
		{"msg": "request refused", "requestId": "req-get", "tenant": "tenant-b", "taskId": created.ID},
		{"msg": "hook failed after a stored change; the change stands", "requestId": "lambda-req-1", "tenant": "tenant-a", "taskId": created.ID, "messageId": "msg-1"},
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) != nil || m["msg"] != w["msg"] {
				continue
			}
			found = true
			for k, v := range w {
				if m[k] != v {
					t.Errorf("%q: %s = %v, want %s", w["msg"], k, m[k], v)
				}
			}
			break
		}
		if !found {
			t.Errorf("no line %q in:\n%s", w["msg"], out.String())
		}
	}
}
