package dynamostore

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// BenchmarkLifecycle is the cost benchmark: the DynamoDB calls and the capacity units (as
// the endpoint reports them in ConsumedCapacity, index writes included) that one task costs
// from create to success with two subtasks, plus one poll and one list page. On AWS the
// units are what is billed; on moto they are nominal, but the call counts are exact. Run
// with `make bench`.
func BenchmarkLifecycle(b *testing.B) {
	ctx := context.Background()
	client := dynamodb.NewFromConfig(awstest.Config(b, "DYNAMODB"))
	table := awstest.Name("bench")
	if err := CreateTable(ctx, client, table); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	var (
		mu    sync.Mutex
		calls = map[string]float64{}
		units = map[string]float64{}
	)
	s := New(client, table, WithCapacity(func(op string, cc []types.ConsumedCapacity) {
		mu.Lock()
		defer mu.Unlock()
		calls[op]++
		for _, c := range cc {
			units[op] += aws.ToFloat64(c.CapacityUnits)
		}
	}))
	apply := func(ch task.Change, err error) task.Task {
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Apply(ctx, ch); err != nil {
			b.Fatal(err)
		}
		return ch.Task
	}
	now := time.Now().UTC()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		tk, err := tasktest.Types.New(task.NewID(now), "bench-tenant", task.Spec{Type: tasktest.TypeAlpha}, now)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Create(ctx, tk, nil); err != nil {
			b.Fatal(err)
		}
		if tk, err = s.Get(ctx, tk.ID, now); err != nil {
			b.Fatal(err)
		}
		tk = apply(tk.Claim(now))
		for tk.NextSubTask() >= 0 {
			ch, i, err := tk.StartAttempt(now)
			tk = apply(ch, err)
			tk = apply(tk.FinishSubTask(i, now))
		}
		tk = apply(tk.Succeed([]byte(`{"ok":true}`), "", now))
		if _, err := s.List(ctx, task.ListQuery{Owner: "bench-tenant", SortKey: task.SortCreated, Desc: true, Limit: 25, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	var totalCalls, totalUnits float64
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		totalCalls += calls[op]
		totalUnits += units[op]
		b.ReportMetric(calls[op]/n, op+"-calls/task")
	}
	b.ReportMetric(totalCalls/n, "calls/task")
	b.ReportMetric(totalUnits/n, "capacity-units/task")
}
