// Package fault wraps the work queue and the task store with failures a test can inject:
// a send that does not reach SQS, a write DynamoDB refuses, a response lost after the write
// happened, a client's cancel that lands between a worker's read and its write. Transport
// does the same one level lower, in an AWS SDK client's HTTP transport, so that the SDK's own
// retries of a write whose answer was lost are what the test exercises.
//
// The robustness promises of the contract (delivery at least once, each transition applied
// once, no task lost or stuck) are about what happens when the infrastructure misbehaves, so
// tests must be able to make it misbehave on demand, on both backends, without the code under
// test knowing. Wrappers do that from the outside: the worker and the API run
// unchanged over a fault.Queue or a fault.Store, exactly as they run over SQS and DynamoDB in
// production, and no production code carries an "if testing" branch that could itself be
// wrong or be left switched on.
//
// A wrapper with no fault set is transparent. Faults are set and changed through methods
// that are safe to call while other goroutines use the wrapper, so a test can switch a fault
// on in the middle of a run.
package fault

import (
	"errors"
	"sync"
)

// ErrInjected is the error of a failure this package made up. Code under test must treat it
// like any infrastructure error (a timeout, a throttled request); tests use errors.Is to tell
// it from a real one.
var ErrInjected = errors.New("fault: injected failure")

// Lost marks err as a lost response: the wrapper performs the operation on the wrapped store
// or queue first and then reports err anyway, as when the request reached DynamoDB or SQS and
// only the answer was lost (a timeout after the write). The caller cannot tell it from a
// failure that changed nothing, which is exactly the ambiguity retries must survive.
func Lost(err error) error {
	if err == nil {
		err = ErrInjected
	}
	return lostError{err}
}

type lostError struct{ err error }

func (e lostError) Error() string { return "response lost: " + e.err.Error() }
func (e lostError) Unwrap() error { return e.err }

// isLost reports whether err came from Lost.
func isLost(err error) bool {
	var l lostError
	return errors.As(err, &l)
}

// counter is "fail the next n calls": a budget of failures consumed one call at a time.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) set(n int) {
	c.mu.Lock()
	c.n = n
	c.mu.Unlock()
}

// take consumes one failure if any is left.
func (c *counter) take() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n > 0 {
		c.n--
		return true
	}
	return false
}
