// Package localrun runs Tasklane on one machine the way AWS runs it: an HTTP server turns
// each request into the API Gateway HTTP API (payload 2.0) event the deployed function would
// receive and invokes that function's handler, and pollers feed the worker from the queue
// the way Lambda's SQS event source mapping does (the work queue, the dead-letter queue).
// `make run` and the contract tests use it.
package localrun

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/function"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// DefaultTenant is who a request without credentials acts as locally (without JWT_ISSUER).
const DefaultTenant = auth.DefaultTenant

// DevTokenPrefix starts a local bearer token: "dev:<tenant>" acts as that tenant,
// "dev:<tenant>:<roles>" (comma-separated, e.g. "dev:ops:admin") as that tenant with those
// roles. The handlers accept them (auth.Dev) only outside Lambda and without JWT_ISSUER;
// with JWT_ISSUER set the local runner verifies real tokens as the deployed functions do.
const DevTokenPrefix = auth.DevTokenPrefix

// Server is the local stand-in for API Gateway in front of the API functions.
type Server struct {
	deps     *app.App
	handlers map[string]*apigw.Handler
	// Timeout is the function timeout: the deadline of the context a handler runs with.
	// Default DefaultTimeout.
	Timeout time.Duration
	// BodyTimeout bounds the reading of a request's body; a client that stalls longer gets
	// 408. Default DefaultBodyTimeout.
	BodyTimeout time.Duration
}

// Defaults of Server and HTTPServer.
const (
	// DefaultTimeout is the API functions' timeout in template.yaml (Globals); the get
	// function's is apigw.GetTimeout.
	DefaultTimeout = 10 * time.Second
	// DefaultBodyTimeout: a local client sends a 256 KiB body in far less.
	DefaultBodyTimeout = 10 * time.Second
	// MaxHeaderBytes is API Gateway's quota for an HTTP API request's line and headers
	// together (10240 bytes); a request over it gets 431 from ServeHTTP as problem+json.
	MaxHeaderBytes = 10240
	// serverMaxHeaderBytes is what net/http itself reads before it gives up with its own
	// 431: well above MaxHeaderBytes, so that ServeHTTP sees and answers most oversized
	// requests (echoing their X-Request-Id); beyond it Listener rewrites net/http's answer.
	serverMaxHeaderBytes = 64 << 10
	// readHeaderTimeout: a client that does not finish its headers within it is
	// disconnected (without an answer: net/http writes none, see HTTPServer).
	readHeaderTimeout = 10 * time.Second
)

// NewServer makes the HTTP handler for deps: one apigw.Handler per function, as deployed.
func NewServer(deps *app.App) *Server {
	s := &Server{deps: deps, handlers: map[string]*apigw.Handler{}, Timeout: DefaultTimeout, BodyTimeout: DefaultBodyTimeout}
	for _, f := range apigw.Functions() {
		s.handlers[f] = deps.Handler(f)
	}
	return s
}

// HTTPServer is the http.Server to serve h with (on a Listener): header timeout and limit
// as described at MaxHeaderBytes. A client that stalls in its headers is disconnected
// after 10 s without an answer, since net/http writes none then; one that stalls in its
// body gets 408 from ServeHTTP.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    serverMaxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
	}
}

// ServeHTTP converts the request into an HTTP API event, invokes the function its route
// names, and writes the function's response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := requestID(r.Header.Get("X-Request-Id"))
	if n := headerSize(r); n > MaxHeaderBytes {
		w.Header().Set("Connection", "close")
		writeProblem(w, reqID, r.URL.Path, http.StatusRequestHeaderFieldsTooLarge,
			fmt.Sprintf("the request line and headers are %d bytes, more than the %d API Gateway accepts", n, MaxHeaderBytes))
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		// The rest of the body is in an unknown state: the connection cannot carry another
		// request.
		w.Header().Set("Connection", "close")
		if errors.Is(err, os.ErrDeadlineExceeded) {
			writeProblem(w, reqID, r.URL.Path, http.StatusRequestTimeout,
				fmt.Sprintf("the request body did not arrive within %v", s.bodyTimeout()))
			return
		}
		writeProblem(w, reqID, r.URL.Path, http.StatusBadRequest, "the request body could not be read: "+bodyError(err))
		return
	}
	route, params := apigw.Match(r.Method, r.URL.Path)
	ev := Event(r, body, route, params)
	// Like Lambda, the function runs to its timeout whatever the client does: a client that
	// half-closes or drops the connection must not cancel a create between its write and
	// its message (the announcement would be left without its task) or turn it into a 500.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.timeout(route.Function))
	defer cancel()
	resp, err := s.handlers[route.Function].Handle(ctx, ev)
	if err != nil {
		// The handlers never return errors; API Gateway would answer a bare 500 here.
		s.deps.Log.ErrorContext(ctx, "function returned an error", "err", err)
		writeProblem(w, reqID, r.URL.Path, http.StatusInternalServerError, "")
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			s.deps.Log.ErrorContext(ctx, "function response is not valid base64", "err", err)
			writeProblem(w, reqID, r.URL.Path, http.StatusBadGateway, "")
			return
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// readBody reads up to one byte more than the API accepts (the handler answers 413), within
// BodyTimeout: a per-request read deadline on the connection, lifted once the body is in so
// that it does not cut a later request on the same connection.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	// Not supported by every ResponseWriter (httptest's recorder): then there is no limit.
	_ = rc.SetReadDeadline(time.Now().Add(s.bodyTimeout()))
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	return io.ReadAll(io.LimitReader(r.Body, apigw.MaxBody+1))
}

func (s *Server) timeout(fn string) time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	if fn == function.Get {
		return apigw.GetTimeout // long enough for a Prefer: wait
	}
	return DefaultTimeout
}

func (s *Server) bodyTimeout() time.Duration {
	if s.BodyTimeout > 0 {
		return s.BodyTimeout
	}
	return DefaultBodyTimeout
}

// headerSize is the size of the request line and headers as the client sent them (net/http
// moves Host out of Header).
func headerSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + 2
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// bodyError is the client-facing cause of a failed body read: net/http's own sentences about
// the framing (e.g. "invalid byte in chunk length"), which say nothing internal.
func bodyError(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ended before its announced length or final chunk"
	}
	return strings.TrimPrefix(err.Error(), "http: ")
}

// Event builds the HTTP API payload 2.0 event API Gateway would send for r. It carries the
// Authorization header like any other; there is no authorizer, since the functions verify
// tokens themselves.
func Event(r *http.Request, body []byte, route apigw.Route, params map[string]string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	now := time.Now().UTC()
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies(r),
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:    "000000000000",
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: "local",
			RequestID:    strconv.FormatInt(now.UnixNano(), 36),
			RouteKey:     route.Key(),
			Stage:        "$default",
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(query) == 0 {
		ev.QueryStringParameters = nil
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

func cookies(r *http.Request) []string {
	var out []string
	for _, c := range r.Cookies() {
		out = append(out, c.String())
	}
	return out
}

// Options tune the background loops.
type Options struct {
	// Visibility is the visibility timeout of received messages, and the worker's timeout
	// (as in AWS, where a function mapped to a queue must time out within it). Default 2
	// minutes: the deployed worker's timeout, long enough for the demo's 60 s steps.
	Visibility time.Duration
	// Wait is the long-poll wait of each receive.
	Wait time.Duration
	// Concurrency is how many pollers feed the worker at once, as Lambda scales the worker's
	// concurrent invocations; each holds a batch (up to 10 tasks) until all of them are done
	// with this delivery. Default 1 (tests count on tasks running one batch at a time);
	// `make run` uses RunConcurrency.
	Concurrency int
	// Recover, when set, says that the work queue did not survive the previous process (the
	// in-process queue), and lists the store's active tasks: before polling, every one of
	// them is sent a message again (see Recover). When the store is the embedded one, which
	// this process holds alone, the worker also takes over at once the attempts that were
	// under way at the crash instead of waiting out their lease.
	Recover ActiveLister
}

// ActiveLister lists the ids of the tasks active (pending or processing) and last updated
// before a given instant: the embedded store's Active (filestore.Store.Active), which is not
// part of task.Store.
type ActiveLister interface {
	Active(ctx context.Context, before time.Time) ([]string, error)
}

// RunConcurrency is the Concurrency of `make run`: up to 320 tasks advance at once (32
// pollers of 10-message batches). With one poller a single slow task held it, and every
// task created meanwhile waited behind it, also after a restart. With 10 the worker fell
// behind 16 clients creating short tasks: a task takes nine stored writes to a create's one,
// so the worker needs well over nine times the clients' concurrency to keep up with them
// (infra/local's BenchmarkSteadyLoad). An idle poller costs one long-poll receive per Wait.
const RunConcurrency = 32

// RunWorkers feeds the worker from the work queue and the dead-letter handler from the
// dead-letter queue, and the webhook deliverer and the intake handler from their queues when
// the App has them, until ctx ends.
func RunWorkers(ctx context.Context, deps *app.App, opts Options) {
	if opts.Visibility == 0 {
		opts.Visibility = 2 * time.Minute
	}
	if opts.Wait == 0 {
		opts.Wait = time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	w := deps.Worker()
	if opts.Recover != nil {
		start := deps.Now()
		if deps.Settings.TableName == "" {
			// The embedded store's file lock means no other process runs these attempts.
			w.OrphanedBefore = start
		}
		// Before the pollers start, so that the first receives take full batches.
		if n, err := Recover(ctx, deps, opts.Recover, start); err != nil {
			deps.Log.Error("re-queueing the active tasks failed; restart to try again", "sent", n, "err", err)
		} else if n > 0 {
			deps.Log.Info("re-queued the active tasks of the previous run", "tasks", n)
		}
	}
	var wg sync.WaitGroup
	poll := func(name string, q queue.Queue, h func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), concurrency int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := eventsource.Poll(ctx, q, h, eventsource.Options{Visibility: opts.Visibility, Wait: opts.Wait, Concurrency: concurrency})
			if err != nil && ctx.Err() == nil {
				deps.Log.Error("poller stopped", "queue", name, "err", err)
			}
		}()
	}
	poll("work", deps.Queue, w.Handle, opts.Concurrency)
	if deps.DeadLetter != nil {
		poll("dead-letter", deps.DeadLetter, w.HandleDeadLetter, 1)
	}
	if deps.Webhooks != nil {
		poll("webhooks", deps.Webhooks, deps.Deliverer().Handle, WebhookConcurrency)
	}
	if deps.Intake != nil {
		poll("intake", deps.Intake, deps.IntakeHandler().Handle, 1)
	}
	wg.Wait()
}

// Recover sends a message for every task that active lists as active before the instant
// since, and says how many it sent. The in-process queue dies with its process: after a crash
// of `make run` no message is left for the tasks in flight, and nothing else would send one
// (deployed, SQS keeps them; see "No task without a message" in shared/worker). Tasks updated
// since were written by this process, which sent their messages itself.
//
// Duplicates are harmless (every transition is conditional, and the worker honours the
// lease of an attempt under way), so a task is sent a message whatever it waits for; one
// waiting out a retry backoff is retried at once. Each task is read again for its run.
func Recover(ctx context.Context, deps *app.App, active ActiveLister, since time.Time) (int, error) {
	ids, err := active.Active(ctx, since)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, id := range ids {
		t, err := deps.Store.Get(ctx, id, deps.Now())
		if errors.Is(err, task.ErrNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return sent, err
		}
		if !t.Status.Active() {
			continue
		}
		if err := deps.Queue.Send(ctx, queue.Message{TaskID: t.ID, Run: t.RetryCount}, 0); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// Logger is the local runner's human-readable log.
func Logger(level slog.Level, out io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
}
