package contracttest_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi/datamodel"
)

// Every response the contract tests receive is also validated against the OpenAPI document
// the API serves at /v1/openapi.json (conformOpenAPI, called by conform): its status must be
// one the operation declares, its declared headers present and well-formed, its body the
// declared schema. A response with no operation in the document is one of the catch-all
// route's 404 and 405 answers or an answer the local runner makes itself in the gateway's
// place (408, 431, 501: docs/api.md), which the document leaves to the gateway.

// apiDoc is the loaded OpenAPI document of an API.
type apiDoc struct {
	v validator.Validator
	// mu: the validator's caches are filled on first use; the tests' goroutines share it.
	mu sync.Mutex
}

// compiledDocs caches validators by the served document.
var compiledDocs sync.Map // document → *apiDoc

// loadOpenAPI builds the validator of the document raw.
func loadOpenAPI(raw []byte) (*apiDoc, error) {
	if d, ok := compiledDocs.Load(string(raw)); ok {
		return d.(*apiDoc), nil
	}
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = slog.New(slog.DiscardHandler)
	doc, err := libopenapi.NewDocumentWithConfiguration(raw, cfg)
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi.json: %v", errs)
	}
	d := &apiDoc{v: v}
	compiledDocs.Store(string(raw), d)
	return d, nil
}

// gatewayStatuses are answered by the local runner in API Gateway's place, or by the gateway.
var gatewayStatuses = map[int]bool{http.StatusRequestTimeout: true, http.StatusRequestHeaderFieldsTooLarge: true,
	http.StatusNotImplemented: true, http.StatusTooManyRequests: true, http.StatusBadGateway: true, http.StatusGatewayTimeout: true}

// conformOpenAPI reports how r, the answer to method path, breaks the OpenAPI document.
func (d *apiDoc) conformOpenAPI(method, path string, r reply) error {
	if gatewayStatuses[r.status] {
		return nil
	}
	req, err := http.NewRequest(method, schemaBase+path, nil)
	if err != nil {
		return nil // a path the client could not send either (the raw tests' own bytes)
	}
	resp := &http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)), Request: req}
	d.mu.Lock()
	ok, errs := d.v.ValidateHttpResponse(req, resp)
	d.mu.Unlock()
	if ok {
		return nil
	}
	var msgs []string
	for _, e := range errs {
		if (e.ValidationType == helpers.PathValidation || e.ValidationSubType == helpers.ValidationMissingOperation) &&
			(r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed) {
			return nil // the catch-all route's answer
		}
		msg := e.Message + ": " + e.Reason
		for _, se := range e.SchemaValidationErrors {
			msg += "; " + se.FieldPath + ": " + se.Reason
		}
		msgs = append(msgs, msg)
	}
	return fmt.Errorf("%s %s: %d breaks the OpenAPI document: %s\n%s", method, path, r.status, strings.Join(msgs, " | "), r.body)
}

// TestOpenAPIConformance: the OpenAPI check can fail. Answers that break the document in
// status, header or body are refused; real ones pass.
func TestOpenAPIConformance(t *testing.T) {
	t.Parallel()
	e := setup(t, "embedded")
	id := e.create(steps(step("Only")))
	done := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil)
	created := e.do("POST", "/v1/tasks", map[string]any{"type": "demo"})
	with := func(r reply, edit func(r *reply)) reply {
		c := reply{status: r.status, header: r.header.Clone(), body: bytes.Clone(r.body)}
		edit(&c)
		return c
	}
	for _, tc := range []struct {
		name, method, path string
		r                  reply
		bad                bool
	}{
		{"task", "GET", "/v1/tasks/" + id + "?redirect=false", done, false},
		{"created", "POST", "/v1/tasks", created, false},
		{"an undeclared status", "GET", "/v1/tasks/" + id, with(done, func(r *reply) { r.status = http.StatusCreated }), true},
		{"no ETag", "GET", "/v1/tasks/" + id, with(done, func(r *reply) { r.header.Del("ETag") }), true},
		{"no X-Request-Id", "GET", "/v1/tasks/" + id, with(done, func(r *reply) { r.header.Del("X-Request-Id") }), true},
		{"a Retry-After of 0", "POST", "/v1/tasks", with(created, func(r *reply) { r.header.Set("Retry-After", "0") }), true},
		{"a created task without Location", "POST", "/v1/tasks", with(created, func(r *reply) { r.header.Del("Location") }), true},
		{"a body that is no task", "GET", "/v1/tasks/" + id, with(done, func(r *reply) { r.body = []byte(`{"id":1}`) }), true},
	} {
		err := e.doc.conformOpenAPI(tc.method, tc.path, tc.r)
		if (err != nil) != tc.bad {
			t.Errorf("%s: conformOpenAPI = %v, want an error: %v", tc.name, err, tc.bad)
		}
	}
}
