package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/task"
)

// ScanFactor bounds what one page of a list reads beyond its first read: at most ScanFactor ×
// (limit+1) candidates, so that a filter that matches few tasks (a rare status, tasks that
// expired) makes a short page with a Next rather than a read without bound. See "Paging" in
// the package comment.
const ScanFactor = 4

// batchGetMax is BatchGetItem's limit of keys per request.
const batchGetMax = 100

// maxBatchAttempts bounds the retries of a BatchGetItem's UnprocessedKeys.
const maxBatchAttempts = 8

// List implements task.Store; "Paging" in the package comment is its design.
//
// In createdAt order a page reads one or more cursors: a tenant's list one, on byOwner (or
// byType with a type filter), an admin's list of every tenant the Shards partitions of the
// table. Every cursor reads its partition in the list's order past the page's start, a few
// items at a time, and the page takes the earliest head of all cursors until it holds Limit
// tasks, refilling only a cursor the page has drained. A read never skips an item: whatever
// a cursor has read up to its frontier is either on the page or left for the next, which
// starts at the page's Next, so a walk visits every matching task exactly once, in order.
//
// In updatedAt order the same cursors read the opt-in indexes where the store has them
// (byUpdated for a tenant, allUpdated's shards for an admin); without, no index fits (see
// "Indexes"): the page reads every candidate of the partition (the tenant's, or the tenant's
// of the type; every shard for admins), sorts them by (updatedAt, id) and seeks past the
// cursor.
func (s *Store) List(ctx context.Context, q task.ListQuery) (task.Page, error) {
	if q.Limit <= 0 || q.Limit >= math.MaxInt32 {
		return task.Page{}, fmt.Errorf("dynamostore: list: limit %d out of range", q.Limit)
	}
	after := ""
	if q.After != nil {
		after = string(q.After)
		if !validSortValue(after) {
			return task.Page{}, fmt.Errorf("dynamostore: list: malformed cursor")
		}
	}
	statuses, err := distinct(q.Statuses)
	if err != nil {
		return task.Page{}, err
	}
	if len(statuses) == len(task.Statuses) {
		statuses = nil // every status: no filter
	}
	q.Statuses = statuses
	switch q.SortKey {
	case task.SortCreated, "":
	case task.SortUpdated:
		switch {
		case s.updated && q.Owner != "":
			// One cursor on byUpdated; a type filter is kept as a status filter is, in
			// bounded partial pages.
			c := &cursor{frontier: after, n: q.Limit, read: func(ctx context.Context, from string, n int) (read, error) {
				return s.readIndex(ctx, q, IndexByUpdated, attrOwner, q.Owner, attrUpdated, from, n)
			}}
			return s.collect(ctx, q, []*cursor{c})
		case s.all && q.Owner == "" && q.Type == "" && len(q.Statuses) == 0:
			// A cursor per shard of allUpdated, merged as the shards are in createdAt order;
			// with no filter the index's keys alone decide the page, so only the page's tasks
			// are read: a few keys of each shard and Limit items, where reading each shard's
			// items would fetch Shards × n.
			pg, err := s.collect(ctx, q, shardCursors(q, after, func(ctx context.Context, pk, from string, n int) (read, error) {
				return s.readIndexKeys(ctx, q, IndexAllUpdated, attrPK, pk, attrUpdated, from, n)
			}))
			if err != nil {
				return task.Page{}, err
			}
			return s.fetchPage(ctx, q, pg)
		case s.all && q.Owner == "":
			// Filtered: the shards' cursors keep the matching tasks, read with their keys.
			return s.collect(ctx, q, shardCursors(q, after, func(ctx context.Context, pk, from string, n int) (read, error) {
				return s.readIndex(ctx, q, IndexAllUpdated, attrPK, pk, attrUpdated, from, n)
			}))
		}
		return s.listByUpdated(ctx, q, after)
	default:
		return task.Page{}, fmt.Errorf("dynamostore: list: unknown sort key %q", q.SortKey)
	}
	if q.Owner == "" {
		return s.collect(ctx, q, shardCursors(q, after, func(ctx context.Context, pk, from string, n int) (read, error) {
			return s.readShard(ctx, q, pk, from, n)
		}))
	}
	index, hashAttr, hashValue := IndexByOwner, attrOwner, q.Owner
	if q.Type != "" {
		index, hashAttr, hashValue = IndexByType, attrOwnerType, ownerType(q.Owner, q.Type)
	}
	c := &cursor{frontier: after, n: q.Limit, read: func(ctx context.Context, from string, n int) (read, error) {
		return s.readIndex(ctx, q, index, hashAttr, hashValue, attrCreated, from, n)
	}}
	return s.collect(ctx, q, []*cursor{c})
}

// shardCursors are an admin page's cursors, one per shard, each reading its shard's partition
// pk with readShard: ceil((Limit+1)/Shards)+1 items at first, more for a shard a filter
// starved (see "Paging" in the package comment).
func shardCursors(q task.ListQuery, after string, readShard func(ctx context.Context, pk, from string, n int) (read, error)) []*cursor {
	n := (q.Limit+1+Shards-1)/Shards + 1
	curs := make([]*cursor, Shards)
	for i := range curs {
		pk := shardPartition(i)
		curs[i] = &cursor{frontier: after, n: n, grow: true, read: func(ctx context.Context, from string, n int) (read, error) {
			return readShard(ctx, pk, from, n)
		}}
	}
	return curs
}

// distinct validates a status filter and drops repeats.
func distinct(in []task.Status) ([]task.Status, error) {
	var out []task.Status
	seen := map[task.Status]bool{}
	for _, s := range in {
		if !s.Valid() {
			return nil, fmt.Errorf("dynamostore: list: unknown status %q", s)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// keep reports whether a listed task passes q's filters (the index or the FilterExpression
// may have applied some already; expiry is judged here to the nanosecond).
func keep(q task.ListQuery, t task.Task) bool {
	return !t.Expired(q.Now) && (q.Type == "" || t.Type == q.Type) &&
		(len(q.Statuses) == 0 || slices.Contains(q.Statuses, t.Status))
}

// listed is a task read by a list, with its position in the list's order (a c value, or a
// sortValue of updatedAt).
type listed struct {
	key  string
	task task.Task
}

// read is what one read of a cursor found: the tasks it keeps, in the list's order, how far
// it read (frontier, unless the partition is exhausted) and how many items it evaluated.
type read struct {
	items     []listed
	frontier  string
	exhausted bool
	evaluated int
}

// cursor reads one partition of a list in the list's order. frontier is the position up to
// which it has read (the page's start before its first read); buf what it read and kept that
// the page has not taken yet.
type cursor struct {
	read      func(ctx context.Context, from string, n int) (read, error)
	frontier  string
	n         int  // items a read asks for
	grow      bool // double n after a read that kept nothing (a shard under a filter)
	buf       []listed
	exhausted bool
}

func (c *cursor) drained() bool { return len(c.buf) == 0 && !c.exhausted }

// before reports whether position a comes before b in the list's order.
func before(desc bool, a, b string) bool {
	if desc {
		return a > b
	}
	return a < b
}

// collect makes one page of curs, as List describes: the first read of every cursor, then
// the earliest head until the page is full, refilling drained cursors while the page has
// evaluated fewer than ScanFactor × (limit+1) items beyond that first read.
func (s *Store) collect(ctx context.Context, q task.ListQuery, curs []*cursor) (task.Page, error) {
	budget := ScanFactor * (q.Limit + 1)
	if _, err := s.fill(ctx, curs); err != nil {
		return task.Page{}, err
	}
	var out []listed
	page := func(next string) task.Page {
		pg := task.Page{Tasks: make([]task.Task, 0, len(out))}
		for _, it := range out {
			pg.Tasks = append(pg.Tasks, it.task)
		}
		if next != "" {
			pg.Next = []byte(next)
		}
		return pg
	}
	spent := 0
	for {
		if len(out) == q.Limit {
			for _, c := range curs {
				if len(c.buf) > 0 || !c.exhausted {
					return page(out[len(out)-1].key), nil
				}
			}
			return page(""), nil
		}
		var drained []*cursor
		for _, c := range curs {
			if c.drained() {
				drained = append(drained, c)
			}
		}
		if len(drained) > 0 && spent >= budget {
			break
		}
		if len(drained) > 0 {
			for _, c := range drained {
				if c.grow {
					c.n = max(1, min(c.n, (budget-spent)/len(drained)))
				} else {
					c.n = max(1, min(q.Limit-len(out), budget-spent))
				}
			}
			n, err := s.fill(ctx, drained)
			if err != nil {
				return task.Page{}, err
			}
			spent += n
			continue
		}
		var best *cursor
		for _, c := range curs {
			if len(c.buf) > 0 && (best == nil || before(q.Desc, c.buf[0].key, best.buf[0].key)) {
				best = c
			}
		}
		if best == nil {
			return page(""), nil // every cursor exhausted
		}
		out = append(out, best.buf[0])
		best.buf = best.buf[1:]
	}

	// Out of budget with cursors drained: everything up to the earliest of their frontiers
	// has been read by every cursor, so the page may take what is buffered up to it, and the
	// next page starts there.
	boundary := ""
	for _, c := range curs {
		if c.drained() && (boundary == "" || before(q.Desc, c.frontier, boundary)) {
			boundary = c.frontier
		}
	}
	for len(out) < q.Limit {
		var best *cursor
		for _, c := range curs {
			if len(c.buf) > 0 && !before(q.Desc, boundary, c.buf[0].key) &&
				(best == nil || before(q.Desc, c.buf[0].key, best.buf[0].key)) {
				best = c
			}
		}
		if best == nil {
			return page(boundary), nil
		}
		out = append(out, best.buf[0])
		best.buf = best.buf[1:]
	}
	for _, c := range curs {
		if len(c.buf) > 0 && !before(q.Desc, boundary, c.buf[0].key) {
			return page(out[len(out)-1].key), nil
		}
	}
	return page(boundary), nil
}

// fill reads every cursor of curs once, concurrently (a page's latency is its slowest read,
// not their sum), and returns how many items they evaluated.
func (s *Store) fill(ctx context.Context, curs []*cursor) (int, error) {
	reads := make([]read, len(curs))
	errs := make([]error, len(curs))
	var wg sync.WaitGroup
	for i, c := range curs {
		wg.Go(func() { reads[i], errs[i] = c.read(ctx, c.frontier, c.n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	n := 0
	for i, c := range curs {
		r := reads[i]
		n += r.evaluated
		c.buf = append(c.buf, r.items...)
		c.exhausted = r.exhausted
		if !r.exhausted {
			c.frontier = r.frontier
		}
		if c.grow && len(r.items) == 0 {
			c.n = min(2*c.n, batchGetMax)
		}
	}
	return n, nil
}

// keyCondition is a partition's key condition past from (none when from is ""), in the list's
// order.
func keyCondition(q task.ListQuery, names map[string]string, values map[string]types.AttributeValue, rangeAttr string, from types.AttributeValue) string {
	if from == nil {
		return "#h = :h"
	}
	names["#r"] = rangeAttr
	values[":from"] = from
	if q.Desc {
		return "#h = :h AND #r < :from"
	}
	return "#h = :h AND #r > :from"
}

// readIndex reads up to n keys of one partition of a list index (byOwner, byType, byUpdated
// or a shard of allUpdated, whose range attribute is rangeAttr) past from, one more to know
// whether more follow, and then their items with BatchGetItem: the indexes are KEYS_ONLY (see
// "Indexes" in the package comment). A task is placed by its index entry: one updated since the entry
// was read is on this page at its old place, and on a later one at its new place.
func (s *Store) readIndex(ctx context.Context, q task.ListQuery, index, hashAttr, hashValue, rangeAttr, from string, n int) (read, error) {
	r, err := s.readIndexKeys(ctx, q, index, hashAttr, hashValue, rangeAttr, from, n)
	if err != nil {
		return read{}, err
	}
	keys := r.items
	r.items = nil
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.task.ID
	}
	got, err := s.batchGet(ctx, ids)
	if err != nil {
		return read{}, err
	}
	for i, id := range ids {
		t, ok := got[id]
		if !ok || !keep(q, t) { // gone (TTL deleted it after the index was read), or filtered
			continue
		}
		r.items = append(r.items, listed{key: keys[i].key, task: t})
	}
	return r, nil
}

// readIndexKeys is readIndex without the items: each of r.items holds its position and, of
// its task, only the ID.
func (s *Store) readIndexKeys(ctx context.Context, q task.ListQuery, index, hashAttr, hashValue, rangeAttr, from string, n int) (read, error) {
	names := map[string]string{"#h": hashAttr}
	values := map[string]types.AttributeValue{":h": str(hashValue)}
	var fromValue types.AttributeValue
	if from != "" {
		fromValue = str(from)
	}
	out, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String(keyCondition(q, names, values, rangeAttr, fromValue)),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(!q.Desc),
		Limit:                     aws.Int32(int32(n + 1)),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityIndexes,
	})
	if err != nil {
		return read{}, fmt.Errorf("dynamostore: list %s: %w", index, err)
	}
	reportOne(s, OpQuery, out.ConsumedCapacity)
	keys := out.Items
	var r read
	switch {
	case len(keys) > n:
		keys = keys[:n]
		r.frontier = stringAttr(keys[n-1], rangeAttr)
	case out.LastEvaluatedKey != nil:
		r.frontier = stringAttr(out.LastEvaluatedKey, rangeAttr)
	default:
		r.exhausted = true
	}
	if !r.exhausted && !validSortValue(r.frontier) {
		return read{}, fmt.Errorf("dynamostore: list %s: an entry without %s", index, rangeAttr)
	}
	r.evaluated = len(keys)
	for _, k := range keys {
		r.items = append(r.items, listed{key: stringAttr(k, rangeAttr), task: task.Task{ID: stringAttr(k, attrSK)}})
	}
	return r, nil
}

// fetchPage puts the tasks into a page that collect made of readIndexKeys' entries, with one
// BatchGetItem, dropping those gone or expired since the index was read (the page may so be
// short; its Next stands).
func (s *Store) fetchPage(ctx context.Context, q task.ListQuery, pg task.Page) (task.Page, error) {
	ids := make([]string, len(pg.Tasks))
	for i, t := range pg.Tasks {
		ids[i] = t.ID
	}
	got, err := s.batchGet(ctx, ids)
	if err != nil {
		return task.Page{}, err
	}
	pg.Tasks = pg.Tasks[:0]
	for _, id := range ids {
		if t, ok := got[id]; ok && keep(q, t) {
			pg.Tasks = append(pg.Tasks, t)
		}
	}
	return pg, nil
}

// readShard reads up to n items of one shard of the table past from (a c value: the shards'
// sort key is the id, in the same order), with the list's filters as a FilterExpression, and
// one more, as readIndex does, to know whether more follow.
func (s *Store) readShard(ctx context.Context, q task.ListQuery, pk, from string, n int) (read, error) {
	in := s.shardQuery(q, pk, from)
	in.Limit = aws.Int32(int32(n + 1))
	out, err := s.api.Query(ctx, in)
	if err != nil {
		return read{}, fmt.Errorf("dynamostore: list shard %s: %w", pk, err)
	}
	reportOne(s, OpQuery, out.ConsumedCapacity)
	items := out.Items
	r := read{evaluated: int(out.ScannedCount)}
	switch {
	case len(items) > n:
		items = items[:n]
		r.frontier = createdPosition(stringAttr(items[n-1], attrSK))
	case out.LastEvaluatedKey != nil:
		r.frontier = createdPosition(stringAttr(out.LastEvaluatedKey, attrSK))
	default:
		r.exhausted = true
	}
	if !r.exhausted && r.frontier == "" {
		return read{}, fmt.Errorf("dynamostore: list shard %s: an item without a task id", pk)
	}
	for _, item := range items {
		t, err := itemTask(item)
		if err != nil {
			return read{}, err
		}
		if keep(q, t) {
			r.items = append(r.items, listed{key: sortValue(t.CreatedAt, t.ID), task: t})
		}
	}
	return r, nil
}

// createdPosition is the c value of the task id (its position in created order), or "" when
// id is not a task id: the id's time is its createdAt's millisecond (checkCreatedOrder).
func createdPosition(id string) string {
	ms, ok := idMillis(id)
	if !ok {
		return ""
	}
	return sortValue(time.UnixMilli(ms), id)
}

// shardQuery is the Query of one shard past from (a c value, or "") with q's filters: type,
// statuses and expiry by whole seconds (expiry is judged again in Go to the nanosecond).
func (s *Store) shardQuery(q task.ListQuery, pk, from string) *dynamodb.QueryInput {
	names := map[string]string{"#h": attrPK, "#exp": attrExpiresAt}
	values := map[string]types.AttributeValue{
		":h":   str(pk),
		":now": num(q.Now.Unix()), // floor: the TTL value is rounded up, so no live task is dropped
	}
	var fromValue types.AttributeValue
	if from != "" {
		fromValue = str(from[len(sortLayout)+1:]) // the id: sk
	}
	keyCond := keyCondition(q, names, values, attrSK, fromValue)
	filter := "(attribute_not_exists(#exp) OR #exp > :now)"
	if q.Type != "" {
		names["#ty"] = attrType
		values[":ty"] = str(q.Type)
		filter += " AND #ty = :ty"
	}
	if len(q.Statuses) > 0 {
		names["#st"] = attrStatus
		refs := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			refs[i] = ":st" + strconv.Itoa(i)
			values[refs[i]] = str(string(st))
		}
		filter += " AND #st IN (" + strings.Join(refs, ", ") + ")"
	}
	for k, v := range listedNames {
		names[k] = v
	}
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String(keyCond),
		ProjectionExpression:      aws.String(listedProjection),
		FilterExpression:          aws.String(filter),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(!q.Desc),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityIndexes,
	}
}

// listedProjection is what a list reads of an item: all but input and result, which lists
// omit. It saves transfer only: DynamoDB bills the whole item read whatever the projection.
const listedProjection = "#pk, #sk, #doc, #st, #ty, #exp"

var listedNames = map[string]string{
	"#pk": attrPK, "#sk": attrSK, "#doc": attrDoc, "#st": attrStatus, "#ty": attrType, "#exp": attrExpiresAt,
}

// batchGet reads the tasks of ids, eventually consistent (half the price; a list is a
// snapshot anyway), batchGetMax keys a request, and retries UnprocessedKeys (which DynamoDB
// returns when a request meets throttling or its 16 MB limit) with a growing pause. A task
// that does not exist is absent from the answer.
func (s *Store) batchGet(ctx context.Context, ids []string) (map[string]task.Task, error) {
	got := make(map[string]task.Task, len(ids))
	for start := 0; start < len(ids); start += batchGetMax {
		chunk := ids[start:min(start+batchGetMax, len(ids))]
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = taskKey(id)
		}
		for attempt := 0; len(keys) > 0; attempt++ {
			if attempt == maxBatchAttempts {
				return nil, fmt.Errorf("dynamostore: list: %d items still unprocessed after %d BatchGetItem attempts", len(keys), attempt)
			}
			if attempt > 0 {
				if err := sleep(ctx, time.Duration(attempt*attempt)*20*time.Millisecond); err != nil {
					return nil, fmt.Errorf("dynamostore: list: %w", err)
				}
			}
			out, err := s.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{s.table: {
					Keys:                     keys,
					ProjectionExpression:     aws.String(listedProjection),
					ExpressionAttributeNames: listedNames,
				}},
				ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes,
			})
			if err != nil {
				return nil, fmt.Errorf("dynamostore: list: read items: %w", err)
			}
			s.report(OpBatchGetItem, out.ConsumedCapacity...)
			for _, item := range out.Responses[s.table] {
				t, err := itemTask(item)
				if err != nil {
					return nil, err
				}
				got[t.ID] = t
			}
			keys = out.UnprocessedKeys[s.table].Keys
		}
	}
	return got, nil
}

// listByUpdated makes a page in updatedAt order: every candidate of the list (the tenant's,
// or of the type; every shard's for admins) read, filtered, sorted by (updatedAt, id) and cut
// past after. Its cost grows with the candidates; "Indexes" in the package comment says why
// no index serves this order.
func (s *Store) listByUpdated(ctx context.Context, q task.ListQuery, after string) (task.Page, error) {
	var all []task.Task
	if q.Owner == "" {
		parts := make([][]task.Task, Shards)
		errs := make([]error, Shards)
		var wg sync.WaitGroup
		for i := range Shards {
			wg.Go(func() { parts[i], errs[i] = s.readWholeShard(ctx, q, shardPartition(i)) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return task.Page{}, err
		}
		for _, p := range parts {
			all = append(all, p...)
		}
	} else {
		index, hashAttr, hashValue := IndexByOwner, attrOwner, q.Owner
		if q.Type != "" {
			index, hashAttr, hashValue = IndexByType, attrOwnerType, ownerType(q.Owner, q.Type)
		}
		var ids []string
		var start map[string]types.AttributeValue
		for {
			out, err := s.api.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(s.table),
				IndexName:                 aws.String(index),
				KeyConditionExpression:    aws.String("#h = :h"),
				ExpressionAttributeNames:  map[string]string{"#h": hashAttr},
				ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(hashValue)},
				ExclusiveStartKey:         start,
				ReturnConsumedCapacity:    types.ReturnConsumedCapacityIndexes,
			})
			if err != nil {
				return task.Page{}, fmt.Errorf("dynamostore: list %s: %w", index, err)
			}
			reportOne(s, OpQuery, out.ConsumedCapacity)
			for _, k := range out.Items {
				ids = append(ids, stringAttr(k, attrSK))
			}
			if start = out.LastEvaluatedKey; start == nil {
				break
			}
		}
		got, err := s.batchGet(ctx, ids)
		if err != nil {
			return task.Page{}, err
		}
		for _, id := range ids {
			if t, ok := got[id]; ok {
				all = append(all, t)
			}
		}
	}
	var items []listed
	for _, t := range all {
		key := sortValue(t.UpdatedAt, t.ID)
		if keep(q, t) && (after == "" || before(q.Desc, after, key)) {
			items = append(items, listed{key: key, task: t})
		}
	}
	slices.SortFunc(items, func(a, b listed) int {
		switch {
		case before(q.Desc, a.key, b.key):
			return -1
		case before(q.Desc, b.key, a.key):
			return 1
		}
		return 0
	})
	pg := task.Page{}
	for i, it := range items {
		if i == q.Limit {
			pg.Next = []byte(items[i-1].key)
			break
		}
		pg.Tasks = append(pg.Tasks, it.task)
	}
	if pg.Tasks == nil {
		pg.Tasks = []task.Task{}
	}
	return pg, nil
}

// readWholeShard reads every task of one shard that passes q's filters.
func (s *Store) readWholeShard(ctx context.Context, q task.ListQuery, pk string) ([]task.Task, error) {
	in := s.shardQuery(q, pk, "")
	var out []task.Task
	for {
		res, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: list shard %s: %w", pk, err)
		}
		reportOne(s, OpQuery, res.ConsumedCapacity)
		for _, item := range res.Items {
			t, err := itemTask(item)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
		if res.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}
