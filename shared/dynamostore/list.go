package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/task"
)

// List implements task.Store.
//
// The cursor (Page.Next) is a sort-key value (c or u, see the package comment): everything
// up to it in the list's order has been read, and the next page seeks past it with a key
// condition, so every page costs one Query per partition read, however deep the walk.
//
// Every partition is queried with Limit = q.Limit+1: DynamoDB returns a LastEvaluatedKey
// whenever a Query stops at Limit, even when nothing follows, so a page of exactly q.Limit
// tasks could not tell "the last task" from "more to come" and would end the walk with an
// empty page. Reading one item more tells them apart: a partition that returned more than
// q.Limit items is cut after the q.Limit-th, which becomes its frontier (it has more); one
// that returned at most q.Limit items and still has a LastEvaluatedKey (the filters dropped
// some of the items Limit counted) has read up to that key; any other is exhausted.
//
// No status filter (or all five) reads byCreated or byUpdated; one status reads its
// byStatus* partition; both are one Query per page. The filters (type; expired by whole
// seconds) are FilterExpressions, applied after Limit counted the items, so a page may be
// short and still have a Next: the frontier is LastEvaluatedKey's sort value, not the last
// returned task. Expiry is checked again in Go to the nanosecond.
//
// Several statuses read one partition each, also one Query each, and merge; so does a list
// of every tenant (Owner ""), which reads the activeShards partitions of allCreated or
// allUpdated with the status filter as a FilterExpression. A partition that is not exhausted
// has read only up to its frontier, so the page ends at the earliest, in the list's order, of
// the limit-th merged task and every such frontier; tasks after that boundary are left for
// the next page, which starts from it. So no unread task of any partition is ever skipped, a
// page never holds more than Limit tasks, and Next is nil only when every partition is
// exhausted. A task listed twice in one page (an index is eventually consistent, so a task
// that changed status may briefly show in both partitions) is listed once, as its newest
// version.
func (s *Store) List(ctx context.Context, q task.ListQuery) (task.Page, error) {
	if q.Limit <= 0 || q.Limit >= math.MaxInt32 {
		return task.Page{}, fmt.Errorf("dynamostore: list: limit %d out of range", q.Limit)
	}
	var sortAttr, ownerIndex, statusIndex, allIndex string
	switch q.SortKey {
	case task.SortCreated, "":
		sortAttr, ownerIndex, statusIndex, allIndex = attrCreated, IndexByCreated, IndexByStatusCreated, IndexAllCreated
	case task.SortUpdated:
		sortAttr, ownerIndex, statusIndex, allIndex = attrUpdated, IndexByUpdated, IndexByStatusUpdated, IndexAllUpdated
	default:
		return task.Page{}, fmt.Errorf("dynamostore: list: unknown sort key %q", q.SortKey)
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

	if q.Owner == "" {
		reads := make([]partitionRead, allShards)
		for i := range reads {
			reads[i] = partitionRead{index: allIndex, hashAttr: attrAll, hashValue: allPartition(i), statuses: statuses}
		}
		parts, err := s.queryPartitions(ctx, q, sortAttr, after, reads)
		if err != nil {
			return task.Page{}, err
		}
		return merge(parts, q.Limit, q.Desc), nil
	}
	if len(statuses) == 0 {
		p, err := s.queryPartition(ctx, q, sortAttr, after, partitionRead{index: ownerIndex, hashAttr: attrOwner, hashValue: q.Owner})
		return merge([]partition{p}, q.Limit, q.Desc), err
	}
	reads := make([]partitionRead, len(statuses))
	for i, st := range statuses {
		reads[i] = partitionRead{index: statusIndex, hashAttr: attrOwnerStatus, hashValue: q.Owner + "#" + string(st)}
	}
	parts, err := s.queryPartitions(ctx, q, sortAttr, after, reads)
	if err != nil {
		return task.Page{}, err
	}
	return merge(parts, q.Limit, q.Desc), nil
}

// distinct validates a status filter and drops repeats, so that no partition is read twice.
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

// listed is a task read by a list, with its sort-key value.
type listed struct {
	key  string
	task task.Task
}

// partition is what one Query read of one index partition: its tasks in the list's order,
// and, unless it is exhausted, the frontier up to which it read.
type partition struct {
	items     []listed
	frontier  string
	exhausted bool
}

// partitionRead names one index partition a list reads, and the statuses a FilterExpression
// keeps (none: every status; the status partitions need none).
type partitionRead struct {
	index, hashAttr, hashValue string
	statuses                   []task.Status
}

// queryPartitions queries every partition of reads, concurrently: a page's latency is that of
// its slowest Query, not their sum.
func (s *Store) queryPartitions(ctx context.Context, q task.ListQuery, sortAttr, after string, reads []partitionRead) ([]partition, error) {
	if len(reads) == 1 {
		p, err := s.queryPartition(ctx, q, sortAttr, after, reads[0])
		return []partition{p}, err
	}
	parts := make([]partition, len(reads))
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, r := range reads {
		wg.Go(func() { parts[i], errs[i] = s.queryPartition(ctx, q, sortAttr, after, r) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return parts, nil
}

// queryPartition is one Query of one index partition, past after, of at most q.Limit+1 items
// (see List), cut to q.Limit.
func (s *Store) queryPartition(ctx context.Context, q task.ListQuery, sortAttr, after string, r partitionRead) (partition, error) {
	names := map[string]string{"#h": r.hashAttr, "#exp": attrExpiresAt}
	values := map[string]types.AttributeValue{
		":h":   str(r.hashValue),
		":now": num(q.Now.Unix()), // floor: the TTL value is rounded up, so no live task is dropped
	}
	keyCond := "#h = :h"
	if after != "" {
		names["#s"] = sortAttr
		values[":after"] = str(after)
		if q.Desc {
			keyCond += " AND #s < :after"
		} else {
			keyCond += " AND #s > :after"
		}
	}
	filter := "(attribute_not_exists(#exp) OR #exp > :now)"
	if q.Type != "" {
		names["#ty"] = attrType
		values[":ty"] = str(q.Type)
		filter += " AND #ty = :ty"
	}
	if len(r.statuses) > 0 {
		names["#st"] = attrStatus
		refs := make([]string, len(r.statuses))
		for i, st := range r.statuses {
			refs[i] = ":st" + strconv.Itoa(i)
			values[refs[i]] = str(string(st))
		}
		filter += " AND #st IN (" + strings.Join(refs, ", ") + ")"
	}
	out, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(r.index),
		KeyConditionExpression:    aws.String(keyCond),
		FilterExpression:          aws.String(filter),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(!q.Desc),
		Limit:                     aws.Int32(int32(q.Limit + 1)),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityIndexes,
	})
	if err != nil {
		return partition{}, fmt.Errorf("dynamostore: list %s: %w", r.index, err)
	}
	reportOne(s, OpQuery, out.ConsumedCapacity)
	items := out.Items
	var p partition
	switch {
	case len(items) > q.Limit:
		// More than the page needs: the partition has more, and has been read up to the
		// last item kept (the next page reads the rest again).
		items = items[:q.Limit]
		if p.frontier = stringAttr(items[len(items)-1], sortAttr); p.frontier == "" {
			return partition{}, fmt.Errorf("dynamostore: list %s: item without %s", r.index, sortAttr)
		}
	case out.LastEvaluatedKey != nil:
		// The filters dropped some of the items Limit counted: read up to the key.
		if p.frontier = stringAttr(out.LastEvaluatedKey, sortAttr); p.frontier == "" {
			return partition{}, fmt.Errorf("dynamostore: list %s: LastEvaluatedKey without %s", r.index, sortAttr)
		}
	default:
		p.exhausted = true
	}
	for _, item := range items {
		t, err := itemTask(item)
		if err != nil {
			return partition{}, err
		}
		if t.Expired(q.Now) { // expired within the second the filter cannot see
			continue
		}
		p.items = append(p.items, listed{key: stringAttr(item, sortAttr), task: t})
	}
	return p, nil
}

// merge makes one page of one or several partitions' reads, as List describes.
func merge(parts []partition, limit int, desc bool) task.Page {
	before := func(a, b string) bool { // a comes before b in the list's order
		if desc {
			return a > b
		}
		return a < b
	}
	var all []listed
	for _, p := range parts {
		all = append(all, p.items...)
	}
	sort.SliceStable(all, func(i, j int) bool { return before(all[i].key, all[j].key) })

	boundary, bounded := "", false
	if len(all) > limit {
		boundary, bounded = all[limit-1].key, true
	}
	for _, p := range parts {
		if !p.exhausted && (!bounded || before(p.frontier, boundary)) {
			boundary, bounded = p.frontier, true
		}
	}
	var kept []listed
	for _, it := range all {
		if bounded && before(boundary, it.key) {
			break
		}
		kept = append(kept, it)
	}
	pg := task.Page{Tasks: make([]task.Task, 0, len(kept))}
	for _, it := range dedupe(kept) {
		pg.Tasks = append(pg.Tasks, it.task)
	}
	if bounded {
		pg.Next = []byte(boundary)
	}
	return pg
}

// dedupe keeps one entry per task id, that of the highest version (the newest state), at its
// own place in the order.
func dedupe(in []listed) []listed {
	best := make(map[string]int, len(in)) // id -> index in in of its newest version
	dup := false
	for i, it := range in {
		if j, ok := best[it.task.ID]; ok {
			dup = true
			if it.task.Version <= in[j].task.Version {
				continue
			}
		}
		best[it.task.ID] = i
	}
	if !dup {
		return in
	}
	out := make([]listed, 0, len(best))
	for i, it := range in {
		if best[it.task.ID] == i {
			out = append(out, it)
		}
	}
	return out
}
