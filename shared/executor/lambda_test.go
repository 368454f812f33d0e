package executor_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/lambdainvoke"
)

const arn = "arn:aws:lambda:eu-west-1:123456789012:function:render"

// stubLambda is an httptest server speaking Lambda's Invoke API (POST
// /2015-03-31/functions/{name}/invocations) as far as the executor uses it: answer gives
// each invocation's status, headers and body.
type stubLambda struct {
	srv      *httptest.Server
	mu       sync.Mutex
	paths    []string
	auths    []string
	payloads []string
}

func newStubLambda(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*stubLambda, executor.Lambda) {
	t.Helper()
	s := &stubLambda{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.paths = append(s.paths, r.Method+" "+r.URL.EscapedPath())
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.payloads = append(s.payloads, string(b))
		s.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(s.srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	client := &lambdainvoke.Client{Config: cfg, Endpoint: s.srv.URL}
	return s, executor.Lambda{Function: arn, Client: client}
}

func lambdaAnswer(status int, headers map[string]string, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// TestLambdaSuccess: the function is invoked (through lambdainvoke's signed Invoke call) with the step's document and its answer is the
// output.
func TestLambdaSuccess(t *testing.T) {
	t.Parallel()
	s, l := newStubLambda(t, lambdaAnswer(200, nil, `{"url":"s3://bucket/cat-64.png"}`))
	out, err := l.Execute(ctx(t), attempt())
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if string(out) != `{"url":"s3://bucket/cat-64.png"}` {
		t.Errorf("output %s", out)
	}
	if want := "POST /2015-03-31/functions/" + strings.ReplaceAll(arn, ":", "%3A") + "/invocations"; len(s.paths) != 1 || s.paths[0] != want {
		t.Errorf("requests %v, want %s", s.paths, want)
	}
	if !strings.HasPrefix(s.auths[0], "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(s.auths[0], "/eu-west-1/lambda/aws4_request") {
		t.Errorf("Authorization %q, want a SigV4 signature for lambda in eu-west-1", s.auths[0])
	}
	if d := cmp.Diff(wantDoc, strings.TrimSpace(s.payloads[0])); d != "" {
		t.Errorf("payload (-want +got):\n%s", d)
	}
}

// TestLambdaErrors: function errors are retryable unless their payload says "retryable":
// false; throttling and 5xx are retryable; other refusals fail for good.
func TestLambdaErrors(t *testing.T) {
	t.Parallel()
	apiErr := func(status int, typ string) func(http.ResponseWriter, *http.Request) {
		return lambdaAnswer(status, map[string]string{"X-Amzn-Errortype": typ, "Content-Type": "application/json"}, `{"message":"`+typ+`","Type":"User"}`)
	}
	fnErr := map[string]string{"X-Amz-Function-Error": "Unhandled"}
	for _, c := range []struct {
		name      string
		answer    func(http.ResponseWriter, *http.Request)
		code      string
		retryable bool
	}{
		{"function error", lambdaAnswer(200, fnErr, `{"errorMessage":"disk full","errorType":"IOError"}`), "STEP_FUNCTION_ERROR", true},
		{"function error, not retryable", lambdaAnswer(200, fnErr, `{"errorMessage":"bad image","errorType":"ValueError","retryable":false}`), "STEP_FUNCTION_ERROR", false},
		{"function error, no object", lambdaAnswer(200, fnErr, `"crashed"`), "STEP_FUNCTION_ERROR", true},
		{"throttled", apiErr(429, "TooManyRequestsException"), "STEP_LAMBDA_THROTTLED", true},
		{"service error", apiErr(500, "ServiceException"), "STEP_LAMBDA_UNAVAILABLE", true},
		{"no such function", apiErr(404, "ResourceNotFoundException"), "STEP_LAMBDA_REFUSED", false},
		{"access denied", apiErr(403, "AccessDeniedException"), "STEP_LAMBDA_REFUSED", false},
	} {
		_, l := newStubLambda(t, c.answer)
		_, err := l.Execute(ctx(t), attempt())
		if got, retryable := code(err); got != c.code || retryable != c.retryable {
			t.Errorf("%s: %s retryable=%v (%v), want %s retryable=%v", c.name, got, retryable, err, c.code, c.retryable)
		}
	}
}

// TestLambdaTimeoutAndUnreachable: an invocation that does not answer within the step's
// timeout, and an endpoint that cannot be reached, are retryable.
func TestLambdaTimeoutAndUnreachable(t *testing.T) {
	t.Parallel()
	_, l := newStubLambda(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	l.Timeout = 100 * time.Millisecond
	_, err := l.Execute(ctx(t), attempt())
	if got, retryable := code(err); got != "STEP_TIMED_OUT" || !retryable {
		t.Errorf("slow function: %s retryable=%v (%v)", got, retryable, err)
	}
	s, l := newStubLambda(t, lambdaAnswer(200, nil, "{}"))
	s.srv.Close()
	_, err = l.Execute(ctx(t), attempt())
	if got, retryable := code(err); got != "STEP_LAMBDA_UNREACHABLE" || !retryable {
		t.Errorf("closed endpoint: %s retryable=%v (%v)", got, retryable, err)
	}
	_, err = executor.Lambda{Function: arn}.Execute(ctx(t), attempt())
	if got, retryable := code(err); got != "STEP_LAMBDA_NOT_CONFIGURED" || retryable {
		t.Errorf("no client: %s retryable=%v (%v)", got, retryable, err)
	}
}
