package fault_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tasklane/tasklane/shared/fault"
)

// TestTransportLosesAnswers: a request the transport loses reaches the server (it is applied)
// and its caller gets a 500; other requests pass through untouched.
func TestTransportLosesAnswers(t *testing.T) {
	t.Parallel()
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("echo:"), b...))
	}))
	defer srv.Close()
	tr := fault.NewTransport(nil)
	client := &http.Client{Transport: tr}
	call := func(op, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := call("PutItem", "a"); code != 200 || body != "echo:a" {
		t.Fatalf("without a fault: %d %q", code, body)
	}
	tr.LoseIf(func(op string, body []byte) bool { return op == "PutItem" && string(body) == "b" })
	if code, body := call("PutItem", "b"); code != 500 || !strings.Contains(body, "InternalServerError") {
		t.Errorf("lost answer: %d %q, want a 500 InternalServerError", code, body)
	}
	if code, body := call("GetItem", "b"); code != 200 || body != "echo:b" {
		t.Errorf("another operation: %d %q, want it through", code, body)
	}
	if n := served.Load(); n != 3 {
		t.Errorf("the server saw %d requests, want 3: a lost answer's request is still served", n)
	}
	if got := tr.Lost(); !slices.Equal(got, []string{"PutItem"}) {
		t.Errorf("Lost() = %v, want [PutItem]", got)
	}
}
