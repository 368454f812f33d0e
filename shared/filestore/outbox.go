package filestore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/task"
)

// The outbox: lifecycle events written in the same transaction as the change that makes
// them, so that a process killed right after the commit still has them on its next start
// (the embedded store's stand-in for the table's stream; see shared/outbox for the loop that
// publishes them). It is one more bucket, created on first use, so older files open as they
// are:
//
//	outbox      sequence (uint64, big-endian)           → the change's events as JSON
//
// Sequence numbers come from the bucket's own counter, so entries are in commit order.

var bucketOutbox = []byte("outbox")

// EnableOutbox makes every later write that makes events also write them to the outbox; the
// local runner turns it on and drains it (Pending, Done). Without it nothing is written, as
// for the tests that never drain.
func (s *Store) EnableOutbox() { s.outbox.Store(true) }

// enqueue writes the events of a change to the outbox in tx, when it is enabled.
func (s *Store) enqueue(tx *bolt.Tx, before *task.Task, after task.Task) error {
	if !s.outbox.Load() {
		return nil
	}
	evs := event.Of(before, after)
	if len(evs) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketOutbox)
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(evs)
	if err != nil {
		return fmt.Errorf("filestore: encode the events of task %s: %w", after.ID, err)
	}
	return b.Put(binary.BigEndian.AppendUint64(nil, seq), raw)
}

// OutboxEntry is one change's events in the outbox.
type OutboxEntry struct {
	Seq    uint64
	Events []event.Event
}

// Pending returns up to limit outbox entries, oldest first.
func (s *Store) Pending(ctx context.Context, limit int) ([]OutboxEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []OutboxEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			e := OutboxEntry{Seq: binary.BigEndian.Uint64(k)}
			if err := json.Unmarshal(v, &e.Events); err != nil {
				return fmt.Errorf("filestore: decode outbox entry %d: %w", e.Seq, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Done removes delivered entries from the outbox.
func (s *Store) Done(ctx context.Context, seqs []uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(seqs) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		for _, seq := range seqs {
			if err := b.Delete(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		return nil
	})
}
