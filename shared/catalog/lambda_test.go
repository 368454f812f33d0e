package catalog_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/lambdainvoke"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

const lambdaCatalog = `{"taskTypes": [{"name": "thumb", "description": "d", "maxAttempts": 3,
  "steps": [{"name": "Resize", "lambda": {"function": "arn:aws:lambda:eu-west-1:123456789012:function:resize"}}]}]}`

// TestLambdaStepThroughTheWorker: a lambda step against a stub Lambda Invoke endpoint: a
// retryable function error is retried and the next answer is the result; a function error
// whose payload says "retryable": false fails the task at once.
func TestLambdaStepThroughTheWorker(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var mode atomic.Value
	mode.Store("flaky")
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if !strings.HasSuffix(r.URL.EscapedPath(), "function%3Aresize/invocations") {
			http.Error(w, `{"message":"no such function"}`, http.StatusNotFound)
			return
		}
		switch {
		case mode.Load() == "broken":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = io.WriteString(w, `{"errorMessage":"not an image","errorType":"ValueError","retryable":false}`)
		case n == 1:
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = io.WriteString(w, `{"errorMessage":"out of memory","errorType":"Runtime.OutOfMemory"}`)
		default:
			_, _ = io.WriteString(w, `{"key":"thumbs/cat.png"}`)
		}
	}))
	t.Cleanup(stub.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	deps := apptest.OpenEmbedded(t)
	reg, err := tasktypes.New([]byte(lambdaCatalog), catalog.Runtime{Lambda: &lambdainvoke.Client{Config: cfg, Endpoint: stub.URL}})
	if err != nil {
		t.Fatal(err)
	}
	deps.Types = reg
	b := &bundle{t: t, deps: deps, now: deps.Now()}
	deps.Now = b.clock
	run := func() task.Task {
		tk, err := b.create("thumb", `{}`)
		if err != nil {
			t.Fatal(err)
		}
		return b.run(tk.ID, 3)
	}
	got := run()
	if got.Status != task.Success || got.SubTasks[0].Attempts != 2 || string(got.Result) != `{"key":"thumbs/cat.png"}` {
		t.Errorf("%s after %d attempts, result %s, errors %+v; want success after 2", got.Status, got.SubTasks[0].Attempts, got.Result, got.Errors)
	}
	if len(got.Errors) != 1 || got.Errors[0].ErrorCode != "STEP_FUNCTION_ERROR" || !strings.Contains(got.Errors[0].Message, "out of memory") {
		t.Errorf("errors %+v, want the first attempt's STEP_FUNCTION_ERROR", got.Errors)
	}
	mode.Store("broken")
	got = run()
	if got.Status != task.Failure || got.SubTasks[0].Attempts != 1 || got.Errors[0].ErrorCode != "STEP_FUNCTION_ERROR" {
		t.Errorf("%s after %d attempts, errors %+v; want failure after 1", got.Status, got.SubTasks[0].Attempts, got.Errors)
	}
}
