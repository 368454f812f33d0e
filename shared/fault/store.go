package fault

import (
	"context"
	"sync"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// Store wraps a task.Store and fails its calls on demand. It stands for DynamoDB
// misbehaving, and for the moments between a read and a write that only a race reaches:
//   - a failed Create is the API unable to accept a task (nothing stored, nothing sent);
//   - a failed Get or Apply is the worker unable to advance a task: it must report the
//     message as failed so that SQS redelivers it and, after maxReceiveCount, moves it to
//     the dead-letter queue, whose handler ends the task instead of leaving it hanging;
//   - an Apply whose response is lost (Lost) wrote the transition although its caller was
//     told it failed: the redelivered message must find the task moved on and carry on from
//     there, never apply the same transition twice;
//   - BeforeApply runs a test's code between a caller's read and its conditional write, so
//     a test can land a client's cancel or retry exactly there and check that the write loses
//     and the caller decides again, rather than hoping a timing window opens.
//
// List is passed through unchanged.
type Store struct {
	inner task.Store

	creates, gets, applies counter

	mu          sync.Mutex
	onCreate    func(t task.Task) error
	onGet       func(id string) error
	onApply     func(c task.Change) error
	beforeApply func(ctx context.Context, c task.Change)
	applied     []task.Change
}

var _ task.Store = (*Store)(nil)

// NewStore wraps inner; with no fault set the wrapper is transparent.
func NewStore(inner task.Store) *Store {
	return &Store{inner: inner}
}

// Inner is the wrapped store, for reads a test makes behind the code under test's back.
func (s *Store) Inner() task.Store { return s.inner }

// FailCreates makes the next n Creates fail with ErrInjected without storing anything.
func (s *Store) FailCreates(n int) { s.creates.set(n) }

// FailGets makes the next n Gets fail with ErrInjected.
func (s *Store) FailGets(n int) { s.gets.set(n) }

// FailApplies makes the next n Applies fail with ErrInjected without writing anything.
func (s *Store) FailApplies(n int) { s.applies.set(n) }

// OnCreate sets a function consulted on every Create (after the FailCreates budget): nil
// lets the call through, an error fails it, Lost(err) stores and then fails. OnCreate(nil)
// removes it.
func (s *Store) OnCreate(f func(t task.Task) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCreate = f
}

// OnGet is OnCreate for Get (Lost makes no sense for a read and is treated as a failure).
func (s *Store) OnGet(f func(id string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onGet = f
}

// OnApply is OnCreate for Apply: Lost(err) writes the change (if the wrapped store accepts
// it) and then reports err.
func (s *Store) OnApply(f func(c task.Change) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onApply = f
}

// BeforeApply sets a function run at the start of every Apply, on the caller's goroutine,
// before any fault is judged and before the wrapped store sees the change. It may use the
// store itself (a cancel through the API over this very wrapper): such nested Applies run
// the function again, so it must recognise the change it waits for (and usually act once).
// BeforeApply(nil) removes it.
func (s *Store) BeforeApply(f func(ctx context.Context, c task.Change)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeApply = f
}

// Applied returns every change the wrapped store accepted through this wrapper, in the
// order it accepted them (lost responses included, since they were written).
func (s *Store) Applied() []task.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]task.Change(nil), s.applied...)
}

// Create implements task.Store.
func (s *Store) Create(ctx context.Context, t task.Task, idem *task.Idempotency) error {
	s.mu.Lock()
	f := s.onCreate
	s.mu.Unlock()
	var err error
	if s.creates.take() {
		err = ErrInjected
	} else if f != nil {
		err = f(t)
	}
	if err != nil && !isLost(err) {
		return err
	}
	if cerr := s.inner.Create(ctx, t, idem); cerr != nil {
		return cerr
	}
	return err
}

// Get implements task.Store.
func (s *Store) Get(ctx context.Context, id string, now time.Time) (task.Task, error) {
	s.mu.Lock()
	f := s.onGet
	s.mu.Unlock()
	if s.gets.take() {
		return task.Task{}, ErrInjected
	}
	if f != nil {
		if err := f(id); err != nil {
			return task.Task{}, err
		}
	}
	return s.inner.Get(ctx, id, now)
}

// Apply implements task.Store.
func (s *Store) Apply(ctx context.Context, c task.Change) error {
	s.mu.Lock()
	before, f := s.beforeApply, s.onApply
	s.mu.Unlock()
	if before != nil {
		before(ctx, c)
	}
	var err error
	if s.applies.take() {
		err = ErrInjected
	} else if f != nil {
		err = f(c)
	}
	if err != nil && !isLost(err) {
		return err
	}
	if cerr := s.inner.Apply(ctx, c); cerr != nil {
		return cerr
	}
	s.mu.Lock()
	s.applied = append(s.applied, c)
	s.mu.Unlock()
	return err
}

// List implements task.Store (passed through).
func (s *Store) List(ctx context.Context, q task.ListQuery) (task.Page, error) {
	return s.inner.List(ctx, q)
}
