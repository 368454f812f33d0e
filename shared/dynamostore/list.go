package dynamostore

import (
	"context"
	"fmt"
	"math"
	"sort"

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
// No status filter (or all five) reads byCreated or byUpdated; one status reads its
// byStatus* partition; both are one Query per page, with Limit = q.Limit. The filters
// (type; expired by whole seconds) are FilterExpressions, applied after Limit counted the
// items, so a page may be short and still have a Next: the frontier is LastEvaluatedKey's
// sort value, not the last returned task. Expiry is checked again in Go to the nanosecond.
//
// Several statuses read one partition each, also one Query of Limit items each, and merge.
// A partition that stopped early (a LastEvaluatedKey) has read only up to its frontier, so the
// page ends at the earliest, in the list's order, of the limit-th merged task and every such
// frontier; tasks after that boundary are left for the next page, which starts from it. So no
// unread task of any partition is ever skipped, a page never holds more than Limit tasks, and
// Next is nil only when every partition is exhausted.
func (s *Store) List(ctx context.Context, q task.ListQuery) (task.Page, error) {
	if q.Owner == "" {
		return task.Page{}, fmt.Errorf("dynamostore: list: no owner")
	}
	if q.Limit <= 0 || q.Limit > math.MaxInt32 {
		return task.Page{}, fmt.Errorf("dynamostore: list: limit %d out of range", q.Limit)
	}
	var sortAttr, allIndex, statusIndex string
	switch q.SortKey {
	case task.SortCreated, "":
		sortAttr, allIndex, statusIndex = attrCreated, IndexByCreated, IndexByStatusCreated
	case task.SortUpdated:
		sortAttr, allIndex, statusIndex = attrUpdated, IndexByUpdated, IndexByStatusUpdated
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

	if len(statuses) == 0 || len(statuses) == len(task.Statuses) {
		p, err := s.queryPartition(ctx, q, allIndex, attrOwner, q.Owner, sortAttr, after)
		return p.page(), err
	}
	if len(statuses) == 1 {
		p, err := s.queryPartition(ctx, q, statusIndex, attrOwnerStatus, q.Owner+"#"+string(statuses[0]), sortAttr, after)
		return p.page(), err
	}
	parts := make([]partition, len(statuses))
	for i, st := range statuses {
		if parts[i], err = s.queryPartition(ctx, q, statusIndex, attrOwnerStatus, q.Owner+"#"+string(st), sortAttr, after); err != nil {
			return task.Page{}, err
		}
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

// page is a single partition's answer: its tasks, and its frontier as Next.
func (p partition) page() task.Page {
	pg := task.Page{Tasks: make([]task.Task, 0, len(p.items))}
	for _, it := range p.items {
		pg.Tasks = append(pg.Tasks, it.task)
	}
	if !p.exhausted {
		pg.Next = []byte(p.frontier)
	}
	return pg
}

// queryPartition is one Query of one index partition, past after, of at most q.Limit items.
func (s *Store) queryPartition(ctx context.Context, q task.ListQuery, index, hashAttr, hashValue, sortAttr, after string) (partition, error) {
	names := map[string]string{"#h": hashAttr, "#exp": attrExpiresAt}
	values := map[string]types.AttributeValue{
		":h":   str(hashValue),
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
	out, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String(keyCond),
		FilterExpression:          aws.String(filter),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(!q.Desc),
		Limit:                     aws.Int32(int32(q.Limit)),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityIndexes,
	})
	if err != nil {
		return partition{}, fmt.Errorf("dynamostore: list %s: %w", index, err)
	}
	reportOne(s, OpQuery, out.ConsumedCapacity)
	var p partition
	for _, item := range out.Items {
		t, err := itemTask(item)
		if err != nil {
			return partition{}, err
		}
		if t.Expired(q.Now) { // expired within the second the filter cannot see
			continue
		}
		p.items = append(p.items, listed{key: stringAttr(item, sortAttr), task: t})
	}
	// DynamoDB returns a LastEvaluatedKey whenever it stopped at Limit, even if nothing
	// follows (the walk then ends with an empty page); moto 5.2.5 returns one only when
	// another item follows. Either way a LastEvaluatedKey means "not known to be exhausted".
	if out.LastEvaluatedKey == nil {
		p.exhausted = true
	} else if p.frontier = stringAttr(out.LastEvaluatedKey, sortAttr); p.frontier == "" {
		return partition{}, fmt.Errorf("dynamostore: list %s: LastEvaluatedKey without %s", index, sortAttr)
	}
	return p, nil
}

// merge makes one page of several partitions' reads, as List describes.
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
	sort.Slice(all, func(i, j int) bool { return before(all[i].key, all[j].key) })

	boundary, bounded := "", false
	if len(all) > limit {
		boundary, bounded = all[limit-1].key, true
	}
	for _, p := range parts {
		if !p.exhausted && (!bounded || before(p.frontier, boundary)) {
			boundary, bounded = p.frontier, true
		}
	}
	pg := task.Page{Tasks: []task.Task{}}
	for _, it := range all {
		if bounded && before(boundary, it.key) {
			break
		}
		pg.Tasks = append(pg.Tasks, it.task)
	}
	if bounded {
		pg.Next = []byte(boundary)
	}
	return pg
}
