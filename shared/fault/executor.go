package fault

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/task"
)

// Executor wraps a step executor (shared/executor) and makes its attempts misbehave on
// demand, as the Lambda functions and endpoints a catalog's steps call do: fail (retryable or
// for good, the error a test gives), hang until the step's context ends (a timeout), or
// panic. The worker runs catalog steps through it exactly as through the real executor.
type Executor struct {
	inner executor.Executor

	fails counter

	mu    sync.Mutex
	on    func(ctx context.Context, a task.Attempt) error
	calls []task.Attempt
}

var _ executor.Executor = (*Executor)(nil)

// NewExecutor wraps inner; with no fault set the wrapper is transparent.
func NewExecutor(inner executor.Executor) *Executor { return &Executor{inner: inner} }

// FailNext makes the next n attempts fail with task.Retryable(ErrInjected) without calling
// the wrapped executor.
func (e *Executor) FailNext(n int) { e.fails.set(n) }

// OnExecute sets a function consulted on every attempt (after the FailNext budget): nil lets
// the attempt through, an error is the attempt's error instead. It may block on ctx (a hung
// step) or panic (a crashing one). OnExecute(nil) removes it.
func (e *Executor) OnExecute(f func(ctx context.Context, a task.Attempt) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.on = f
}

// Hang makes every attempt block until its context ends and then fail with the context's
// error, as a function or endpoint that never answers.
func Hang(ctx context.Context, _ task.Attempt) error {
	<-ctx.Done()
	return ctx.Err()
}

// Calls returns the attempts the wrapper saw, in order.
func (e *Executor) Calls() []task.Attempt {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]task.Attempt(nil), e.calls...)
}

// Execute applies the faults set, then calls the wrapped executor.
func (e *Executor) Execute(ctx context.Context, a task.Attempt) (json.RawMessage, error) {
	e.mu.Lock()
	e.calls = append(e.calls, a)
	on := e.on
	e.mu.Unlock()
	if e.fails.take() {
		return nil, task.Retryable(ErrInjected)
	}
	if on != nil {
		if err := on(ctx, a); err != nil {
			return nil, err
		}
	}
	return e.inner.Execute(ctx, a)
}
