package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// DefaultMaxAttempts is a subtask's attempt budget when its type names none.
const DefaultMaxAttempts = 3

// Type is a kind of task: which subtasks it has, how many attempts each gets, how a step runs
// and what the result is. Adding a type is filling in one of these and registering it.
type Type struct {
	Name        string
	Description string
	// MaxAttempts is each subtask's attempt budget (retryable errors included); 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// NoRetry refuses client retries of a failed task of this type.
	NoRetry bool
	// Plan checks a create's input and returns the subtasks to run. It is given nil when the
	// create had no input. Errors should be *FieldError.
	Plan func(input json.RawMessage) ([]Step, error)
	// Run performs one attempt of one subtask. Return Retryable(err) for an error worth
	// another attempt; any other error fails the subtask for good.
	Run func(ctx context.Context, a Attempt) error
	// Execute, set instead of Run, performs one attempt as Run does and also returns the
	// subtask's output (nil for none), which is stored in the subtask for later steps and
	// the result. It may return Suspend(d) to have the attempt wait without compute.
	Execute func(ctx context.Context, a Attempt) (output json.RawMessage, err error)
	// Steps optionally describes the type's fixed steps for /v1/task-types (catalog types);
	// nil: the steps Plan(nil) gives.
	Steps []Step
	// InputSchema is the JSON Schema the input is checked against at create, shown by
	// /v1/task-types; nil when the type checks its input in Go only.
	InputSchema json.RawMessage
	// Result builds the result document once every subtask succeeded, and optionally the
	// URL of what the task made (the 303 goes there). Nil means an empty result.
	Result func(t *Task) (result json.RawMessage, resultURL string, err error)
	// External marks a service task's type (shared/servicetask): its steps are not planned
	// from the input but given by the create (Spec.SubTasks), and an outside service drives
	// each through its callback.
	External bool
	// Callbacks, set for a type whose every step is a callback step (shared/servicetask's),
	// are those callbacks' limits. The worker then starts each attempt with its callback in
	// one change (Task.StartCallbackStep), as the API does: no reader sees such a step
	// started without its callback (a service task's create answer would miss it), and a
	// start is one write, not two. Execute still ends a timed-out attempt (Attempt.Resumed).
	Callbacks *CallbackLimits
	// Canonical optionally writes an input (nil when the create had none) as the type reads
	// it, defaults filled in, so that inputs meaning the same are the same bytes: an
	// Idempotency-Key replay that spells out a default, or omits it, is the same request.
	// Nil: inputs are compared as parsed JSON (key order and whitespace aside).
	Canonical func(input json.RawMessage) (json.RawMessage, error)
	// Expect optionally estimates how long one attempt of subtask i of t works, for the
	// Retry-After of a poll (see retryAfter in shared/apigw/get.go). Nil, or 0: unknown.
	Expect func(t *Task, i int) time.Duration
}

// CallbackLimits are a callback step's heartbeat and timeout (see AwaitCallback).
type CallbackLimits struct{ Heartbeat, Timeout time.Duration }

// Step names a subtask as a type plans it.
type Step struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Executor names what runs the step (a catalog type's lambda, http or wait), for
	// /v1/task-types; empty for Go-registered types.
	Executor string `json:"executor,omitempty"`
	// TimeoutSeconds is the step's own time limit, 0 for none but the invocation's.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// BackoffSeconds, when set in a type's Steps, is the delay before the step's second
	// attempt (doubled for each further one) instead of the worker's BackoffBase.
	BackoffSeconds int `json:"backoffSeconds,omitempty"`
}

// Attempt is what a type's Run is given: the task as stored when the attempt started, which
// subtask, and which attempt of it (1-based).
type Attempt struct {
	Task    Task
	Index   int
	Attempt int
	// Resumed is set when the attempt was suspended (Suspend) and its wait is over: the
	// step is called again for the same attempt, to end it.
	Resumed bool
}

// Perform runs one attempt through Execute, or Run for a type without Execute.
func (t *Type) Perform(ctx context.Context, a Attempt) (json.RawMessage, error) {
	if t.Execute != nil {
		return t.Execute(ctx, a)
	}
	return nil, t.Run(ctx, a)
}

// suspendError asks the worker to suspend the attempt (see Suspend).
type suspendError struct {
	d        time.Duration
	callback *callbackWait // set by AwaitCallback
}

func (e suspendError) Error() string { return fmt.Sprintf("attempt suspended for %s", e.d) }

// Suspend is what a step returns to have its attempt wait d without running anywhere (a wait
// step, and later a callback step): the worker records the wait (Task.Suspend) and continues
// the task in a delayed message, chained past SQS's 15-minute delay; once d has passed it
// calls the step again with Attempt.Resumed set, which then ends the attempt.
func Suspend(d time.Duration) error { return suspendError{d: d} }

// AwaitCallback is what a callback step returns (shared/executor's Callback): its attempt
// waits, running nowhere, for an outside service to report through the attempt's callback
// (Task.StartCallback records it), heartbeat apart at most and within timeout in all. For the
// worker it is a Suspend until the first of the two deadlines; called again once that has
// passed (Attempt.Resumed), the step fails the attempt as timed out.
func AwaitCallback(heartbeat, timeout time.Duration) error {
	return suspendError{d: min(heartbeat, timeout), callback: &callbackWait{heartbeat, timeout}}
}

type callbackWait struct{ heartbeat, timeout time.Duration }

// AwaitsCallback reports whether err is an AwaitCallback, and with which heartbeat and timeout.
func AwaitsCallback(err error) (heartbeat, timeout time.Duration, ok bool) {
	var s suspendError
	if errors.As(err, &s) && s.callback != nil {
		return s.callback.heartbeat, s.callback.timeout, true
	}
	return 0, 0, false
}

// SuspendedFor reports whether err is a Suspend, and for how long.
func SuspendedFor(err error) (time.Duration, bool) {
	var s suspendError
	if errors.As(err, &s) {
		return s.d, true
	}
	return 0, false
}

// Budget is the type's attempt budget with the default applied.
func (t *Type) Budget() int {
	if t.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return t.MaxAttempts
}

// retryableError marks a step error as worth another attempt.
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

// Retryable marks err as transient: the worker tries the subtask again, with backoff, while
// its attempt budget lasts.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryableError{err}
}

// IsRetryable reports whether err was marked with Retryable.
func IsRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r)
}

// CodedError lets a step name the errorCode recorded in Task.Errors.
type CodedError struct {
	Code    string
	Message string
}

func (e *CodedError) Error() string { return e.Message }

// Registry holds the task types a deployment knows. It is built once at start-up and only
// read afterwards, so it needs no lock.
type Registry struct {
	types map[string]*Type
}

// NewRegistry registers types; a type without a name, Plan or Run, or a name given twice, is
// a programming error reported at start-up.
func NewRegistry(types ...Type) (*Registry, error) {
	r := &Registry{types: make(map[string]*Type, len(types))}
	for i := range types {
		t := types[i]
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("task type %d has no name", i)
		case t.Plan == nil || (t.Run == nil && t.Execute == nil):
			return nil, fmt.Errorf("task type %q needs Plan and Run (or Execute)", t.Name)
		case r.types[t.Name] != nil:
			return nil, fmt.Errorf("task type %q registered twice", t.Name)
		}
		r.types[t.Name] = &t
	}
	return r, nil
}

// Lookup finds a registered type.
func (r *Registry) Lookup(name string) (*Type, bool) {
	t, ok := r.types[name]
	return t, ok
}

// RetryAllowed reports whether clients may retry tasks of type name: a registered type
// without NoRetry. With the status rule (Task.Retryable) it decides both the retry
// transition and what a task's isRetryable and links say.
func (r *Registry) RetryAllowed(name string) bool {
	typ, ok := r.Lookup(name)
	return ok && !typ.NoRetry
}

// All returns the registered types sorted by name, for /v1/task-types.
func (r *Registry) All() []*Type {
	out := make([]*Type, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Spec is what a client asks for when it creates a task.
type Spec struct {
	Type      string
	Name      string
	Input     json.RawMessage
	Resources []Resource
	// Retention is how long the task stays after it ends; 0 means DefaultRetention.
	Retention time.Duration
	// CallbackURL receives the task's webhooks (see Task.CallbackURL); empty: none.
	CallbackURL string
	// User is who asks (the token's subject), shown as the task's user.
	User string
	// ServiceNamespace and SubTasks are a service task's (a type with External): the service
	// that drives it and its steps. For any other type SubTasks must be empty.
	ServiceNamespace string
	SubTasks         []Step
}

// New makes a pending task of a registered type for owner, with its subtasks planned from
// the input. It is the only way a task comes to exist.
func (r *Registry) New(id, owner string, spec Spec, now time.Time) (Task, error) {
	typ, ok := r.Lookup(spec.Type)
	if !ok {
		return Task{}, fmt.Errorf("%w: %q", ErrUnknownType, spec.Type)
	}
	retention := spec.Retention
	if retention == 0 {
		retention = DefaultRetention
	}
	if retention < MinRetention || retention > MaxRetention {
		return Task{}, &FieldError{Field: "retentionSeconds", Reason: fmt.Sprintf("must be between %d and %d", int(MinRetention.Seconds()), int(MaxRetention.Seconds()))}
	}
	var input json.RawMessage
	if len(spec.Input) > 0 && string(spec.Input) != "null" {
		input = spec.Input
	}
	var steps []Step
	var err error
	switch {
	case typ.External:
		steps = spec.SubTasks
	case len(spec.SubTasks) > 0:
		return Task{}, &FieldError{Field: "subTasks", Reason: "is only for service tasks (type external); other types plan their own steps"}
	default:
		if steps, err = typ.Plan(input); err != nil {
			return Task{}, err
		}
	}
	if len(steps) == 0 {
		return Task{}, &FieldError{Field: "input", Reason: "the task has no steps"}
	}
	subs := make([]SubTask, len(steps))
	for i, s := range steps {
		subs[i] = SubTask{Name: s.Name, Description: s.Description, Status: Pending}
	}
	now = now.UTC()
	return Task{
		ID:          id,
		Type:        typ.Name,
		Name:        spec.Name,
		Owner:       owner,
		User:        spec.User,
		Status:      Pending,
		Input:       input,
		SubTasks:    subs,
		Resources:   spec.Resources,
		CallbackURL: spec.CallbackURL,
		MaxAttempts: typ.Budget(),
		Retention:   retention,
		CreatedAt:   now,
		UpdatedAt:   now,
		Version:     1,
		WriteID:     NewWriteID(),

		ServiceNamespace: spec.ServiceNamespace,
	}, nil
}
