package costmodel

import (
	"math"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Capacity unit sizes and the index entry overhead, from the DynamoDB Developer Guide:
// "Read and write capacity units" (one WRU writes up to 1 KB, one RRU reads up to 4 KB
// strongly consistent or 8 KB eventually consistent, i.e. half a unit per 4 KB) and "Global
// secondary indexes: provisioned throughput considerations" (GSI.html#GSI.ThroughputConsiderations:
// an index entry is its projected attributes with the table's and the index's keys, plus
// 100 bytes of overhead).
const (
	WriteUnitBytes     = 1024
	ReadUnitBytes      = 4096
	IndexEntryOverhead = 100
)

// Index is a global secondary index as the billing sees it: its key attributes (hash, then
// range) and what it projects.
type Index struct {
	Name string
	Keys []string
	// All is ProjectionType ALL; otherwise the entry holds the keys and NonKey (INCLUDE) or
	// the keys only (KEYS_ONLY, NonKey empty).
	All    bool
	NonKey []string
}

// Schema is a table's keys and indexes.
type Schema struct {
	Table   string
	Key     []string
	Indexes []Index
}

// SchemaOf reads a table definition, e.g. dynamostore.TableInput's, so that the billing
// follows the code's own indexes and never a copy of them.
func SchemaOf(in *dynamodb.CreateTableInput) Schema {
	keys := func(ks []types.KeySchemaElement) []string {
		var out []string
		for _, want := range []types.KeyType{types.KeyTypeHash, types.KeyTypeRange} {
			for _, k := range ks {
				if k.KeyType == want {
					out = append(out, aws.ToString(k.AttributeName))
				}
			}
		}
		return out
	}
	s := Schema{Table: aws.ToString(in.TableName), Key: keys(in.KeySchema)}
	for _, g := range in.GlobalSecondaryIndexes {
		ix := Index{Name: aws.ToString(g.IndexName), Keys: keys(g.KeySchema)}
		if g.Projection != nil {
			ix.All = g.Projection.ProjectionType == types.ProjectionTypeAll
			ix.NonKey = append([]string(nil), g.Projection.NonKeyAttributes...)
		}
		s.Indexes = append(s.Indexes, ix)
	}
	return s
}

// KeyOf is the table key of it.
func (s Schema) KeyOf(it Item) Item { return it.project(s.Key) }

// Entry is ix's entry for it, and false when it has no entry there: an item without one of
// the index's key attributes is not in the index (a sparse index).
func (s Schema) Entry(ix Index, it Item) (Item, bool) {
	if it == nil {
		return nil, false
	}
	for _, k := range ix.Keys {
		if _, ok := it[k]; !ok {
			return nil, false
		}
	}
	if ix.All {
		return it, true
	}
	names := append(append(append([]string(nil), s.Key...), ix.Keys...), ix.NonKey...)
	return it.project(names), true
}

// WriteCost is the write request units of one item write: on the table and on each index
// (by name; an index the write leaves alone is absent).
type WriteCost struct {
	Table   float64
	Indexes map[string]float64
}

// Total is the units on the table and every index.
func (c WriteCost) Total() float64 {
	t := c.Table
	for _, u := range c.Indexes {
		t += u
	}
	return t
}

// scale multiplies every unit by f (2 for a transaction).
func (c WriteCost) scale(f float64) WriteCost {
	out := WriteCost{Table: c.Table * f, Indexes: map[string]float64{}}
	for n, u := range c.Indexes {
		out.Indexes[n] = u * f
	}
	return out
}

// writeUnits is ceil(bytes / 1 KB), at least 1.
func writeUnits(bytes int) float64 {
	return math.Max(1, math.Ceil(float64(bytes)/WriteUnitBytes))
}

// Write is the cost of a successful write that turns the stored item old into new (old nil:
// the item did not exist; new nil: a delete), following the Developer Guide's "Read and
// write capacity units" and GSI.html#GSI.Writes:
//   - the table: ceil(max(old, new size) / 1 KB) WRU;
//   - each index: nothing when neither item is in it, or when its entry is unchanged (no
//     key and no projected attribute changed); a put of the new entry when it appears
//     (sparse) or when only projected attributes change; a delete of the old entry when it
//     disappears; a delete of the old entry plus a put of the new one when its index key
//     changes. An entry's write costs ceil((entry size + 100) / 1 KB) WRU.
func (s Schema) Write(old, new Item) WriteCost {
	c := WriteCost{Table: writeUnits(max(old.Size(), new.Size())), Indexes: map[string]float64{}}
	for _, ix := range s.Indexes {
		oldE, inOld := s.Entry(ix, old)
		newE, inNew := s.Entry(ix, new)
		put := func() float64 { return writeUnits(newE.Size() + IndexEntryOverhead) }
		del := func() float64 { return writeUnits(oldE.Size() + IndexEntryOverhead) }
		var u float64
		switch {
		case !inOld && !inNew:
		case !inOld:
			u = put()
		case !inNew:
			u = del()
		case !sameValues(oldE, newE, ix.Keys):
			u = del() + put()
		case !sameValues(oldE, newE, nil):
			u = put()
		}
		if u > 0 {
			c.Indexes[ix.Name] = u
		}
	}
	return c
}

// TransactWrite is Write inside TransactWriteItems: twice the units ("Transactional write
// requests require 2 write capacity units per 1 KB", CapacityUnitCalculations /
// transaction-apis.html#transaction-capacity-handling).
func (s Schema) TransactWrite(old, new Item) WriteCost { return s.Write(old, new).scale(2) }

// FailedWrite is the cost of a write whose condition failed: nothing changes, so no index is
// written, but the table is charged for the stored item's size, at least 1 WRU ("If a
// ConditionExpression evaluates to false, DynamoDB still consumes write capacity from the
// table", Expressions.ConditionExpressions / WorkingWithItems.ConditionalUpdate).
func (s Schema) FailedWrite(old Item) WriteCost {
	return WriteCost{Table: writeUnits(old.Size()), Indexes: map[string]float64{}}
}

// sameValues reports whether a and b hold equal values for names (every attribute of either
// when names is nil).
func sameValues(a, b Item, names []string) bool {
	if names == nil {
		if len(a) != len(b) {
			return false
		}
		for n := range a {
			names = append(names, n)
		}
	}
	for _, n := range names {
		av, aok := a[n]
		bv, bok := b[n]
		if aok != bok || (aok && !av.equal(bv)) {
			return false
		}
	}
	return true
}

// ReadUnits is the read request units of reading bytes in one go (one GetItem item, or the
// summed entries of one Query page, as the Developer Guide bills a Query: "the sum of all
// projected attribute sizes across all of the items returned", rounded up to 4 KB, at least
// one unit even for nothing found), halved when eventually consistent.
func ReadUnits(bytes int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(bytes)/ReadUnitBytes))
	if !consistent {
		u /= 2
	}
	return u
}
