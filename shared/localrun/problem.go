package localrun

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tasklane/tasklane/shared/apigw"
)

// What the local runner answers itself, before or instead of a function (a request it
// cannot read, a body that stalls, headers over the limit), is problem+json with an
// X-Request-Id like every answer of the API, not net/http's text/plain.

// ProblemCode is the errorCode of a status the local runner answers itself: 400 is the
// contract's VALIDATION_FAILED (the request is malformed), 500 its INTERNAL; any other is
// the status text in UPPER_SNAKE (408 REQUEST_TIMEOUT, 431
// REQUEST_HEADER_FIELDS_TOO_LARGE, 501 NOT_IMPLEMENTED).
func ProblemCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "VALIDATION_FAILED"
	case http.StatusInternalServerError, http.StatusBadGateway:
		return "INTERNAL"
	}
	return strings.ToUpper(strings.NewReplacer(" ", "_", "-", "_", "'", "").Replace(http.StatusText(status)))
}

// problemBody renders the problem document; an empty detail (a 5xx) says only to quote the
// request id, as the functions' 5xx do.
func problemBody(reqID, path string, status int, detail string) []byte {
	code := ProblemCode(status)
	if detail == "" || status >= 500 {
		detail = "An internal error occurred; quote the request id " + reqID + " when reporting it."
	}
	b, _ := json.Marshal(apigw.Problem{
		Type:      "urn:tasklane:problem:" + code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		ErrorCode: code,
		Instance:  path,
		RequestID: reqID,
	})
	return b
}

func writeProblem(w http.ResponseWriter, reqID, path string, status int, detail string) {
	b := problemBody(reqID, path, status, detail)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Request-Id", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// requestID echoes the client's X-Request-Id when it is sane (as the functions do), else
// makes one.
func requestID(client string) string {
	if client != "" && len(client) <= 200 && printable(client) {
		return client
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Listener wraps ln for HTTPServer so that the answers net/http writes itself, before any
// handler runs, are problem+json with an X-Request-Id too: a request line or header it
// cannot parse (400), headers beyond its own limit (431), a transfer coding it does not
// implement (501). net/http writes each of them in a single Write straight to the
// connection, in a fixed form (status line, Content-Type text/plain, Connection close,
// the text); a Write of exactly that form is replaced by the problem document. Its
// request was not parsed, so the request id is a fresh one, never the client's.
// Residual: a request whose headers stall gets no answer at all (net/http closes the
// connection after ReadHeaderTimeout without writing), and should net/http change the form
// of these answers, they would pass through as text/plain again (TestMalformedRequest and
// TestOversizedHeaders would fail).
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

// conn rewrites net/http's own plain-text error answers (see Listener).
type conn struct{ net.Conn }

// serverError is the form of net/http's own answers (server.go: "HTTP/1.1 " + status +
// errorHeaders + text).
var serverError = regexp.MustCompile(`\AHTTP/1\.1 ([45][0-9][0-9]) [^\r\n]*\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n([^\r\n]*)\z`)

func (c *conn) Write(p []byte) (int, error) {
	if len(p) > 512 || !(bytes.HasPrefix(p, []byte("HTTP/1.1 4")) || bytes.HasPrefix(p, []byte("HTTP/1.1 5"))) {
		return c.Conn.Write(p)
	}
	m := serverError.FindSubmatch(p)
	if m == nil {
		return c.Conn.Write(p)
	}
	status, _ := strconv.Atoi(string(m[1]))
	text := string(m[2])
	// net/http's texts repeat the status ("400 Bad Request: missing required Host header").
	if _, rest, ok := strings.Cut(text, ": "); ok && strings.HasPrefix(text, string(m[1])) {
		text = rest
	} else if strings.HasPrefix(text, string(m[1])) {
		text = ""
	}
	detail := "the request could not be parsed"
	switch {
	case status == http.StatusRequestHeaderFieldsTooLarge:
		detail = fmt.Sprintf("the request line and headers are far more than the %d bytes API Gateway accepts", MaxHeaderBytes)
	case text != "":
		detail += ": " + strings.ToLower(text[:1]) + text[1:]
	}
	reqID := requestID("")
	body := problemBody(reqID, "", status, detail)
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	fmt.Fprintf(&out, "Content-Type: application/problem+json\r\nX-Request-Id: %s\r\nContent-Length: %d\r\n", reqID, len(body))
	fmt.Fprintf(&out, "Date: %s\r\nConnection: close\r\n\r\n", time.Now().UTC().Format(http.TimeFormat))
	out.Write(body)
	if _, err := c.Conn.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite keeps net/http's half-close before it hangs up on a client still sending
// (after its 431).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
