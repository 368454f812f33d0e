// Package dynamostore is the deployed task.Store: tasks and idempotency records in one
// DynamoDB table, read only through GetItem and Query (never Scan, whose cost grows with the
// whole table rather than with the answer).
//
// # Table
//
// One table, hash key pk (S) only. A single table keeps IAM, alarms, backups and the
// CloudFormation template to one resource, and lets Create write a task and its idempotency
// record in one transaction. There is no sort key because every item is addressed by itself:
//
//	task                 pk = "T#<id>"
//	idempotency record   pk = "I#<owner>#<key>"   taskId, bodyHash, owner, idemKey,
//	                                              expiresAt (N, TTL), expiresAtNs (N)
//
// In the idempotency pk a '%' or '#' in the owner is percent-escaped so that tenant "a" with
// key "b#c" and tenant "a#b" with key "c" can never share a record (the key, last, may hold
// anything). expiresAtNs keeps the record's exact expiry, because the TTL attribute has whole
// seconds only and "live" is decided to the nanosecond, as the file store does.
//
// A task item holds:
//
//	doc        S  the task's compact JSON (storedTask) without Input and Result, id,
//	              status and type: what a list shows (see "The stored document")
//	in, res    S  input and result JSON, absent when empty: only Get reads them, and they
//	              are the bulk of an item, so no index carries them
//	out        S  the subtasks' outputs as one JSON array (null for a subtask without),
//	              absent when none has one: kept out of doc like in and res
//	st, v, ty  S/N/S  status, version and type, outside doc so that conditions
//	              (st = :from AND v = :ver) and filters (ty = :ty) can see them
//	expiresAt  N  epoch seconds, only once the task is terminal: the table's TTL attribute
//	o          S  owner                              ┐
//	os         S  owner + "#" + status               │ index keys
//	c, u       S  createdAt/updatedAt as             │
//	              "2006-01-02T15:04:05.000Z" + "#" + id
//	act        S  "<status>#<fnv32a(id) % 8>", e.g. "pending#3", only while pending or
//	              processing
//	ga         S  "all#<fnv32a(id) % 8>", e.g. "all#5": the task's shard of the all-tenants
//	              indexes, fixed for its life
//
// c and u are fixed width, so string order is time order, and end in the id, so that every
// value is unique and can serve as a paging cursor with ties broken by id. expiresAt is the
// exact expiry rounded up to a whole second: TTL may delete an item only after it expired,
// never before. Go, not DynamoDB, has the last word on expiry: Get and List drop a task whose
// ExpiresAt is not after the caller's now, because TTL deletes expired items only eventually
// (typically within days) and its attribute has whole seconds.
//
// # Indexes
//
//	byCreated        (o, c)    ┐ INCLUDE doc, st, ty, expiresAt: what a list needs; every
//	byUpdated        (o, u)    │ projected byte is written (and paid for) again on every
//	byStatusCreated  (os, c)   │ change of the task, and listed tasks omit input and result,
//	byStatusUpdated  (os, u)   │ so in and res are not projected
//	allCreated       (ga, c)   │
//	allUpdated       (ga, u)   ┘
//	byActive         (act, u)  KEYS_ONLY, for Stale
//
// Lists are per tenant, so every list index but allCreated and allUpdated is partitioned by
// owner (or owner and status). A
// status filter of one status reads one byStatus* partition; several statuses read one
// partition each and merge them (see List); no filter, or all five statuses, reads byCreated
// or byUpdated. An admin's list of every tenant (ListQuery.Owner "") reads allCreated or
// allUpdated: one partition for every task would be a hot partition by design, so ga spreads
// the tasks over 8 shards by a hash of the id, and a page queries the 8 shards and merges them
// as the multi-status list does; the status and type filters are FilterExpressions there.
// The trade-off: admin lists are rare and cost 8 Queries a page, while every task write pays
// for the two indexes (each create or change also writes the task's entry in allCreated and
// allUpdated, two more index writes per change, their projected bytes included). byActive is
// sparse, since act exists only on active tasks, so the sweeper
// reads only the tasks it may have to act on; it is spread over 8 shards so that a burst of
// active tasks does not make one hot partition, and it is keys-only because the sweeper needs
// only ids. Billing is PAY_PER_REQUEST: the traffic is bursty and unknown in advance.
//
// act carries the status because the sweeper asks about each active status with its own
// cutoff (worker.Sweeper says why). A FilterExpression on st
// would not help: the index does not project st, and even if it did, DynamoDB applies Limit
// before the filter and bills the items filtered out. With the status
// in the partition key, Stale(status) reads only "<status>#0".."<status>#7", each with its
// own cutoff, so a processing task is not even read until it is itself stale. The price is 16
// Queries per sweep instead of 8 (one that finds nothing costs half a read request unit), and
// a status change moves the task to another byActive partition, which costs no extra write:
// its index entry is rewritten on every change anyway, since u changes.
//
// # Writes
//
// Create puts the task with attribute_not_exists(pk); with an idempotency key it puts the
// task and the record in one TransactWriteItems, the record conditional on being absent or
// expired, so that a key is never bound to two tasks. Apply puts the whole new item
// conditional on st and v still being those the change was computed from (optimistic
// concurrency: a lost race is a *task.ConflictError and writes nothing). Whole-item puts keep
// every derived attribute (os, u, act, expiresAt) consistent with doc by construction.
//
// # Writes whose answer was lost
//
// A conditional write can be applied by DynamoDB and its answer still be lost: a 500, a
// reset connection, a timeout after the write. The SDK then retries the same request, and
// the retry fails its condition, because the first try moved the version on (or, for a
// create, made the item exist). Taken for a lost race, that would mislead every caller: the
// worker would drop its message and leave the task processing with no message until the
// sweeper; a client's cancel or retry would be answered 409 for a change it made; an
// unkeyed create would be answered 500 for a task that exists, and a keyed one would be
// taken for a replay and never announced to the worker.
//
// So every write recognises its own: each stored version of a task carries a WriteID
// (task.Task.WriteID), a random 128-bit id drawn by task.Registry.New and by every
// transition, so no two writers ever put the same item, and every conditional put asks for
// ReturnValuesOnConditionCheckFailure ALL_OLD, with which DynamoDB returns the item that
// failed the condition: in ConditionalCheckFailedException.Item for PutItem, in each
// CancellationReason's Item for TransactWriteItems. When that item is exactly the one being
// written (the same WriteID, every attribute equal, and for a keyed create the idempotency
// record equal too), the write already happened and the call succeeds. Anything else is
// another writer's, and stays a *task.ConflictError (or a failed create). Asking for the old
// item costs no read capacity, only the bytes of the answer, and only when a condition fails.
// The WriteID is
// needed because equality alone could be two writers computing the same change at the same
// instant, and then both would think they won (two workers would both run one attempt).
//
// A change that a third writer changed again between the lost answer and the retry is
// reported as a conflict: the caller re-reads and decides from there, as after any lost
// race. The file store (shared/filestore) keeps the same rule, so that the conformance
// suite holds both stores to it: re-sending the very change or create already stored is
// success. TransactWriteItems also carries a ClientRequestToken (the SDK fills it in), with
// which DynamoDB itself answers an identical retry within ten minutes with success; the
// emulator ignores the token, and our own retries of a cancelled transaction send a new one,
// so the check above does not rely on it. moto (5.2) returns the ALL_OLD item for both
// operations as DynamoDB documents, and the tests run the check against it. An answer lost
// beyond the SDK's retries (they ran out, or the last one timed out) reaches the caller as an
// error; task.Writer then reads the task back and takes a stored version with its own WriteID
// for success (task.Writer.landed).
//
// # Paging
//
// List pages by key-range seek: the cursor is the sort-key value (c or u) up to which the
// previous page read, and the next page's key condition is c < :after (descending) or
// c > :after (ascending). Unlike ExclusiveStartKey, such a cursor is valid in every status
// partition at once, which the multi-status and all-tenants merges need, and stays valid when
// the item it names has since been deleted or has moved. Each partition is queried with
// Limit = page size + 1: DynamoDB returns a LastEvaluatedKey whenever a Query stops at its
// Limit, even with nothing after it, so the one item more is what tells a page that ends at
// the last task (no Next) from one with more to come.
//
// # The stored document
//
// Every write costs a WRU on the table, and on each index entry it writes, per started KB of
// the item (or entry), so the doc is a compact encoding of the task private to this package
// (storedTask in stored.go) that keeps an ordinary task's item under 1 KB for its whole life:
// the reference demo task of shared/costmodel grows from 631 to 821 bytes from create to
// success, where the whole task.Task JSON grew it from 918 to 1,346 (2 WRU a write once past
// 1 KB). It has one- and two-letter keys, omits fields that are zero or empty, writes
// createdAt as Unix nanoseconds and every other time as nanoseconds after createdAt (exact:
// the worker and the API compare times to the nanosecond; a time that cannot be held so is
// refused), and holds no copy of what the item and every list index entry carry as
// attributes: the id (pk, which every index entry holds as the table's key), the status (st)
// and the type (ty), both projected. The owner and the version stay in the doc: the
// all-tenants indexes carry no o and no list index projects v. Decoding puts the task back
// together from doc, pk, st and ty, whether from the item or from a list index entry.
//
// The doc is written without HTML escaping ('<', '>' and '&' as themselves, not six-byte \u
// escapes), which keeps items further from DynamoDB's 400 KB limit; both forms decode alike.
// Its bytes are a function of the task, so a put whose answer was lost still finds its own
// item equal attribute by attribute (see "Writes whose answer was lost").
//
// Earlier releases stored the whole task.Task JSON, which always begins {"id": (encoding/json
// writes fields in order, and ID is Task's first); the compact form has no "id" key, so
// itemTask tells the forms apart by that prefix and decodes both. A deployed table therefore
// needs no migration: its old items read as before, and each is rewritten in the compact form
// by its next write; terminal tasks that are never written again keep the old form until TTL
// deletes them.
//
// Every call asks for ReturnConsumedCapacity INDEXES and hands it to the WithCapacity
// callback, so that the cost of each operation, index writes included, can be measured.
package dynamostore
