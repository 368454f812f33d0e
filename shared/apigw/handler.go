package apigw

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/logscope"
	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// MaxBody is the largest request body accepted (256 KiB); larger is 413.
const MaxBody = 256 << 10

// Claims names the JWT claims the principal is read from (see package auth, which reads them).
type Claims = auth.Claims

// DefaultClaims are the claim names when configuration names none.
var DefaultClaims = auth.DefaultClaims

// AdminRole is the role that sees every tenant's tasks.
const AdminRole = auth.AdminRole

// Handler serves the routes of one function (or of all, for the local runner and tests).
type Handler struct {
	svc      *usecase.Service
	log      *slog.Logger
	authn    auth.Authenticator
	function string
	// BackoffBase is the worker's (settings.BackoffBase), for the Retry-After of a task
	// whose subtask waits out a backoff (retryAfter in get.go); set at wiring.
	BackoffBase time.Duration
}

// New makes the handler of function (one of the Function* names), or of every route when
// function is empty. authn turns each request's Authorization header into its principal
// (shared/app chooses it: real JWT verification, or dev tokens locally).
func New(svc *usecase.Service, function string, authn auth.Authenticator, log *slog.Logger) *Handler {
	return &Handler{svc: svc, log: slog.New(logscope.Handler(log.Handler())), authn: authn, function: function}
}

// request is an event reduced to what the operations read.
type request struct {
	ev        *events.APIGatewayV2HTTPRequest
	method    string
	path      string
	params    map[string]string
	query     query
	body      []byte
	principal usecase.Principal
}

// response is what an operation answers; the adapter adds the common headers.
type response struct {
	status  int
	headers map[string]string
	body    any // marshalled as JSON; nil for no body
	raw     []byte
}

// Handle is the Lambda handler: it finds the route, runs it, and renders the outcome. It
// never returns an error to Lambda (that would be a bare 500 from API Gateway); every failure
// is a problem+json response, and a panic in an operation is one too.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	reqID := requestID(&ev)
	// Every line logged for this request names it, and its tenant and task once known.
	ctx = logscope.Start(ctx, logscope.RequestID, reqID, "routeKey", ev.RouteKey)
	log := h.log
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "panic in handler", "panic", p)
			resp = h.problem(ctx, log, reqID, ev.RawPath, errPanic)
		}
	}()
	out, err := h.serve(ctx, &ev)
	if err != nil {
		return h.problem(ctx, log, reqID, ev.RawPath, err), nil
	}
	return render(out, reqID), nil
}

func (h *Handler) serve(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (*response, error) {
	method := ev.RequestContext.HTTP.Method
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	route, params := h.route(ev, method, path)
	if route.Function != h.function && h.function != "" {
		return nil, errNoRoute
	}
	r := &request{ev: ev, method: method, path: path, params: params}
	if route.Path == FallbackPath {
		return route.serve(h, ctx, r)
	}
	if !route.Public() {
		p, err := h.principal(ctx, ev)
		if err != nil {
			return nil, err
		}
		r.principal = p
		logscope.Add(ctx, logscope.Tenant, p.Tenant)
	}
	if id := params["id"]; id != "" {
		logscope.Add(ctx, logscope.TaskID, id)
	}
	values, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		return nil, &task.FieldError{In: task.InQuery, Field: "query", Reason: "malformed query string"}
	}
	if r.body, err = body(ev); err != nil {
		return nil, err
	}
	// The route's body rule and query parameters, in the order the API has always checked
	// them: a JSON body's media type, then the query, then an empty body.
	if route.body == jsonBody {
		if err := jsonContent(r); err != nil {
			return nil, err
		}
	}
	if r.query, err = parseQuery(route.Key(), values); err != nil {
		return nil, err
	}
	if route.body == noBody {
		if err := emptyBody(r); err != nil {
			return nil, err
		}
	}
	return route.serve(h, ctx, r)
}

// route finds the route by the event's route key, as API Gateway chose it; events without
// one (hand-made) are matched by method and path.
func (h *Handler) route(ev *events.APIGatewayV2HTTPRequest, method, path string) (Route, map[string]string) {
	for _, r := range routes {
		if r.Key() == ev.RouteKey && r.Path != FallbackPath {
			params := ev.PathParameters
			if params == nil {
				params, _ = matchPath(r.Path, path)
			}
			return r, params
		}
	}
	return Match(method, path)
}

// principal authenticates the request from its Authorization header. Claims an API Gateway
// authorizer may have put in the event are ignored: the functions verify tokens themselves,
// so that every way of reaching them is held to the same rules.
func (h *Handler) principal(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (usecase.Principal, error) {
	return h.authn.Authenticate(ctx, header(ev, "Authorization"))
}

func body(ev *events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if ev.Body == "" {
		return nil, nil
	}
	if len(ev.Body) > MaxBody*4/3+4 {
		return nil, errTooLarge
	}
	b := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if b, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, &task.FieldError{Field: "body", Reason: "not valid base64"}
		}
	}
	if len(b) > MaxBody {
		return nil, errTooLarge
	}
	return b, nil
}

// requestID echoes the client's X-Request-Id when it is sane, else uses API Gateway's id,
// else makes one.
func requestID(ev *events.APIGatewayV2HTTPRequest) string {
	if v := header(ev, "X-Request-Id"); v != "" && len(v) <= 200 && printable(v) {
		return v
	}
	if ev.RequestContext.RequestID != "" {
		return ev.RequestContext.RequestID
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// header reads a request header; HTTP API lower-cases names, hand-made events may not.
func header(ev *events.APIGatewayV2HTTPRequest, name string) string {
	v, _ := lookupHeader(ev, name)
	return v
}

// lookupHeader also says whether the header was sent at all (an empty Idempotency-Key is
// refused, an absent one is fine).
func lookupHeader(ev *events.APIGatewayV2HTTPRequest, name string) (string, bool) {
	if v, ok := ev.Headers[strings.ToLower(name)]; ok {
		return v, true
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func render(out *response, reqID string) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"X-Request-Id": reqID}
	for k, v := range out.headers {
		headers[k] = v
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: out.status, Headers: headers}
	switch {
	case out.raw != nil:
		resp.Body = string(out.raw)
	case out.body != nil:
		b, _ := strictjson.Marshal(out.body)
		resp.Body = string(b)
		if headers["Content-Type"] == "" {
			headers["Content-Type"] = "application/json"
		}
	}
	return resp
}

// fallback answers requests no route takes: 405 with Allow when the path exists under
// another method, 404 otherwise.
func (h *Handler) fallback(_ context.Context, r *request) (*response, error) {
	if methods := allowed(r.path); len(methods) > 0 {
		return nil, &methodNotAllowed{allow: methods}
	}
	if strings.HasPrefix(r.path, "/v1/tasks/") {
		return nil, task.ErrNotFound
	}
	return nil, errNoRoute
}

// ok is a 200 with a JSON body.
func ok(body any) *response { return &response{status: http.StatusOK, body: body} }
