package dynamostore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// limitLEK wraps the emulator's API to behave as real DynamoDB does and moto does not: a
// Query that stops at its Limit returns a LastEvaluatedKey even when no further item
// follows. It can make that key only when the filter dropped nothing (the last item read is
// the last returned), so the tests below use data the filters keep whole.
type limitLEK struct {
	API
	t *testing.T
}

func (f limitLEK) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := f.API.Query(ctx, in, o...)
	if err != nil || in.Limit == nil || out.LastEvaluatedKey != nil || out.ScannedCount != *in.Limit {
		return out, err
	}
	if out.Count != out.ScannedCount {
		f.t.Errorf("limitLEK: the filter dropped items of a Query that stopped at Limit; cannot make its LastEvaluatedKey")
		return out, err
	}
	last := out.Items[len(out.Items)-1]
	key := map[string]types.AttributeValue{}
	for _, a := range []string{attrPK, attrSK, attrOwner, attrOwnerType, attrCreated} {
		if v, ok := last[a]; ok {
			key[a] = v
		}
	}
	out.LastEvaluatedKey = key
	return out, nil
}

// TestListExactLastPage: with DynamoDB's LastEvaluatedKey at every Limit, a page that ends
// exactly at the last matching task still has no Next, so a walk never ends with an empty
// page, whether the list reads the tenant's index (with a status filter or not) or the
// shards of the table; a tenant's page without a filter is still one Query.
func TestListExactLastPage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rec := &recorder{api: limitLEK{API: e.client, t: t}}
	s := New(rec, e.table)
	for i := range 6 {
		tk := tasktest.Create(t, s, tasktest.New(t, "exact", tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Second)))
		if i%2 == 1 {
			tasktest.Drive(t, s, tk, task.Cancelled, tasktest.At(time.Minute+time.Duration(i)*time.Second))
		}
	}
	now := tasktest.At(time.Hour) // nothing has expired: the filters drop nothing

	// The fake does what it should: a Query stopping at Limit on the last item has a key.
	out, err := rec.Query(t.Context(), &dynamodb.QueryInput{
		TableName: aws.String(e.table), IndexName: aws.String(IndexByOwner),
		KeyConditionExpression:    aws.String("o = :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str("exact")},
		Limit:                     aws.Int32(6),
	})
	if err != nil || out.LastEvaluatedKey == nil || len(out.Items) != 6 {
		t.Fatalf("fake: Query stopping at the last item: err %v, %d items, LastEvaluatedKey %v", err, len(out.Items), out.LastEvaluatedKey)
	}
	rec.reset()

	for _, tc := range []struct {
		name     string
		owner    string
		statuses []task.Status
		n        int // matching tasks
		queries  int // Queries per page (0: not counted)
	}{
		{"owner", "exact", nil, 6, 1},
		{"every status", "exact", []task.Status{task.Pending, task.Cancelled}, 6, 0},
		{"all tenants", "", nil, 6, 0},
	} {
		for _, sk := range []task.SortKey{task.SortCreated, task.SortUpdated} {
			for _, desc := range []bool{false, true} {
				for _, limit := range []int{1, 2, 3, 6, 7} {
					if limit > tc.n+1 {
						continue
					}
					name := fmt.Sprintf("%s/%s/desc=%v/limit=%d", tc.name, sk, desc, limit)
					q := task.ListQuery{Owner: tc.owner, Statuses: tc.statuses, SortKey: sk, Desc: desc, Limit: limit, Now: now}
					seen := map[string]bool{}
					pages := 0
					for {
						rec.reset()
						p, err := s.List(t.Context(), q)
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						queries := 0
						for _, c := range rec.reset() {
							if c.op == OpQuery {
								queries++
							}
						}
						if tc.queries > 0 && sk == task.SortCreated && queries != tc.queries {
							t.Errorf("%s: page %d took %d Queries, want %d", name, pages+1, queries, tc.queries)
						}
						pages++
						if len(p.Tasks) == 0 {
							t.Errorf("%s: page %d is empty", name, pages)
						}
						for _, tk := range p.Tasks {
							if seen[tk.ID] {
								t.Errorf("%s: task %s listed twice", name, tk.ID)
							}
							seen[tk.ID] = true
						}
						if p.Next == nil || pages > 10 {
							break
						}
						q.After = p.Next
					}
					if want := (tc.n + limit - 1) / limit; pages != want || len(seen) != tc.n {
						t.Errorf("%s: %d pages listing %d tasks, want %d pages listing %d (the last without Next)", name, pages, len(seen), want, tc.n)
					}
				}
			}
		}
	}
}
