// Package filestore is the embedded task.Store for `make run`: every task lives in one local
// bbolt file, so a developer's tasks survive a restart without DynamoDB. It keeps the same
// promises as the DynamoDB store (and passes the same conformance suite, shared/storetest):
// conditional writes on status and version, idempotency records written atomically with their
// task, expiry judged by the caller's clock, and list pages that resume from the last key
// returned, so that a walk never repeats or skips a task that exists throughout it.
//
// Layout of the file (one bucket each):
//
//	tasks       id                                      → the task as JSON
//	by_created  owner · createdAt (ms) · id             → listEntry (status, type, expiresAt)
//	by_updated  owner · updatedAt (ms) · id             → listEntry
//	all_created createdAt (ms) · id                     → listEntry, every owner's tasks
//	all_updated updatedAt (ms) · id                     → listEntry, every owner's tasks
//	active      status · updatedAt (ns) · id            → empty; pending and processing only
//	idem        owner · key                             → the Idempotency record as JSON
//	meta        "schema"                                → layout version
//
// owner and status are length-prefixed, so no owner's (or status's) range can contain
// another's keys whatever bytes the names hold; times are big-endian with the sign bit
// flipped, so bytes sort as instants do. The list indexes keep status, type and expiry in
// their values, so filters and expiry are judged without decoding tasks that are not
// returned. all_created and all_updated are the same entries without the owner, for an
// admin's list of every tenant (ListQuery.Owner ""): the same order, filters and cursors, on
// one range that holds every owner's tasks.
//
// The active index leads with the status because the sweeper asks about each active status
// with its own cutoff (worker.Sweeper says why): per status, each answer holds only tasks of
// that status.
//
// Expired tasks are hidden, never deleted, so the file only grows; it is a development
// store, and deleting the file starts afresh.
package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tasklane/tasklane/shared/task"
)

var (
	bucketTasks   = []byte("tasks")
	bucketCreated = []byte("by_created")
	bucketUpdated = []byte("by_updated")
	bucketAllCrt  = []byte("all_created")
	bucketAllUpd  = []byte("all_updated")
	bucketActive  = []byte("active")
	bucketIdem    = []byte("idem")
	bucketMeta    = []byte("meta")

	keySchema = []byte("schema")
)

// schemaVersion names the layout above; a file written by another layout is refused at Open
// rather than misread. Version 2 added the status to the active index's keys; version 3 added
// all_created and all_updated, which Open builds from the tasks of a version 2 file.
const schemaVersion = "3"

// maxScan bounds the index entries one List call examines, so that a filter matching few
// tasks does not hold a read transaction over the whole file; a page cut short by it still
// has a Next.
const maxScan = 10000

// lockTimeout is how long Open waits for another process to release the file's lock before
// failing, instead of hanging forever on a second `make run`.
const lockTimeout = 2 * time.Second

// Store is a task.Store kept in one bbolt file. It is safe for concurrent use: bbolt runs one
// writing transaction at a time and any number of readers, which is what makes Apply's check
// and write one atomic step.
type Store struct {
	db *bolt.DB
	// writing counts the writes under way, for write to tell a lone one.
	writing atomic.Int64
	outbox  atomic.Bool // see EnableOutbox (outbox.go)
}

var _ task.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path. Only one process may have it open;
// another Open of the same file fails after a short wait.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketTasks, bucketCreated, bucketUpdated, bucketAllCrt, bucketAllUpd, bucketActive, bucketIdem, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			return meta.Put(keySchema, []byte(schemaVersion))
		case string(v) == "2":
			if err := buildAllIndexes(tx); err != nil {
				return fmt.Errorf("upgrading the file from layout version 2: %w", err)
			}
			return meta.Put(keySchema, []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("file has layout version %q, this build reads %q (delete the file to start afresh)", v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("filestore: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file, so that the next Open (this process or another) can take it.
func (s *Store) Close() error {
	return s.db.Close()
}

// Create stores a new task, and with idem non-nil its idempotency record, in one
// transaction: either both are written or neither. An idempotency record counts as live
// while t.CreatedAt is before its ExpiresAt; a live one makes Create fail with
// *task.IdempotencyExistsError, an expired one is replaced. A task id that is already stored
// is an error and nothing is overwritten, unless what is stored is exactly this create (the
// task with its WriteID, and its record): a re-sent create is success, as in the DynamoDB
// store (see "Writes whose answer was lost" in its package comment).
func (s *Store) Create(ctx context.Context, t task.Task, idem *task.Idempotency) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkTask(t); err != nil {
		return err
	}
	var idemKey []byte
	if idem != nil {
		var err error
		if idemKey, err = ownerKey(idem.Owner, []byte(idem.Key)); err != nil {
			return err
		}
	}
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("filestore: encode task %s: %w", t.ID, err)
	}
	return s.write(func(tx *bolt.Tx) (refused, err error) {
		tasks := tx.Bucket(bucketTasks)
		if stored := tasks.Get([]byte(t.ID)); stored != nil {
			if t.WriteID != "" && bytes.Equal(stored, body) && sameIdem(tx, idemKey, idem) {
				return nil, nil // this very create, re-sent: it is stored already
			}
			return fmt.Errorf("filestore: task %s already exists", t.ID), nil
		}
		if idem != nil {
			b := tx.Bucket(bucketIdem)
			if raw := b.Get(idemKey); raw != nil {
				var old task.Idempotency
				if err := json.Unmarshal(raw, &old); err != nil {
					return nil, fmt.Errorf("filestore: decode idempotency record: %w", err)
				}
				if t.CreatedAt.Before(old.ExpiresAt) {
					return &task.IdempotencyExistsError{Existing: old}, nil
				}
			}
			rec, err := json.Marshal(idem)
			if err != nil {
				return nil, fmt.Errorf("filestore: encode idempotency record: %w", err)
			}
			if err := b.Put(idemKey, rec); err != nil {
				return nil, err
			}
		}
		if err := tasks.Put([]byte(t.ID), body); err != nil {
			return nil, err
		}
		if err := s.enqueue(tx, nil, t); err != nil {
			return nil, err
		}
		return nil, putIndexes(tx, t)
	})
}

// sameIdem reports whether the idempotency record at key is idem exactly, or whether idem
// is nil (a create without a key).
func sameIdem(tx *bolt.Tx, key []byte, idem *task.Idempotency) bool {
	if idem == nil {
		return true
	}
	raw := tx.Bucket(bucketIdem).Get(key)
	want, err := json.Marshal(idem)
	return raw != nil && err == nil && bytes.Equal(raw, want)
}

// Get returns the task with id as stored, or an error wrapping task.ErrNotFound if there is
// none or it has expired at now. An expired task is hidden, not deleted: judging by the
// caller's now keeps one clock for expiry, as the DynamoDB store does before its TTL runs.
func (s *Store) Get(ctx context.Context, id string, now time.Time) (task.Task, error) {
	if err := ctx.Err(); err != nil {
		return task.Task{}, err
	}
	var t task.Task
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketTasks).Get([]byte(id))
		if raw == nil {
			return fmt.Errorf("%w: %s", task.ErrNotFound, id)
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("filestore: decode task %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return task.Task{}, err
	}
	if t.Expired(now) {
		return task.Task{}, fmt.Errorf("%w: %s", task.ErrNotFound, id)
	}
	return t, nil
}

// Apply writes c.Task if the stored task is still at c.FromStatus and c.FromVersion, checked
// and written in one transaction; otherwise (or if there is no such task) it returns a
// *task.ConflictError and writes nothing. Every index entry of the old state is replaced by
// those of the new one, so lists and Stale see the change at once. An empty change (one that
// changed nothing) is checked but not written. A change found stored already, exactly (its
// WriteID and every field), is a re-sent one and is success, as in the DynamoDB store.
func (s *Store) Apply(ctx context.Context, c task.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkTask(c.Task); err != nil {
		return err
	}
	body, err := json.Marshal(c.Task)
	if err != nil {
		return fmt.Errorf("filestore: encode task %s: %w", c.Task.ID, err)
	}
	conflict := &task.ConflictError{ID: c.Task.ID, FromStatus: c.FromStatus, FromVersion: c.FromVersion}
	return s.write(func(tx *bolt.Tx) (refused, err error) {
		tasks := tx.Bucket(bucketTasks)
		raw := tasks.Get([]byte(c.Task.ID))
		if raw == nil {
			return conflict, nil
		}
		var cur task.Task
		if err := json.Unmarshal(raw, &cur); err != nil {
			return nil, fmt.Errorf("filestore: decode task %s: %w", c.Task.ID, err)
		}
		if cur.Status != c.FromStatus || cur.Version != c.FromVersion {
			if c.Task.WriteID != "" && bytes.Equal(raw, body) {
				return nil, nil // this very change, re-sent: it is stored already
			}
			return conflict, nil
		}
		if c.Empty() {
			return nil, nil
		}
		if err := deleteIndexes(tx, cur); err != nil {
			return nil, err
		}
		if err := tasks.Put([]byte(c.Task.ID), body); err != nil {
			return nil, err
		}
		if err := s.enqueue(tx, &cur, c.Task); err != nil {
			return nil, err
		}
		return nil, putIndexes(tx, c.Task)
	})
}

// write runs fn in a writing transaction shared with the writes of other goroutines (bolt's
// Batch): under load one commit, and its fsyncs, carries many writes instead of one each,
// which is what lets the worker of `make run` keep up with its clients (infra/local's
// BenchmarkSteadyLoad). Nothing is weakened: the writes of a batch run one after another in
// one transaction, each fn checking its condition against what those before it wrote, and
// write returns once the commit is on disk.
//
// Batch may call fn more than once (after a failure of another write, the batch is rolled
// back and run again without it), so fn changes nothing outside tx. fn returns a refusal
// (a conflict, a taken id or idempotency key) as refused, not as err: an err rolls the whole
// batch back and runs every write again, which is for what the store cannot do (a decode or
// bucket error), not for an answer it gives.
//
// A write that finds no other under way runs in a transaction of its own at once (Update):
// Batch would hold it for MaxBatchDelay waiting for company, which a lone writer (a developer
// trying one task, a test) has none of.
func (s *Store) write(fn func(tx *bolt.Tx) (refused, err error)) error {
	var refused error
	run := func(tx *bolt.Tx) error {
		var err error
		refused, err = fn(tx)
		return err
	}
	commit := s.db.Batch
	if s.writing.Add(1) == 1 {
		commit = s.db.Update
	}
	defer s.writing.Add(-1)
	err := commit(run)
	if err != nil {
		return err
	}
	return refused
}

// List returns one page of q.Owner's tasks (every owner's when q.Owner is "") in q's order, skipping tasks expired at q.Now and
// those the filters exclude. Next is the index position (sort time and id, never an offset)
// of the last task returned, or of the last entry examined when maxScan cut the page short,
// so the following page starts strictly after it whatever was created or changed meanwhile;
// it is nil once the owner's index (or the all-owners index) holds no further match.
func (s *Store) List(ctx context.Context, q task.ListQuery) (task.Page, error) {
	if err := ctx.Err(); err != nil {
		return task.Page{}, err
	}
	if q.Limit <= 0 {
		return task.Page{}, fmt.Errorf("filestore: list limit %d is not positive", q.Limit)
	}
	var bucket []byte
	var tag byte
	all := q.Owner == ""
	switch q.SortKey {
	case task.SortCreated, "":
		bucket, tag = bucketCreated, tagCreated
		if all {
			bucket = bucketAllCrt
		}
	case task.SortUpdated:
		bucket, tag = bucketUpdated, tagUpdated
		if all {
			bucket = bucketAllUpd
		}
	default:
		return task.Page{}, fmt.Errorf("filestore: unknown sort key %q", q.SortKey)
	}
	prefix := []byte{} // the all-owners index: every key
	var err error
	if !all {
		if prefix, err = ownerKey(q.Owner, nil); err != nil {
			return task.Page{}, err
		}
	}
	var after []byte
	if q.After != nil {
		if after, err = decodeCursor(q.After, tag); err != nil {
			return task.Page{}, err
		}
	}

	var page task.Page
	err = s.db.View(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(bucketTasks)
		it := newScan(tx.Bucket(bucket).Cursor(), prefix, after, q.Desc)
		// returned is the index key suffix of the last task returned, examined of the last
		// entry looked at; both are valid only inside this transaction.
		var returned, examined []byte
		for scanned := 0; ; scanned++ {
			k, v := it.next()
			if k == nil {
				return nil // the owner's range is exhausted: no Next
			}
			if scanned == maxScan {
				// Cut short: resume after the last entry examined.
				page.Next = encodeCursor(tag, examined)
				return nil
			}
			var e listEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("filestore: decode index entry: %w", err)
			}
			suffix := k[len(prefix):]
			if len(suffix) < timeLen {
				return fmt.Errorf("filestore: malformed index key %q", k)
			}
			examined = suffix
			if !e.matches(q) {
				continue
			}
			if len(page.Tasks) == q.Limit {
				// A further match exists: the next page starts after the last task returned.
				page.Next = encodeCursor(tag, returned)
				return nil
			}
			id := suffix[timeLen:]
			raw := tasks.Get(id)
			if raw == nil {
				return fmt.Errorf("filestore: index names task %s, which is not stored", id)
			}
			var t task.Task
			if err := json.Unmarshal(raw, &t); err != nil {
				return fmt.Errorf("filestore: decode task %s: %w", id, err)
			}
			page.Tasks = append(page.Tasks, t)
			returned = suffix
		}
	})
	if err != nil {
		return task.Page{}, err
	}
	return page, nil
}

// Stale returns up to limit ids of tasks in status (pending or processing) whose updatedAt
// is before cutoff, oldest first, from status's range of the active index: terminal tasks are
// not in it and tasks of the other status are in another range, so the sweeper reads neither.
func (s *Store) Stale(ctx context.Context, status task.Status, cutoff time.Time, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !status.Active() {
		return nil, fmt.Errorf("filestore: stale tasks: status %q is not active (pending or processing)", status)
	}
	if limit <= 0 {
		return nil, nil
	}
	prefix := activePrefix(status)
	end := appendNanos(slices.Clip(prefix), cutoff)
	var ids []string
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketActive).Cursor()
		for k, _ := c.Seek(prefix); k != nil && len(ids) < limit; k, _ = c.Next() {
			if !bytes.HasPrefix(k, prefix) {
				break
			}
			if len(k) <= len(end) {
				return fmt.Errorf("filestore: malformed active index key %q", k)
			}
			if bytes.Compare(k[:len(end)], end) >= 0 {
				break
			}
			ids = append(ids, string(k[len(end):]))
		}
		return nil
	})
	return ids, err
}

// listEntry is the value of a list index entry: what filters and expiry need, so that they
// are judged without decoding the task.
type listEntry struct {
	Status    task.Status `json:"s"`
	Type      string      `json:"t"`
	ExpiresAt *time.Time  `json:"e,omitempty"`
}

func (e listEntry) matches(q task.ListQuery) bool {
	if e.ExpiresAt != nil && !q.Now.Before(*e.ExpiresAt) {
		return false
	}
	if q.Type != "" && e.Type != q.Type {
		return false
	}
	return len(q.Statuses) == 0 || slices.Contains(q.Statuses, e.Status)
}

// checkTask refuses what the key layout cannot hold.
func checkTask(t task.Task) error {
	if t.ID == "" {
		return errors.New("filestore: task has no id")
	}
	if len(t.Owner) > maxOwner {
		return fmt.Errorf("filestore: owner of task %s is longer than %d bytes", t.ID, maxOwner)
	}
	return nil
}

// indexKeys are the keys of t's entries in the list indexes and, when t is active, in the
// active index (nil otherwise).
func indexKeys(t task.Task) (created, updated, active []byte, err error) {
	id := []byte(t.ID)
	if created, err = ownerKey(t.Owner, append(appendMillis(nil, t.CreatedAt), id...)); err != nil {
		return nil, nil, nil, err
	}
	if updated, err = ownerKey(t.Owner, append(appendMillis(nil, t.UpdatedAt), id...)); err != nil {
		return nil, nil, nil, err
	}
	if t.Status.Active() {
		active = append(appendNanos(activePrefix(t.Status), t.UpdatedAt), id...)
	}
	return created, updated, active, nil
}

// allIndexKeys are the keys of t's entries in all_created and all_updated.
func allIndexKeys(t task.Task) (created, updated []byte) {
	return append(appendMillis(nil, t.CreatedAt), t.ID...), append(appendMillis(nil, t.UpdatedAt), t.ID...)
}

func putIndexes(tx *bolt.Tx, t task.Task) error {
	created, updated, active, err := indexKeys(t)
	if err != nil {
		return err
	}
	entry, err := json.Marshal(listEntry{Status: t.Status, Type: t.Type, ExpiresAt: t.ExpiresAt})
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketCreated).Put(created, entry); err != nil {
		return err
	}
	if err := tx.Bucket(bucketUpdated).Put(updated, entry); err != nil {
		return err
	}
	if err := putAllIndexes(tx, t, entry); err != nil {
		return err
	}
	if active != nil {
		return tx.Bucket(bucketActive).Put(active, nil)
	}
	return nil
}

func deleteIndexes(tx *bolt.Tx, t task.Task) error {
	created, updated, active, err := indexKeys(t)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketCreated).Delete(created); err != nil {
		return err
	}
	if err := tx.Bucket(bucketUpdated).Delete(updated); err != nil {
		return err
	}
	allCreated, allUpdated := allIndexKeys(t)
	if err := tx.Bucket(bucketAllCrt).Delete(allCreated); err != nil {
		return err
	}
	if err := tx.Bucket(bucketAllUpd).Delete(allUpdated); err != nil {
		return err
	}
	if active != nil {
		return tx.Bucket(bucketActive).Delete(active)
	}
	return nil
}

func putAllIndexes(tx *bolt.Tx, t task.Task, entry []byte) error {
	created, updated := allIndexKeys(t)
	if err := tx.Bucket(bucketAllCrt).Put(created, entry); err != nil {
		return err
	}
	return tx.Bucket(bucketAllUpd).Put(updated, entry)
}

// buildAllIndexes fills all_created and all_updated from the stored tasks (a version 2 file
// has none).
func buildAllIndexes(tx *bolt.Tx) error {
	return tx.Bucket(bucketTasks).ForEach(func(id, raw []byte) error {
		var t task.Task
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("decode task %s: %w", id, err)
		}
		entry, err := json.Marshal(listEntry{Status: t.Status, Type: t.Type, ExpiresAt: t.ExpiresAt})
		if err != nil {
			return err
		}
		return putAllIndexes(tx, t, entry)
	})
}

// activePrefix is the start of every key of status in the active index: the status,
// length-prefixed so that no status's range can hold another's keys.
func activePrefix(status task.Status) []byte {
	return append([]byte{byte(len(status))}, status...)
}

// maxOwner is the longest owner the two-byte length prefix can hold.
const maxOwner = 1<<16 - 1

// ownerKey is owner, length-prefixed, followed by rest. The prefix keeps "tenant" from being
// a byte prefix of "tenant-a"'s keys and keeps (owner, key) pairs apart whatever they contain.
func ownerKey(owner string, rest []byte) ([]byte, error) {
	if len(owner) > maxOwner {
		return nil, fmt.Errorf("filestore: owner is longer than %d bytes", maxOwner)
	}
	k := make([]byte, 0, 2+len(owner)+len(rest))
	k = binary.BigEndian.AppendUint16(k, uint16(len(owner)))
	k = append(k, owner...)
	return append(k, rest...), nil
}

// timeLen is the width of an encoded time in a key.
const timeLen = 8

// appendMillis encodes t's milliseconds so that bytes sort as instants. Lists order by
// milliseconds, then id, because that is the precision clients see: two tasks shown with the
// same createdAt are ordered by id, as the API promises.
func appendMillis(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixMilli())^1<<63)
}

// appendNanos encodes t's nanoseconds so that bytes sort as instants; the active index needs
// the exact instant to compare with Stale's cutoff.
func appendNanos(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano())^1<<63)
}

// Cursor tags: a position made for one sort key is refused for the other.
const (
	tagCreated byte = 'c'
	tagUpdated byte = 'u'
)

// encodeCursor makes Page.Next: a tag and the index key after the owner. The owner is left
// out and supplied by the next query, so a position can never reach another owner's range.
func encodeCursor(tag byte, suffix []byte) []byte {
	return append([]byte{tag}, suffix...)
}

func decodeCursor(b []byte, tag byte) ([]byte, error) {
	if len(b) < 1+timeLen || b[0] != tag {
		return nil, errors.New("filestore: list position is not one of this store's for this sort key")
	}
	return b[1:], nil
}

// scan walks the keys of one owner's range of an index, ascending or descending, starting
// strictly after a position (or at the range's start).
type scan struct {
	c      *bolt.Cursor
	prefix []byte
	after  []byte // prefix + position, nil for the start
	desc   bool
	begun  bool
}

func newScan(c *bolt.Cursor, prefix, position []byte, desc bool) *scan {
	s := &scan{c: c, prefix: prefix, desc: desc}
	if position != nil {
		s.after = append(slices.Clip(prefix), position...)
	}
	return s
}

// next returns the next key in the owner's range and its value, or nil at the range's end.
func (s *scan) next() (k, v []byte) {
	if !s.begun {
		s.begun = true
		k, v = s.first()
	} else if s.desc {
		k, v = s.c.Prev()
	} else {
		k, v = s.c.Next()
	}
	if k == nil || !bytes.HasPrefix(k, s.prefix) {
		return nil, nil
	}
	return k, v
}

func (s *scan) first() (k, v []byte) {
	if !s.desc {
		if s.after == nil {
			return s.c.Seek(s.prefix)
		}
		k, v = s.c.Seek(s.after)
		if bytes.Equal(k, s.after) {
			k, v = s.c.Next()
		}
		return k, v
	}
	// Descending: the greatest key below the bound, where the bound is the position, or the
	// first key past the owner's range.
	bound := s.after
	if bound == nil {
		bound = successor(s.prefix)
	}
	if bound == nil {
		return s.c.Last()
	}
	if k, _ = s.c.Seek(bound); k == nil {
		return s.c.Last()
	}
	return s.c.Prev()
}

// successor is the smallest key greater than every key starting with p, or nil if none is.
func successor(p []byte) []byte {
	s := slices.Clone(p)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}
