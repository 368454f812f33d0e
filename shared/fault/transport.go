package fault

import (
	"bytes"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Transport is the network between an AWS SDK client and the service, losing answers on
// demand: a request it is told to lose reaches the service, which applies it, and the client
// is then answered 500 InternalServerError instead of the service's answer. That is the
// ambiguity DynamoDB documents for a 500 (the request may or may not have been applied), and
// what a reset connection or a timeout after the write leaves: the SDK retries the same
// request, and a conditional write's retry finds the first try's write in its way. A store
// must take that for its own success, not for a lost race (see "Writes whose answer was
// lost" in shared/dynamostore's package comment).
//
// Unlike Store's Lost, which fails above the store, Transport fails below the SDK, so that
// the SDK's own retries, and the store's handling of what they meet, are what is tested.
// Install it as the client's HTTP transport:
//
//	tr := fault.NewTransport(nil)
//	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: tr} })
//
// With no fault set it is transparent.
type Transport struct {
	inner http.RoundTripper

	mu   sync.Mutex
	lose func(op string, body []byte) bool
	lost []string
}

// NewTransport wraps inner, or http.DefaultTransport when inner is nil.
func NewTransport(inner http.RoundTripper) *Transport {
	if inner == nil {
		inner = http.DefaultTransport
	}
	return &Transport{inner: inner}
}

// LoseIf sets a function consulted on every request with its operation (Operation) and its
// body: true lets the request reach the service and then loses the answer. It runs on the
// caller's goroutine, one request at a time, so it may keep state without a lock (e.g. lose
// only the first try of each distinct write). LoseIf(nil) removes it.
func (t *Transport) LoseIf(f func(op string, body []byte) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lose = f
}

// Lost returns the operations whose answers were lost, in order, so that a test can check
// that its fault was hit at all.
func (t *Transport) Lost() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lost...)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	op := Operation(req)
	t.mu.Lock()
	lose := t.lose != nil && t.lose(op, body)
	t.mu.Unlock()
	resp, err := t.inner.RoundTrip(req)
	if err != nil || !lose {
		return resp, err
	}
	// The service has applied the request; its answer goes nowhere.
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	t.mu.Lock()
	t.lost = append(t.lost, op)
	t.mu.Unlock()
	msg := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"fault: the answer was lost"}`
	return &http.Response{
		Status:     "500 Internal Server Error",
		StatusCode: http.StatusInternalServerError,
		Proto:      resp.Proto,
		ProtoMajor: resp.ProtoMajor,
		ProtoMinor: resp.ProtoMinor,
		Header: http.Header{
			"Content-Type": {"application/x-amz-json-1.0"},
			// DynamoDB's checksum of the body, which the SDK verifies.
			"X-Amz-Crc32": {strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(msg))), 10)},
		},
		Body:          io.NopCloser(strings.NewReader(msg)),
		ContentLength: int64(len(msg)),
		Request:       req,
	}, nil
}

// Operation is the operation a request of the AWS JSON protocol calls, from its X-Amz-Target
// header ("DynamoDB_20120810.PutItem" is "PutItem"), or "" for another request.
func Operation(req *http.Request) string {
	target := req.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		return target[i+1:]
	}
	return target
}
