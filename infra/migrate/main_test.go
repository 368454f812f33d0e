package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// TestCopyTable: items of the earlier table (a task in the compact document, one in the
// legacy whole-task JSON, an idempotency record, and an expired task and record) land in a
// table of the current design as the store reads them: the live tasks found by Get and
// listed, the record still guarding its key, the expired ones left behind. A second run
// changes nothing.
func TestCopyTable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg := awstest.Config(t, "DYNAMODB")
	db := dynamodb.NewFromConfig(cfg)
	from, to := awstest.Name("old"), awstest.Name("new")
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(from),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := dynamostore.CreateTable(ctx, db, to); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range []string{from, to} {
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})

	now := tasktest.At(time.Hour)
	compact := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0))
	legacy := tasktest.New(t, "tenant-a", tasktest.TypeBeta, tasktest.At(time.Second))
	expired := tasktest.NewSpec(t, "tenant-a", task.Spec{Type: tasktest.TypeAlpha, Retention: task.MinRetention}, tasktest.At(2*time.Second))
	c, err := expired.Cancel(tasktest.At(3 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	expired = c.Task
	put := func(item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(from), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tk := range []task.Task{compact, expired} {
		put(oldItem(t, tk))
	}
	whole := oldItem(t, legacy)
	doc := legacy
	doc.Input = nil
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	whole["doc"] = &types.AttributeValueMemberS{Value: string(b)}
	put(whole)
	idem := func(key string, exp time.Time) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": s("I#tenant-a#" + key), "taskId": s(compact.ID), "bodyHash": s("h"), "owner": s("tenant-a"),
			"idemKey": s(key), "expiresAt": n(exp.Unix() + 1), "expiresAtNs": n(exp.UnixNano()),
		}
	}
	put(idem("live", tasktest.At(24*time.Hour)))
	put(idem("gone", tasktest.At(time.Minute)))

	for run := 1; run <= 2; run++ {
		got, err := copyTable(ctx, db, from, to, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := (counts{read: 5, written: 3, expired: 2}); got != want {
			t.Errorf("run %d: %+v, want %+v", run, got, want)
		}
	}
	store := dynamostore.New(db, to)
	for _, want := range []task.Task{compact, legacy} {
		got, err := store.Get(ctx, want.ID, now)
		if err != nil {
			t.Fatalf("Get(%s): %v", want.ID, err)
		}
		if d := cmp.Diff(asJSON(t, want), asJSON(t, got)); d != "" {
			t.Errorf("task %s after the copy (-want +got):\n%s", want.ID, d)
		}
	}
	if _, err := store.Get(ctx, expired.ID, tasktest.At(3*time.Second)); err == nil {
		t.Errorf("the expired task was copied")
	}
	p, err := store.List(ctx, task.ListQuery{Owner: "tenant-a", Limit: 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tasks) != 2 || p.Tasks[0].ID != compact.ID || p.Tasks[1].ID != legacy.ID {
		t.Errorf("listed %d tasks after the copy, want %s and %s", len(p.Tasks), compact.ID, legacy.ID)
	}
	again := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(2*time.Hour))
	err = store.Create(ctx, again, &task.Idempotency{Owner: "tenant-a", Key: "live", TaskID: again.ID, ExpiresAt: tasktest.At(26 * time.Hour)})
	if e, ok := task.AsIdempotencyExists(err); !ok || e.Existing.TaskID != compact.ID {
		t.Errorf("Create with the copied live key: %v, want the IdempotencyExistsError of %s", err, compact.ID)
	}
}

// oldItem is tk's item as the design before this one stored it: pk "T#<id>", no sk and no
// ot, and the index attributes it had (os, u, ga).
func oldItem(t *testing.T, tk task.Task) map[string]types.AttributeValue {
	t.Helper()
	item, err := dynamostore.TaskItem(tk)
	if err != nil {
		t.Fatal(err)
	}
	delete(item, "sk")
	delete(item, "ot")
	item["pk"] = s("T#" + tk.ID)
	item["os"] = s(tk.Owner + "#" + string(tk.Status))
	item["u"] = s(tk.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z") + "#" + tk.ID)
	item["ga"] = s("all#3")
	return item
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func asJSON(t *testing.T, tk task.Task) string {
	t.Helper()
	b, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
