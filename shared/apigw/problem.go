package apigw

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// Errors of the adapter itself (HTTP concerns the use cases never see).
var (
	errTooLarge  = errors.New("the request body is larger than 256 KiB")
	errMediaType = errors.New("the request body must be application/json")
	errNoRoute   = errors.New("no such resource")
	errPanic     = errors.New("panic")
)

// methodNotAllowed carries the methods the path does support, for the Allow header.
type methodNotAllowed struct{ allow []string }

func (e *methodNotAllowed) Error() string {
	return "method not allowed; this resource supports " + strings.Join(e.allow, ", ")
}

// Problem is an RFC 9457 problem document, with Tasklane's errorCode.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	ErrorCode string `json:"errorCode"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// problemRow maps the errors matched by is to a status and errorCode. Rows are tried in
// order; the first that matches wins.
type problemRow struct {
	is     func(error) bool
	status int
	code   string
	title  string
}

func sentinel(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func as[T error]() func(error) bool {
	return func(err error) bool {
		var t T
		return errors.As(err, &t)
	}
}

// fieldIn matches a *task.FieldError about the given part of the request.
func fieldIn(part task.RequestPart) func(error) bool {
	return func(err error) bool {
		var f *task.FieldError
		return errors.As(err, &f) && f.In == part
	}
}

// problems is the single table from errors to responses. Anything not in it is a 500
// INTERNAL whose body says nothing of the cause (the cause is logged with the request id).
var problems = []problemRow{
	{sentinel(task.ErrNotFound), http.StatusNotFound, "TASK_NOT_FOUND", "Task not found"},
	{sentinel(task.ErrCallbackNotFound), http.StatusNotFound, "CALLBACK_NOT_FOUND", "Callback not found"},
	{sentinel(task.ErrCallbackEnded), http.StatusConflict, "CALLBACK_ENDED", "Callback ended"},
	{sentinel(task.ErrNotFinished), http.StatusConflict, "TASK_NOT_FINISHED", "Task not finished"},
	{sentinel(task.ErrNotRetryable), http.StatusConflict, "TASK_NOT_RETRYABLE", "Task not retryable"},
	{sentinel(task.ErrNotCancellable), http.StatusConflict, "TASK_NOT_CANCELLABLE", "Task not cancellable"},
	{as[*task.ConflictError](), http.StatusConflict, "CONFLICT", "Task changed concurrently"},
	{sentinel(task.ErrUnknownType), http.StatusBadRequest, "UNKNOWN_TASK_TYPE", "Unknown task type"},
	{fieldIn(task.InQuery), http.StatusBadRequest, "INVALID_PARAMETER", "Invalid parameter"},
	{sentinel(task.ErrInvalidInput), http.StatusBadRequest, "VALIDATION_FAILED", "Validation failed"}, // body and header fields too
	{sentinel(usecase.ErrInvalidMarker), http.StatusBadRequest, "INVALID_MARKER", "Invalid marker"},
	{sentinel(marker.ErrInvalid), http.StatusBadRequest, "INVALID_MARKER", "Invalid marker"},
	{sentinel(usecase.ErrUnauthenticated), http.StatusUnauthorized, "UNAUTHENTICATED", "Unauthenticated"},
	{sentinel(usecase.ErrForbidden), http.StatusForbidden, "FORBIDDEN", "Forbidden"},
	{sentinel(usecase.ErrIdempotencyKeyReused), http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", "Idempotency key reused"},
	{sentinel(errTooLarge), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "Payload too large"},
	{sentinel(errMediaType), http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"},
	{as[*methodNotAllowed](), http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Method not allowed"},
	{sentinel(errNoRoute), http.StatusNotFound, "NOT_FOUND", "Not found"},
}

var internal = problemRow{status: http.StatusInternalServerError, code: "INTERNAL", title: "Internal error"}

// ErrorCodes lists every errorCode the adapter can answer, for documentation and tests.
func ErrorCodes() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range append(slices.Clip(problems), internal) { // Clip: never write into the table
		if !seen[r.code] {
			seen[r.code] = true
			out = append(out, r.code)
		}
	}
	return out
}

// problem renders err through the table. 4xx details are our own sentences; a 5xx detail
// never carries the cause, which is logged instead.
func (h *Handler) problem(ctx context.Context, log *slog.Logger, reqID, path string, err error) events.APIGatewayV2HTTPResponse {
	row := internal
	for _, r := range problems {
		if r.is(err) {
			row = r
			break
		}
	}
	p := Problem{
		Type:      "urn:tasklane:problem:" + row.code,
		Title:     row.title,
		Status:    row.status,
		ErrorCode: row.code,
		Instance:  path,
		RequestID: reqID,
	}
	if row.status >= 500 {
		p.Detail = "An internal error occurred; quote the request id " + reqID + " when reporting it."
		log.ErrorContext(ctx, "request failed", "err", err)
	} else {
		p.Detail = detail(err)
		log.InfoContext(ctx, "request refused", "status", row.status, "errorCode", row.code, "err", err)
	}
	b, _ := strictjson.Marshal(p)
	headers := map[string]string{"Content-Type": "application/problem+json", "X-Request-Id": reqID}
	var mna *methodNotAllowed
	if errors.As(err, &mna) {
		headers["Allow"] = strings.Join(mna.allow, ", ")
	}
	if row.status == http.StatusUnauthorized {
		headers["WWW-Authenticate"] = "Bearer"
		var ae *auth.Error
		if errors.As(err, &ae) {
			headers["WWW-Authenticate"] = ae.WWWAuthenticate()
		}
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: row.status, Headers: headers, Body: string(b)}
}

// detail is the client-facing sentence of a 4xx error: the error's own text (our own
// words and the client's field names, never an internal cause).
// An authentication failure says only whether the token was missing or bad; which check
// failed (expired, audience, ...) is logged, not told.
func detail(err error) string {
	var ae *auth.Error
	if errors.As(err, &ae) {
		return ae.Detail()
	}
	return err.Error()
}
