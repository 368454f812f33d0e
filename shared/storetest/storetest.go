// Package storetest is the conformance suite of task.Store: the embedded file store and the
// DynamoDB store both run it from their own tests, so that the API and the worker can rely
// on one behaviour whichever store is deployed.
//
// The suite pins what the Store interface and the Tasks API v1 contract promise:
//   - Create stores every field so that Get returns it (times compared to the millisecond,
//     raw JSON compared by meaning); a second Create of the same id fails and overwrites
//     nothing.
//   - Get and List judge expiry by the caller's now: a task whose expiresAt is not after now
//     is not found and never listed, though still stored.
//   - Apply is conditional on the change's FromStatus and FromVersion; a lost race is a
//     *task.ConflictError and writes nothing; of concurrent changes from one version exactly
//     one wins. Re-sending the very change (or create) already stored, WriteID and all, is
//     success: its first try was written and only the answer was lost.
//   - Create with an idempotency record writes both or neither; a live record of the same
//     owner and key is an *task.IdempotencyExistsError carrying the first use; a record whose
//     ExpiresAt is before the new task's CreatedAt is gone and is replaced.
//   - List is per owner (Owner "" is every owner's tasks, for admins, with the same order,
//     filters, paging and expiry), ordered by (createdAt, id) or (updatedAt, id) either way, filtered by
//     statuses and type, never more than Limit per page; walking Next visits every matching
//     task once, in order, and in createdAt order still does so while tasks are created,
//     changed and expire between pages. List may leave Input and Result empty (the API
//     omits them from lists); every other field must be as stored.
//
// Times are a fixed base plus offsets, never the wall clock, and nothing sleeps.
// Decisions the suite deliberately leaves open: whether an idempotency record expiring
// exactly at the new task's CreatedAt is live, and which error a Create of an existing id
// returns (only that it fails).
package storetest

import (
	"strings"
	"testing"

	"github.com/tasklane/tasklane/shared/task"
)

// Run runs the whole suite against the store implementation that newStore makes.
//
// Each subtest calls newStore with its own *testing.T, and subtests run in parallel, so
// newStore must be safe to call concurrently and must return a fresh, empty store (no task,
// no idempotency record) that no other subtest uses; it should register the store's release
// with t.Cleanup and fail t (t.Fatal) if it cannot make one. The suite only calls the
// task.Store methods.
func Run(t *testing.T, newStore func(t *testing.T) task.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newStore)
		})
	}
}

// RunUpdatedLists runs the suite's lists in updatedAt order only (the List/ cases but the
// walks in createdAt order, and Apply/Stored), for a variant of a store that changes nothing
// but how lists in that order are read (dynamostore's WithUpdatedAtIndex and
// WithAdminUpdatedAtIndex): the createdAt reads are Run's, the same code.
func RunUpdatedLists(t *testing.T, newStore func(t *testing.T) task.Store) {
	t.Helper()
	for _, c := range cases {
		if !strings.HasPrefix(c.name, "List/") && c.name != "Apply/Stored" || strings.HasSuffix(c.name, "WalkCreated") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, func(t *testing.T) task.Store { return updatedOnly{newStore(t)} })
		})
	}
}

// newStoreFunc is the constructor Run was given.
type newStoreFunc = func(t *testing.T) task.Store

// cases lists the suite's subtests; each gets the constructor so that a table-driven test
// can make one fresh store per row.
var cases = []struct {
	name string
	run  func(t *testing.T, newStore newStoreFunc)
}{
	{"Create/RoundTrip", testCreateRoundTrip},
	{"Create/ExistingID", testCreateExistingID},
	{"Create/Resent", testCreateResent},
	{"Get/NotFound", testGetNotFound},
	{"Get/Expired", testGetExpired},
	{"Apply/Stored", testApplyStored},
	{"Apply/Conflict", testApplyConflict},
	{"Apply/Concurrent", testApplyConcurrent},
	{"Apply/Resent", testApplyResent},
	{"Idempotency/Exists", testIdempotencyExists},
	{"Idempotency/OwnersAndKeys", testIdempotencyOwnersAndKeys},
	{"Idempotency/Expired", testIdempotencyExpired},
	{"Idempotency/ExistingID", testIdempotencyExistingID},
	{"List/Empty", testListEmpty},
	{"List/OneOwner", testListOneOwner},
	{"List/Queries", testListQueries},
	{"List/Expired", testListExpired},
	{"List/ConcurrentWalkCreated", testListConcurrentWalkCreated},
	{"List/ConcurrentWalkUpdated", testListConcurrentWalkUpdated},
	{"List/AllOwners/Empty", testListAllOwnersEmpty},
	{"List/AllOwners/Queries", testListAllOwnersQueries},
	{"List/AllOwners/Expired", testListAllOwnersExpired},
	{"List/AllOwners/ConcurrentWalkCreated", testListAllOwnersConcurrentWalk},
}
