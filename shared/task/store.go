package task

import (
	"context"
	"errors"
	"time"
)

// Store persists tasks. Implementations: the embedded file store (for make run) and the
// DynamoDB store (deployed); both pass the same conformance suite (shared/storetest).
//
// Every read takes now, the caller's clock, so that expiry is judged by one clock and tests
// can move it: a task whose expiresAt is not after now is reported as not found and never
// listed, even while it is still stored.
type Store interface {
	// Create stores a new task. With idem non-nil it also stores the idempotency record, in
	// the same atomic write; if a live record with that owner and key exists, nothing is
	// written and the error is an *IdempotencyExistsError carrying the existing record.
	Create(ctx context.Context, t Task, idem *Idempotency) error
	// Get returns the task, or ErrNotFound if it does not exist or has expired at now.
	Get(ctx context.Context, id string, now time.Time) (Task, error)
	// Apply writes a change if the stored task is still at c.FromStatus and c.FromVersion;
	// otherwise it returns a *ConflictError and writes nothing.
	Apply(ctx context.Context, c Change) error
	// List returns one page of a tenant's tasks in the query's order.
	List(ctx context.Context, q ListQuery) (Page, error)
}

// SortKey is the attribute a list is ordered by.
type SortKey string

const (
	// SortCreated orders by createdAt (then id): the default, stable as tasks change.
	SortCreated SortKey = "createdAt"
	// SortUpdated orders by updatedAt (then id); a task that changes during a walk moves.
	SortUpdated SortKey = "updatedAt"
)

// ListQuery selects one page of one tenant's tasks.
type ListQuery struct {
	Owner    string
	Statuses []Status // empty: every status
	Type     string   // empty: every type
	SortKey  SortKey
	Desc     bool
	Limit    int
	// After is the store's own position from the previous page's Page.Next; nil for the
	// first page. It is opaque to everyone but the store that made it (the API seals it).
	After []byte
	Now   time.Time
}

// Page is one page of a list. Next is nil on the last page; a page may hold fewer than
// Limit tasks (expired ones are dropped) and still have a Next.
type Page struct {
	Tasks []Task
	Next  []byte
}

// Idempotency remembers which task a client's Idempotency-Key created, and a hash of the
// request that did, for 24 hours.
type Idempotency struct {
	Owner     string
	Key       string
	BodyHash  string
	TaskID    string
	ExpiresAt time.Time
}

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyExistsError is Create's answer when the key was used before; Existing is the
// first use.
type IdempotencyExistsError struct {
	Existing Idempotency
}

func (e *IdempotencyExistsError) Error() string {
	return "idempotency key " + e.Existing.Key + " already used"
}

// AsIdempotencyExists unwraps an *IdempotencyExistsError.
func AsIdempotencyExists(err error) (*IdempotencyExistsError, bool) {
	var e *IdempotencyExistsError
	ok := errors.As(err, &e)
	return e, ok
}
