// Package dynamostore is the deployed task.Store: tasks and idempotency records in one
// DynamoDB table, read only through GetItem, Query and BatchGetItem (never Scan, whose cost
// grows with the whole table rather than with the answer).
//
// # Table
//
// One table, partition key pk (S) and sort key sk (S). A single table keeps IAM, alarms,
// backups and the CloudFormation template to one resource, and lets Create write a task and
// its idempotency record in one transaction:
//
//	task                 pk = "S#<nn>"               sk = <id>
//	idempotency record   pk = "I#<owner>#<key>"      sk = "I"    taskId, bodyHash, owner,
//	                                                 idemKey, expiresAt (N, TTL), expiresAtNs (N)
//
// nn is fnv32a(id) % Shards (16), two digits: the task's shard, fixed for its life, so that
// GetItem needs only the id. The shards spread every write of a burst over 16 partitions,
// which caps the table's writes at about 16 × 1,000 WCU/s before DynamoDB's adaptive capacity
// splits a hot one (a task's write is 1 WCU: ~3,000 tasks/s created, each written 5 times),
// and they hold every tenant's tasks in created order for an admin's list (see "Paging"). sk,
// the id, is a ULID whose first 48 bits are the creation's millisecond, so each shard is in
// created order, and the order (createdAt ms, id) of every list is sk's order as long as the
// id's time is its createdAt's millisecond: task.Registry.New is given the now that
// task.NewID was, and Create refuses a task whose id does not match (checkCreatedOrder).
//
// In the idempotency pk a '%' or '#' in the owner is percent-escaped so that tenant "a" with
// key "b#c" and tenant "a#b" with key "c" can never share a record (the key, last, may hold
// anything); ot escapes the owner the same way. expiresAtNs keeps the record's exact expiry,
// because the TTL attribute has whole seconds only and "live" is decided to the nanosecond,
// as the file store does.
//
// A task item holds:
//
//	doc        S  the task's compact JSON (storedTask) without Input and Result, id,
//	              status and type (see "The stored document")
//	in, res    S  input and result JSON, absent when empty: only Get returns them
//	out        S  the subtasks' outputs as one JSON array (null for a subtask without),
//	              absent when none has one: kept out of doc like in and res
//	st, v, ty  S/N/S  status, version and type, outside doc so that conditions
//	              (st = :from AND v = :ver) and filters (ty = :ty, st IN ...) can see them
//	expiresAt  N  epoch seconds, only once the task is terminal: the table's TTL attribute
//	o          S  owner                                           ┐
//	ot         S  escaped owner + "#" + type                      │ index keys, fixed for
//	c          S  createdAt as "2006-01-02T15:04:05.000Z#" + id   ┘ the task's life
//
// c is fixed width, so string order is time order, and ends in the id, so that every value is
// unique and serves as a paging cursor with ties broken by id. expiresAt is the exact expiry
// rounded up to a whole second: TTL may delete an item only after it expired, never before.
// Go, not DynamoDB, has the last word on expiry: Get and List drop a task whose ExpiresAt is
// not after the caller's now, because TTL deletes expired items only eventually (typically
// within days) and its attribute has whole seconds. Billing is PAY_PER_REQUEST: the traffic
// is bursty and unknown in advance.
//
// # Indexes
//
//	byOwner  (o, c)   KEYS_ONLY  a tenant's tasks by createdAt
//	byType   (ot, c)  KEYS_ONLY  a tenant's tasks of one type by createdAt
//
// What an index costs is what decided the design (issue #9: at most $8 per million tasks).
// DynamoDB writes an index entry whenever a write changes its key or a projected attribute:
// a put when only projected attributes change, a delete and a put when the key changes, and
// nothing otherwise. A task is written 5 times (its create and the worker's 4 folded writes),
// so an index keyed on updatedAt or status moves on most of them (8 or 9 WRU a task each), and
// one that projects the document (which every worker write changes) is rewritten on each (5
// WRU). Both indexes here have keys that never change and project nothing but keys, so each
// costs one entry put per task, at its create, and nothing after: 2 WRU of a task's 7 (the
// table takes 5). The price is on the read side: a list reads the page's keys, then its items
// with one BatchGetItem, billed per item (each rounded up to 4 KB, halved when eventually
// consistent: 0.5 RRU an item), where an index projecting the document would bill the page's
// summed bytes (~0.1 RRU an item). A page of 25 costs 13 RRU instead of about 3; the reference
// workload lists one page of one task, and reads cost an eighth of what writes do per unit
// size.
//
// The indexes are partitioned by tenant, as lists are: one tenant's creates go to one
// partition of each, about 1,000 entry writes a second before DynamoDB splits it (a
// throttled index throttles the table's writes too), which caps one tenant at about 1,000
// new tasks a second; the worker's later writes touch no index, so they are not capped.
//
// Three orderings are needed (a tenant by createdAt, a tenant and type by createdAt, every
// tenant by createdAt), and the table itself carries the third: its shards are every task in
// created order. A status filter is not an index (a status index moves on every status change):
// the list walks the created order and keeps the matching tasks, reading a bounded number of
// candidates per page (ScanFactor, see "Paging").
//
// sort_key=updatedAt has no index by default: every fitting one moves on every write. A page
// in updatedAt order reads every candidate of the list (the tenant's keys, or the tenant's of
// the type, then their items; every shard for an admin), sorts them by (updatedAt, id) and
// seeks past the cursor, so its cost grows with the tenant's live tasks: about 0.5 RRU per
// task per page (a tenant of 1,000 live tasks pays ~500 RRU, $0.06 per thousand such pages).
// A deployment may opt in to the indexes that serve it. The template's parameter
// UpdatedAtIndex adds IndexByUpdated, KEYS_ONLY (o, u), and its UPDATED_AT_INDEX makes the
// list function's store read it (WithUpdatedAtIndex): a tenant's updatedAt page is then one
// Query and one BatchGetItem, as a createdAt page, with a type filter kept as a status filter
// is (bounded partial pages). AdminUpdatedAtIndex adds IndexAllUpdated, KEYS_ONLY (pk, u):
// the shards in updatedAt order, merged for an admin's page as the table's shards are in
// createdAt order (ADMIN_UPDATED_AT_INDEX, WithAdminUpdatedAtIndex). Unfiltered, that page's
// order is decided from the index keys alone and only its Limit tasks are read (about 22 RRU
// for 25, within 2× a tenant's page, at any table size; reading each shard's items as the
// filtered page does would fetch 16 × 3 of them, about 40 RRU); without the index an admin's
// updatedAt page reads the whole table. Each index's price: u changes on every write, so each
// of a task's 4 later writes moves its entry (a delete and a put), plus the create's put: +9
// WRU a task, $5.63 per million tasks, more than doubling the price of every task to serve a
// rare order, hence off by default. Every item carries u (52 bytes, still under 1 KB) with or
// without them, so that turning one on is an UpdateTable that DynamoDB backfills from the
// items; CloudFormation adds one index per stack update, so the two are turned on in separate
// updates.
//
// # Writes
//
// Create puts the task with attribute_not_exists(pk); with an idempotency key it puts the
// task and the record in one TransactWriteItems, the record conditional on being absent or
// expired, so that a key is never bound to two tasks. Apply puts the whole new item
// conditional on st and v still being those the change was computed from (optimistic
// concurrency: a lost race is a *task.ConflictError and writes nothing). Whole-item puts keep
// every derived attribute (o, ot, c, expiresAt) consistent with doc by construction; the index
// keys among them are the same in every put of a task, so no later put touches an index.
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
// List pages by key-range seek: the cursor is the c value (in updatedAt order, the same form
// of updatedAt and id) up to which the previous page read, and the next page's key condition
// is c < :after (descending) or c > :after (ascending); on the shards, sk < or > the cursor's
// id, which is the same position. Unlike ExclusiveStartKey, such a cursor is valid in every
// shard at once, which the admin merge needs, and stays valid when the item it names has
// since been deleted.
//
// A tenant's page Queries byOwner (byType with a type filter) for Limit+1 keys: DynamoDB
// returns a LastEvaluatedKey whenever a Query stops at its Limit, even with nothing after it,
// so the one key more is what tells a page that ends at the last task (no Next) from one with
// more to come; then one eventually consistent BatchGetItem reads the page's Limit items
// (UnprocessedKeys retried), and a task found expired, or gone, is dropped.
//
// An admin's page of every tenant (ListQuery.Owner "") Queries the 16 shards in sk order,
// a few items each (ceil((Limit+1)/16)+1, and one more to know whether more follow), and
// merges them lazily: the page takes the earliest head of all shards until it holds Limit
// tasks, and refills only a shard the page has drained. A default admin page of 25 reads
// about 50 items in 16 or so Queries, each billed by its summed bytes: about 10 RRU, where a
// tenant's page costs 13 (the bar: at most 2×). Type and status filters are
// FilterExpressions there; a shard whose read kept nothing under a filter reads twice as many
// items the next time.
//
// A status filter on a tenant's list keeps the matching tasks of the walk in created order:
// a page reads candidates until it holds Limit tasks, but never more than ScanFactor ×
// (Limit+1) of them beyond its first read. A page may so hold fewer than Limit tasks, even
// none, and still have a Next (the contract allows it: a page never holds more than limit;
// AIP-158 does the same), and walking Next still visits every matching task exactly once, in
// order: a page ends at the earliest position every cursor has read up to, and the next one
// starts there. The same bound stops an admin page whose filters match little. The filter
// reads are what a rare status costs: up to 4 × 26 candidates, ~52 RRU, for a page of 25.
//
// # The stored document
//
// Every write costs a WRU on the table, and on each index entry it writes, per started KB of
// the item (or entry), so the doc is a compact encoding of the task private to this package
// (storedTask in stored.go) that keeps an ordinary task's item under 1 KB for its whole life:
// the reference demo task of shared/costmodel grows from 649 to 851 bytes from create to
// success, where the whole task.Task JSON grew it from 918 to 1,346 (2 WRU a write once past
// 1 KB). It has one- and two-letter keys, omits fields that are zero or empty, writes
// createdAt as Unix nanoseconds and every other time as nanoseconds after createdAt (exact:
// the worker and the API compare times to the nanosecond; a time that cannot be held so is
// refused), and holds no copy of what the item carries as attributes read by conditions and
// filters: the id (sk), the status (st) and the type (ty). (The owner and the version stay in
// the doc, as they did when list indexes projected it.) Decoding puts the task back together
// from doc, sk, st and ty.
//
// The doc is written without HTML escaping ('<', '>' and '&' as themselves, not six-byte \u
// escapes), which keeps items further from DynamoDB's 400 KB limit; both forms decode alike.
// Its bytes are a function of the task, so a put whose answer was lost still finds its own
// item equal attribute by attribute (see "Writes whose answer was lost").
//
// Earlier releases stored the whole task.Task JSON, which always begins {"id": (encoding/json
// writes fields in order, and ID is Task's first); the compact form has no "id" key, so
// decodeDoc tells the forms apart by that prefix and decodes both. Items of the table before
// this design (pk "T#<id>", no sk) are read only by MigrateItem (infra/migrate).
//
// # Moving a deployed table to this design
//
// The key schema changed (pk alone → pk and sk), and DynamoDB cannot change a table's key,
// so the new design is a new table beside the old, and no task is lost on the way:
//
//  1. Deploy the new table (the template's TasksTable under a new logical id, or by
//     `go run ./infra/bootstrap -table <new>` for a test) beside the old, TTL on expiresAt.
//  2. Stop the work: disable the event source mappings of the worker and the dead-letter
//     function (aws lambda update-event-source-mapping --no-enabled) and throttle the API (the stage's
//     ApiThrottleRateLimit and ApiThrottleBurstLimit to 0), so that nothing writes the old
//     table. The work queue keeps its messages meanwhile (SQS's default retention, 4 days),
//     so no task that was due to run is lost: it runs once the mapping is enabled again.
//  3. Copy: `go run ./infra/migrate -from <old> -to <new>` Scans the old table and writes
//     every live item in the new layout (MigrateItem: tasks re-encoded by TaskItem, the
//     compact document either way; idempotency records given sk "I"; expired items left
//     behind) with BatchWriteItem, retrying UnprocessedItems. It can be run again: each
//     item is written whole, the same for the same old item.
//  4. Switch TABLE_NAME (the template's TasksTable reference) to the new table and deploy;
//     enable the event source mappings and restore the throttle. Keep the old table (its
//     DeletionPolicy is Retain) until the new one has served for a while, then delete it.
//
// Every call asks for ReturnConsumedCapacity INDEXES and hands it to the WithCapacity
// callback, so that the cost of each operation, index writes included, can be measured.
package dynamostore
