package client

import (
	"fmt"
	"net/http"
)

// The errorCodes of the contract (and of docs/api.md: CONFLICT, NOT_FOUND), as Error.ErrorCode
// holds them.
const (
	CodeValidationFailed     = "VALIDATION_FAILED"
	CodeUnknownTaskType      = "UNKNOWN_TASK_TYPE"
	CodeInvalidParameter     = "INVALID_PARAMETER"
	CodeInvalidMarker        = "INVALID_MARKER"
	CodeUnauthenticated      = "UNAUTHENTICATED"
	CodeForbidden            = "FORBIDDEN"
	CodeTaskNotFound         = "TASK_NOT_FOUND"
	CodeTaskNotFinished      = "TASK_NOT_FINISHED"
	CodeTaskNotRetryable     = "TASK_NOT_RETRYABLE"
	CodeTaskNotCancellable   = "TASK_NOT_CANCELLABLE"
	CodeIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeCallbackNotFound     = "CALLBACK_NOT_FOUND"
	CodeCallbackEnded        = "CALLBACK_ENDED"
	CodeConflict             = "CONFLICT"
	CodeNotFound             = "NOT_FOUND"
	CodeInternal             = "INTERNAL"
)

// Error is an error the API answered: its problem+json document (RFC 9457), or, for an
// answer that is not one (a gateway's own 429 or 504), the status alone with its text as
// Title and an empty ErrorCode.
type Error struct {
	Status    int    `json:"status"`
	ErrorCode string `json:"errorCode"`
	Title     string `json:"title"`
	Detail    string `json:"detail"`
	Type      string `json:"type"`
	Instance  string `json:"instance,omitempty"`
	// RequestID is the request's X-Request-Id: quote it when reporting a 5xx.
	RequestID string `json:"requestId,omitempty"`
}

func (e *Error) Error() string {
	code := e.ErrorCode
	if code == "" {
		code = http.StatusText(e.Status)
	}
	if e.Detail == "" {
		return fmt.Sprintf("tasklane: %d %s", e.Status, code)
	}
	return fmt.Sprintf("tasklane: %d %s: %s", e.Status, code, e.Detail)
}
