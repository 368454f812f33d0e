package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"encoding/json"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/whsec"
)

// DefaultTimeout is a lambda or http step's time limit when the catalog gives none.
const DefaultTimeout = 30 * time.Second

// HTTP POSTs the step's Document to URL and maps the answer: 2xx is success with the body as
// the output (see output); 408, 429, 5xx, network errors and the step's timeout fail the
// attempt as retryable; any other status fails the step for good, as does an address the
// client refuses (see NewHTTPClient). With a Secret, each request is signed as Standard
// Webhooks signs a webhook (see sign).
type HTTP struct {
	URL string
	// Timeout bounds the whole request, the body read included; 0 means DefaultTimeout.
	Timeout time.Duration
	// Client sends the requests: NewHTTPClient's, which refuses private addresses.
	Client *http.Client
	// Secret is the signing key (settings parses STEP_SIGNING_SECRET at start-up); the zero
	// Secret: requests are not signed.
	Secret whsec.Secret
	// Now stamps the signature (webhook-timestamp).
	Now func() time.Time
}

// Execute performs one attempt.
func (h HTTP) Execute(ctx context.Context, a task.Attempt) (json.RawMessage, error) {
	body, err := NewDocument(a).Encode()
	if err != nil {
		return nil, err
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return nil, &task.CodedError{Code: "STEP_HTTP_REQUEST_INVALID", Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Tasklane")
	if h.Secret.Valid() {
		now := time.Now
		if h.Now != nil {
			now = h.Now
		}
		id := fmt.Sprintf("%s-%d-%d-%d", a.Task.ID, a.Index, a.Task.RetryCount, a.Attempt)
		for k, v := range h.Secret.SignedHeaders(id, now(), body) { // one timestamp, signed and sent
			req.Header.Set(k, v)
		}
	}
	client := h.Client
	if client == nil {
		client = NewHTTPClient(false)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, h.sendError(ctx, rctx, timeout, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, MaxOutput+1))
	if err != nil {
		return nil, h.sendError(ctx, rctx, timeout, err)
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return output(got)
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return nil, task.Retryable(&task.CodedError{Code: "STEP_HTTP_STATUS", Message: fmt.Sprintf("POST %s answered %s", h.URL, resp.Status)})
	default:
		return nil, &task.CodedError{Code: "STEP_HTTP_STATUS", Message: fmt.Sprintf("POST %s answered %s%s", h.URL, resp.Status, excerpt(got))}
	}
}

// sendError maps a failed request: a refused address for good, the step's own timeout and
// network errors as retryable.
func (h HTTP) sendError(ctx, rctx context.Context, timeout time.Duration, err error) error {
	var refused *AddressRefusedError
	switch {
	case errors.As(err, &refused):
		return &task.CodedError{Code: "STEP_ADDRESS_REFUSED", Message: refused.Error()}
	case ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded):
		return task.Retryable(&task.CodedError{Code: "STEP_TIMED_OUT", Message: fmt.Sprintf("POST %s did not answer within %s", h.URL, timeout)})
	}
	return task.Retryable(&task.CodedError{Code: "STEP_HTTP_UNREACHABLE", Message: err.Error()})
}

// excerpt is the start of an error answer's body for the task's error message.
func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return ": " + s
}

// AddressRefusedError is a connection the http executor's client would not open.
type AddressRefusedError struct {
	Addr netip.Addr
}

func (e *AddressRefusedError) Error() string {
	return fmt.Sprintf("%s is not a public address; http steps only reach public ones", e.Addr)
}

// NewHTTPClient is the http executor's client. It refuses to connect to anything but public
// unicast addresses (no private, loopback, link-local, e.g. the instance metadata service,
// carrier-grade NAT, multicast or unspecified ones), checked on the address actually dialled
// so that neither a DNS name nor a redirect can lead it inside; allowLoopback lets it reach
// this machine too, for `make run` and tests. It uses no proxy and follows no redirect (a 3xx
// is the step's answer, a permanent failure).
func NewHTTPClient(allowLoopback bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		return checkAddress(address, allowLoopback)
	}}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     60 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func checkAddress(address string, allowLoopback bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() && allowLoopback {
		return nil
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() || cgnat.Contains(a) {
		return &AddressRefusedError{Addr: a}
	}
	return nil
}
