package contracttest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/embedded"
	"github.com/tasklane/tasklane/shared/localrun"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// The contract tests run every behaviour of the API through HTTP against the local runner
// (the same handlers Lambda runs), once on the embedded backends (file store, in-process
// queue) and once on DynamoDB and SQS (the emulators `make test` starts).
var backends = []string{"embedded", "aws"}

// env is one running Tasklane: HTTP server, worker, dependencies and clock.
type env struct {
	t       *testing.T
	backend string
	url     string
	deps    *app.App
	clock   *tasktest.Clock
	schemas *schemas // what every response is validated against (schema_test.go)
	doc     *apiDoc  // and the OpenAPI document (openapi_test.go)
	stop    context.CancelFunc
	stopped chan struct{}
}

// options change what setup builds.
type options struct {
	noWorker bool                          // leave tasks pending
	wrap     func(queue.Queue) queue.Queue // fault injection around the work queue
	types    []task.Type                   // registered besides demo
	// bodyTimeout is the server's BodyTimeout (0: its default).
	bodyTimeout time.Duration
	// backoff is the worker's BackoffBase (0: none).
	backoff time.Duration
}

// eachBackend runs f as a parallel subtest per backend.
func eachBackend(t *testing.T, f func(t *testing.T, e *env), opts ...func(*options)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, setup(t, b, opts...))
		})
	}
}

func noWorker(o *options) { o.noWorker = true }

// setup starts a fresh Tasklane on backend: a new file or a new table and queues.
func setup(t *testing.T, backend string, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	cfg := settings.Settings{
		DataFile:     t.TempDir() + "/tasklane.db",
		MarkerSecret: []byte("contract-test-secret"),
		BackoffBase:  o.backoff,
	}
	cfg.Claims.Tenant, cfg.Claims.Roles = "tenant", "roles"
	wait := 20 * time.Millisecond
	var b app.Backends
	var err error
	if backend == "aws" {
		awsCfg := awstest.Config(t, "DYNAMODB", "SQS")
		name := awstest.Name("tasks")
		if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(awsCfg), name); err != nil {
			t.Fatalf("create table: %v", err)
		}
		qurl, dlq, err := sqsqueue.CreateQueues(ctx, sqs.NewFromConfig(awsCfg), name, 5, 30*time.Second)
		if err != nil {
			t.Fatalf("create queues: %v", err)
		}
		cfg.TableName, cfg.QueueURL, cfg.DeadLetterURL = name, qurl, dlq
		wait = time.Second
		b, err = awsbackend.Open(awsCfg, cfg, settings.Uses{Queue: true})
	} else {
		b, err = embedded.Open(cfg)
	}
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	deps := apptest.Build(t, cfg, b, apptest.QuietLogger(t)) // closed after the cleanup below
	if len(o.types) > 0 {
		if deps.Types, err = task.NewRegistry(append([]task.Type{demo.Type()}, o.types...)...); err != nil {
			t.Fatal(err)
		}
	}
	c := tasktest.RealClock()
	deps.Now = c.Now
	if o.wrap != nil {
		deps.Queue = o.wrap(deps.Queue)
	}
	h := localrun.NewServer(deps)
	if o.bodyTimeout > 0 {
		h.BodyTimeout = o.bodyTimeout
	}
	// Served the way infra/local serves it.
	srv := httptest.NewUnstartedServer(h)
	srv.Config = localrun.HTTPServer(h)
	srv.Listener = localrun.Listener(srv.Listener)
	srv.Start()
	wctx, stop := context.WithCancel(ctx)
	e := &env{t: t, backend: backend, url: srv.URL, deps: deps, clock: c, stop: stop, stopped: make(chan struct{})}
	if o.noWorker {
		close(e.stopped)
	} else {
		go func() {
			defer close(e.stopped)
			localrun.RunWorkers(wctx, deps, localrun.Options{Visibility: 30 * time.Second, Wait: wait})
		}()
	}
	t.Cleanup(func() {
		stop()
		<-e.stopped
		srv.Close()
	})
	e.schemas = e.loadSchemas()
	return e
}

// reply is an HTTP response with its body read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// do sends a request; headers are name, value pairs. A body that is not []byte or string
// is marshalled as JSON with Content-Type application/json. The response body must conform
// to its schema (conform).
func (e *env) do(method, path string, body any, headers ...string) reply {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
		ct = "application/json"
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rep, err := e.send(req)
	if rep.status == 0 {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if err != nil {
		e.t.Error(err)
	}
	return rep
}

// send sends req (following no redirect) and reads the response; the error is the transport's
// (with a zero reply) or the body's not conforming to its schema (conform). It does not touch
// e.t, so that goroutines may call it.
func (e *env) send(req *http.Request) (reply, error) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	rep := reply{status: resp.StatusCode, header: resp.Header, body: raw}
	return rep, e.conform(req.Method, req.URL.RequestURI(), rep)
}

// as returns the Authorization header pair of a dev token for tenant (with roles).
func as(tenant string, roles ...string) []string {
	tok := "dev:" + tenant
	for _, r := range roles {
		tok += ":" + r
	}
	return []string{"Authorization", "Bearer " + tok}
}

// create makes a demo task and returns its id, failing the test unless it is a 202.
func (e *env) create(input map[string]any, headers ...string) string {
	e.t.Helper()
	body := map[string]any{"type": "demo", "name": "test task"}
	if input != nil {
		body["input"] = input
	}
	r := e.do("POST", "/v1/tasks", body, headers...)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.json(e.t)["id"].(string)
}

// steps builds a demo input.
func steps(s ...map[string]any) map[string]any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return map[string]any{"steps": out}
}

// step is one demo step with optional fields as name, value pairs.
func step(name string, kv ...any) map[string]any {
	m := map[string]any{"name": name}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// waitStatus polls the task (redirect=false) until it has status, or fails after a while.
func (e *env) waitStatus(id, status string, headers ...string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		r := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil, headers...)
		if r.status == http.StatusOK {
			last = r.json(e.t)
			if last["status"] == status {
				return last
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("task %s never reached %s; last: %v", id, status, last)
	return nil
}

// waitFor polls cond until it holds, or fails after a while.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %s", what)
}

// problem checks a problem+json reply's status and errorCode.
func problem(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	p := r.json(t)
	if p["errorCode"] != code {
		t.Errorf("errorCode %v, want %s", p["errorCode"], code)
	}
	for _, k := range []string{"type", "title", "status", "detail", "errorCode"} {
		if _, ok := p[k]; !ok {
			t.Errorf("problem lacks %q: %s", k, r.body)
		}
	}
	if p["status"] != float64(status) {
		t.Errorf("problem status %v, want %d", p["status"], status)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on an error")
	}
}
