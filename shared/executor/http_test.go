package executor_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/whsec"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is a test endpoint: it records each request and answers with status and body.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
	heads  []http.Header
}

// setup starts a receiver answering with handle.
func setup(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, string(b))
		rc.heads = append(rc.heads, r.Header.Clone())
		rc.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) step(timeout time.Duration) executor.HTTP {
	return executor.HTTP{URL: rc.srv.URL + "/render", Timeout: timeout, Client: executor.NewHTTPClient(true), Secret: mustSecret(secret),
		Now: func() time.Time { return time.Unix(1700000000, 0) }}
}

func answer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// TestHTTPSuccess: the step POSTs the document, signed as Standard Webhooks sign, and a 2xx
// answer's body is the output (JSON as is, text as a JSON string, nothing as no output).
func TestHTTPSuccess(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ body, want string }{
		{`{"url":"https://cdn.example.com/cat-64.png"}`, `{"url":"https://cdn.example.com/cat-64.png"}`},
		{`done`, `"done"`},
		{``, ``},
	} {
		rc := setup(t, answer(http.StatusOK, c.body))
		out, err := rc.step(0).Execute(ctx(t), attempt())
		if err != nil {
			t.Fatalf("Execute: %v", err)
		}
		if string(out) != c.want {
			t.Errorf("output %q, want %q", out, c.want)
		}
		if d := cmp.Diff(wantDoc, strings.TrimSpace(rc.bodies[0])); d != "" {
			t.Errorf("document (-want +got):\n%s", d)
		}
		h := rc.heads[0]
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", h.Get("webhook-id"), h.Get("webhook-timestamp"), rc.bodies[0])
		if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); h.Get("webhook-signature") != want || h.Get("webhook-timestamp") != "1700000000" {
			t.Errorf("signature headers %v, want signature %s", h, want)
		}
		if h.Get("webhook-id") != "01JTASK-1-1-2" || h.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", h)
		}
	}
}

// TestHTTPStatusMapping: 408, 429 and 5xx are retryable; other 4xx and 3xx fail for good.
func TestHTTPStatusMapping(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status    int
		retryable bool
	}{{408, true}, {429, true}, {500, true}, {503, true}, {400, false}, {404, false}, {422, false}, {302, false}} {
		rc := setup(t, answer(c.status, `{"why":"no"}`))
		_, err := rc.step(0).Execute(ctx(t), attempt())
		if got, retryable := code(err); got != "STEP_HTTP_STATUS" || retryable != c.retryable {
			t.Errorf("%d: %s retryable=%v (%v), want STEP_HTTP_STATUS retryable=%v", c.status, got, retryable, err, c.retryable)
		}
	}
}

// TestHTTPTimeoutAndNetworkErrors: an endpoint that does not answer within the step's timeout,
// or cannot be reached, fails the attempt as retryable.
func TestHTTPTimeoutAndNetworkErrors(t *testing.T) {
	t.Parallel()
	rc := setup(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	start := time.Now()
	_, err := rc.step(100*time.Millisecond).Execute(ctx(t), attempt())
	if got, retryable := code(err); got != "STEP_TIMED_OUT" || !retryable {
		t.Errorf("slow endpoint: %s retryable=%v (%v), want STEP_TIMED_OUT retryable", got, retryable, err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("the timeout took %v", time.Since(start))
	}
	gone := setup(t, answer(200, ""))
	gone.srv.Close()
	_, err = gone.step(0).Execute(ctx(t), attempt())
	if got, retryable := code(err); got != "STEP_HTTP_UNREACHABLE" || !retryable {
		t.Errorf("closed endpoint: %s retryable=%v (%v), want STEP_HTTP_UNREACHABLE retryable", got, retryable, err)
	}
}

// TestHTTPRefusesPrivateAddresses: the deployed client does not connect to loopback (nor any
// non-public address): the step fails for good, and nothing reaches the endpoint.
func TestHTTPRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	rc := setup(t, answer(200, "{}"))
	h := rc.step(0)
	h.Client = executor.NewHTTPClient(false)
	_, err := h.Execute(ctx(t), attempt())
	if got, retryable := code(err); got != "STEP_ADDRESS_REFUSED" || retryable {
		t.Errorf("loopback endpoint: %s retryable=%v (%v), want STEP_ADDRESS_REFUSED for good", got, retryable, err)
	}
	if len(rc.bodies) != 0 {
		t.Error("the request reached the endpoint")
	}
}

// TestHTTPOutputTooLarge: an answer beyond MaxOutput fails the step for good.
func TestHTTPOutputTooLarge(t *testing.T) {
	t.Parallel()
	rc := setup(t, answer(200, `"`+strings.Repeat("x", executor.MaxOutput)+`"`))
	_, err := rc.step(0).Execute(ctx(t), attempt())
	if got, retryable := code(err); got != "STEP_OUTPUT_TOO_LARGE" || retryable {
		t.Errorf("%s retryable=%v, want STEP_OUTPUT_TOO_LARGE for good", got, retryable)
	}
}

// TestHTTPStopsWithItsContext: the step's context ending (the worker's deadline reserve) ends
// the request at once.
func TestHTTPStopsWithItsContext(t *testing.T) {
	t.Parallel()
	rc := setup(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c, cancel := context.WithTimeout(ctx(t), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := rc.step(time.Minute).Execute(c, attempt()); err == nil {
		t.Fatal("no error")
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("the request outlived its context by %v", time.Since(start))
	}
}

// mustSecret is the parsed secret, as settings hands it to the executors.
func mustSecret(s string) whsec.Secret {
	sec, err := whsec.ParseSecret(s)
	if err != nil {
		panic(err)
	}
	return sec
}
