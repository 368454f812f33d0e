package task

import (
	"errors"
	"fmt"
)

// Sentinel errors of the domain. The API adapter maps each to a status code and errorCode in
// one table; test with errors.Is.
var (
	// ErrNotFound: no such task, or it expired, or (said by the service) another tenant's.
	ErrNotFound = errors.New("task not found")
	// ErrNotCancellable: cancel asked of a task in success, failure or cancelled.
	ErrNotCancellable = errors.New("task is not cancellable")
	// ErrNotRetryable: retry asked of a task not in failure, or of a type without retry.
	ErrNotRetryable = errors.New("task is not retryable")
	// ErrNotFinished: the result asked of a task that has not succeeded.
	ErrNotFinished = errors.New("task has not finished")
	// ErrInvalidTransition: a worker-side transition asked from the wrong state, e.g. a
	// duplicate message finishing a subtask that already finished.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrUnknownType: a create named a type that is not registered.
	ErrUnknownType = errors.New("unknown task type")
	// ErrInvalidInput: a create's input does not suit its type.
	ErrInvalidInput = errors.New("invalid task input")
)

// TransitionError says which transition was refused and from which status. It wraps one of
// the sentinels above.
type TransitionError struct {
	Op   string
	From Status
	Err  error
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("%s from %s: %v", e.Op, e.From, e.Err)
}

func (e *TransitionError) Unwrap() error { return e.Err }

// ConflictError is a lost race: the stored task was no longer in the status and version a
// change was computed from. The caller re-reads and decides again; the API answers 409 if it
// keeps losing.
type ConflictError struct {
	ID          string
	FromStatus  Status
	FromVersion int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("task %s changed since it was read (expected %s at version %d)", e.ID, e.FromStatus, e.FromVersion)
}

// IsConflict reports whether err is (or wraps) a ConflictError.
func IsConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}

// FieldError says which part of a request is bad and why: a body field by its JSON path
// ("input.steps[1].name"), a query parameter, or a header. It is the one error type for bad
// input, from the create body's decoding and validation, a type's Plan, the query parameter
// table and header checks alike; it wraps ErrInvalidInput. The API adapter answers a query
// parameter's with 400 INVALID_PARAMETER and the others' with 400 VALIDATION_FAILED.
type FieldError struct {
	// In says where Field is; the zero value is the body, where a type's input is.
	In     RequestPart
	Field  string
	Reason string
}

// RequestPart is the part of a request a FieldError's field is in.
type RequestPart int

const (
	InBody RequestPart = iota
	InQuery
	InHeader
)

func (e *FieldError) Error() string {
	switch {
	case e.In == InQuery:
		return "query parameter " + e.Field + ": " + e.Reason
	case e.Field == "":
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func (e *FieldError) Unwrap() error { return ErrInvalidInput }
