package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/smithy-go"

	"github.com/tasklane/tasklane/shared/task"
)

// Invoker invokes a Lambda function synchronously (RequestResponse) and returns its payload
// and, for a function error, the X-Amz-Function-Error value ("Unhandled", "Handled"). An
// error that Lambda answered is a smithy.APIError with an HTTPStatusCode method (as the
// SDK's are); any other error is taken for a network error. shared/lambdainvoke implements it
// and is linked only by the worker and the local runner, which run steps.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) (out []byte, functionError string, err error)
}

// Lambda invokes Function (a name or ARN; the template lets the worker invoke only the ARNs
// its TaskFunctionArns parameter lists) synchronously with the step's Document. The
// function's JSON answer is the step's output. A function error (the function threw, or
// returned an error) fails the attempt, retryable unless its payload says "retryable":
// false; throttling, Lambda's 5xx, network errors and the step's timeout are retryable; any
// other refusal (no such function, access denied, bad payload) fails the step for good.
type Lambda struct {
	Function string
	// Timeout bounds the invocation; 0 means DefaultTimeout.
	Timeout time.Duration
	// Client invokes; nil fails every attempt for good (no Lambda client configured).
	Client Invoker
}

// functionError is the payload of a function error, as the Lambda runtimes write it, with
// the one field Tasklane adds.
type functionError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
	Retryable    *bool  `json:"retryable"`
}

// Execute performs one attempt.
func (l Lambda) Execute(ctx context.Context, a task.Attempt) (json.RawMessage, error) {
	if l.Client == nil {
		return nil, &task.CodedError{Code: "STEP_LAMBDA_NOT_CONFIGURED", Message: "this deployment has no Lambda client for lambda steps (locally: set AWS_ENDPOINT_URL_LAMBDA to a stand-in)"}
	}
	body, err := NewDocument(a).Encode()
	if err != nil {
		return nil, err
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	payload, fnErr, err := l.Client.Invoke(ictx, l.Function, body)
	if err != nil {
		return nil, l.invokeError(ctx, ictx, timeout, err)
	}
	if fnErr != "" {
		var fe functionError
		_ = json.Unmarshal(payload, &fe) // a payload that is not an error object is still an error
		e := &task.CodedError{Code: "STEP_FUNCTION_ERROR", Message: fmt.Sprintf("function %s failed (%s): %s %s", l.Function, fnErr, fe.ErrorType, fe.ErrorMessage)}
		if fe.Retryable != nil && !*fe.Retryable {
			return nil, e
		}
		return nil, task.Retryable(e)
	}
	return output(payload)
}

// invokeError maps an Invoke that did not reach or not run the function.
func (l Lambda) invokeError(ctx, ictx context.Context, timeout time.Duration, err error) error {
	if ctx.Err() == nil && errors.Is(ictx.Err(), context.DeadlineExceeded) {
		return task.Retryable(&task.CodedError{Code: "STEP_TIMED_OUT", Message: fmt.Sprintf("function %s did not answer within %s", l.Function, timeout)})
	}
	msg := fmt.Sprintf("invoke %s: %v", l.Function, err)
	var resp interface{ HTTPStatusCode() int }
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "TooManyRequestsException":
		return task.Retryable(&task.CodedError{Code: "STEP_LAMBDA_THROTTLED", Message: msg})
	case errors.As(err, &resp) && (resp.HTTPStatusCode() >= 500 || resp.HTTPStatusCode() == http.StatusTooManyRequests):
		return task.Retryable(&task.CodedError{Code: "STEP_LAMBDA_UNAVAILABLE", Message: msg})
	case errors.As(err, &api):
		return &task.CodedError{Code: "STEP_LAMBDA_REFUSED", Message: msg}
	}
	return task.Retryable(&task.CodedError{Code: "STEP_LAMBDA_UNREACHABLE", Message: msg})
}
