package contracttest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The edges of HTTP itself, on raw connections: what the local runner answers when a client
// half-closes, breaks the chunked framing, sends headers over the limit or stalls in its
// body. Every answer follows the contract (problem+json with X-Request-Id), and a create
// does not depend on the client staying connected.

// raw sends req as is on a new connection to e (half-closing it after if halfClose) and reads
// one response; write runs concurrently with the read, so that a server answering before it
// read everything is seen.
func (e *env) raw(req string, halfClose bool) reply {
	e.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	go func() {
		if _, err := io.WriteString(c, req); err == nil && halfClose {
			_ = c.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatalf("no response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("response body: %v", err)
	}
	rep := reply{status: resp.StatusCode, header: resp.Header, body: body}
	if line := strings.Fields(req); len(line) >= 2 {
		if err := e.conform(line[0], line[1], rep); err != nil {
			e.t.Error(err)
		}
	}
	return rep
}

func rawCreate(body string, extra ...string) string {
	return "POST /v1/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
		strings.Join(extra, "") + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

// TestHalfClosedCreate: a client that sends its create and half-closes its side (shutdown
// write, as `curl` may and as proxies do) still gets its 202, and its task runs. net/http
// cancels the request's context when it reads EOF after the body; the function must run
// on regardless, as in Lambda, or the create fails with a 500 or writes its task without
// sending its message.
func TestHalfClosedCreate(t *testing.T) {
	t.Parallel()
	e := setup(t, "embedded")
	body := `{"type":"demo","name":"half-closed","input":{"steps":[{"name":"A"}]}}`
	var ids []string
	for i := 0; i < 10; i++ {
		r := e.raw(rawCreate(body), true)
		if r.status != http.StatusAccepted {
			t.Fatalf("half-closed create %d: %d %s", i, r.status, r.body)
		}
		ids = append(ids, r.json(t)["id"].(string))
	}
	for _, id := range ids {
		e.waitStatus(id, "success")
	}
}

func TestBadChunkedBody(t *testing.T) {
	t.Parallel()
	e := setup(t, "embedded", noWorker)
	for name, chunks := range map[string]string{
		"bad chunk size":      "zz\r\n{}\r\n0\r\n\r\n",
		"no CRLF after chunk": "2\r\n{}XX0\r\n\r\n",
		"ends mid-chunk":      "10\r\n{}",
	} {
		t.Run(name, func(t *testing.T) {
			req := "POST /v1/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
				"X-Request-Id: chunky-1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
			r := e.raw(req, true)
			problem(t, r, http.StatusBadRequest, "VALIDATION_FAILED")
			if got := r.header.Get("X-Request-Id"); got != "chunky-1" {
				t.Errorf("X-Request-Id %q, want the client's chunky-1", got)
			}
		})
	}
}

// TestMalformedRequest: what net/http refuses before any handler runs is problem+json too.
func TestMalformedRequest(t *testing.T) {
	t.Parallel()
	e := setup(t, "embedded", noWorker)
	for name, c := range map[string]struct {
		req    string
		status int
	}{
		"no Host":                {"GET /v1/tasks HTTP/1.1\r\n\r\n", http.StatusBadRequest},
		"header without a colon": {"GET /v1/tasks HTTP/1.1\r\nHost: localhost\r\nNonsense\r\n\r\n", http.StatusBadRequest},
		"unknown coding":         {"POST /v1/tasks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: rot13\r\n\r\n", http.StatusNotImplemented},
	} {
		t.Run(name, func(t *testing.T) {
			problem(t, e.raw(c.req, false), c.status, map[int]string{400: "VALIDATION_FAILED", 501: "NOT_IMPLEMENTED"}[c.status])
		})
	}
}

func TestOversizedHeaders(t *testing.T) {
	t.Parallel()
	e := setup(t, "embedded", noWorker)
	t.Run("over API Gateway's limit", func(t *testing.T) {
		// Answered by the handler, which echoes the request id.
		r := e.raw("GET /v1/tasks HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: big-1\r\nX-Pad: "+strings.Repeat("a", 12<<10)+"\r\n\r\n", false)
		problem(t, r, http.StatusRequestHeaderFieldsTooLarge, "REQUEST_HEADER_FIELDS_TOO_LARGE")
		if got := r.header.Get("X-Request-Id"); got != "big-1" {
			t.Errorf("X-Request-Id %q, want the client's big-1", got)
		}
	})
	t.Run("over net/http's limit", func(t *testing.T) {
		// net/http answers before any handler runs; the listener makes it problem+json.
		r := e.raw("GET /v1/tasks HTTP/1.1\r\nHost: localhost\r\nX-Pad: "+strings.Repeat("a", 100<<10)+"\r\n\r\n", false)
		problem(t, r, http.StatusRequestHeaderFieldsTooLarge, "REQUEST_HEADER_FIELDS_TOO_LARGE")
	})
	t.Run("under the limit", func(t *testing.T) {
		r := e.raw("GET /v1/tasks HTTP/1.1\r\nHost: localhost\r\nX-Pad: "+strings.Repeat("a", 8<<10)+"\r\nConnection: close\r\n\r\n", false)
		if r.status != http.StatusOK {
			t.Errorf("8 KiB of headers: %d %s", r.status, r.body)
		}
	})
}

// TestStalledBody: a client that announces a body and stops sending gets 408 once the body
// timeout is over, instead of holding the connection (and a handler) forever.
func TestStalledBody(t *testing.T) {
	t.Parallel()
	e := setup(t, "embedded", noWorker, func(o *options) { o.bodyTimeout = 300 * time.Millisecond })
	start := time.Now()
	req := "POST /v1/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Request-Id: slow-1\r\nContent-Length: 100\r\n\r\n{\"type\":"
	r := e.raw(req, false)
	problem(t, r, http.StatusRequestTimeout, "REQUEST_TIMEOUT")
	if got := r.header.Get("X-Request-Id"); got != "slow-1" {
		t.Errorf("X-Request-Id %q, want the client's slow-1", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("408 after %v", d)
	}
	// The connection after a stalled body is closed; the server still serves others.
	ok := e.do("GET", "/v1/tasks", nil)
	if ok.status != http.StatusOK {
		t.Errorf("list after a stalled body: %d", ok.status)
	}
	var p map[string]any
	_ = json.Unmarshal(r.body, &p)
	if d, _ := p["detail"].(string); !strings.Contains(d, "300ms") {
		t.Errorf("detail %q does not say the timeout", d)
	}
}
