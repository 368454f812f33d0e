// Package localrun runs Tasklane on one machine the way AWS runs it: an HTTP server turns
// each request into the API Gateway HTTP API (payload 2.0) event the deployed function would
// receive and invokes that function's handler, and pollers feed the worker from the queue
// the way Lambda's SQS event source mapping does (the work queue, the dead-letter queue)
// while a ticker runs the sweeper. `make run` and the contract tests use it.
package localrun

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/config"
	"github.com/tasklane/tasklane/shared/esm"
	"github.com/tasklane/tasklane/shared/queue"
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
	deps     *config.Deps
	handlers map[string]*apigw.Handler
}

// NewServer makes the HTTP handler for deps: one apigw.Handler per function, as deployed.
func NewServer(deps *config.Deps) *Server {
	s := &Server{deps: deps, handlers: map[string]*apigw.Handler{}}
	for _, f := range apigw.Functions() {
		s.handlers[f] = deps.Handler(f)
	}
	return s
}

// ServeHTTP converts the request into an HTTP API event, invokes the function its route
// names, and writes the function's response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, apigw.MaxBody+1))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	route, params := apigw.Match(r.Method, r.URL.Path)
	ev := Event(r, body, route, params)
	resp, err := s.handlers[route.Function].Handle(r.Context(), ev)
	if err != nil {
		// The handlers never return errors; API Gateway would answer a bare 500 here.
		s.deps.Log.ErrorContext(r.Context(), "function returned an error", "err", err)
		http.Error(w, `{"message":"Internal Server Error"}`, http.StatusInternalServerError)
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
			http.Error(w, "bad function response", http.StatusBadGateway)
			return
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
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
	// SweepEvery is how often the sweeper runs; 0 disables it.
	SweepEvery time.Duration
}

// RunWorkers feeds the worker from the work queue and the dead-letter handler from the
// dead-letter queue, and runs the sweeper, until ctx ends.
func RunWorkers(ctx context.Context, deps *config.Deps, opts Options) {
	if opts.Visibility == 0 {
		opts.Visibility = 2 * time.Minute
	}
	if opts.Wait == 0 {
		opts.Wait = time.Second
	}
	w := deps.Worker()
	var wg sync.WaitGroup
	poll := func(name string, q queue.Queue, h func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := esm.Poll(ctx, q, h, esm.Options{Visibility: opts.Visibility, Wait: opts.Wait})
			if err != nil && ctx.Err() == nil {
				deps.Log.Error("poller stopped", "queue", name, "err", err)
			}
		}()
	}
	poll("work", deps.Queue, w.Handle)
	if deps.DeadLetter != nil {
		poll("dead-letter", deps.DeadLetter, w.HandleDeadLetter)
	}
	if opts.SweepEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(opts.SweepEvery)
			defer t.Stop()
			sw := deps.Sweeper()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					_ = sw.Handle(ctx)
				}
			}
		}()
	}
	wg.Wait()
}

// Logger is the local runner's human-readable log.
func Logger(level slog.Level, out io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
}
