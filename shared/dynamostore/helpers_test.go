package dynamostore

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/task"
)

// opLog records every DynamoDB operation a client sends, below any wrapper of API, so that a
// store reaching past its API interface would still be caught.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *opLog) add(op string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, op)
}

func (l *opLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops...)
}

func (l *opLog) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("dynamostoreTestOpLog",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				l.add(middleware.GetOperationName(ctx))
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

// bundle is what one test works with (setup): its fresh table and the client that reaches it.
type bundle struct {
	client *dynamodb.Client
	table  string
	ops    *opLog // every operation sent by client, CreateTable's included
}

// setup creates a fresh table (a random name, so parallel tests share nothing), with opts,
// and deletes it when the test ends.
func setup(t *testing.T, opts ...TableOption) *bundle {
	t.Helper()
	cfg := awstest.Config(t, "DYNAMODB")
	e := &bundle{table: awstest.Name("tasks"), ops: &opLog{}}
	e.client = dynamodb.NewFromConfig(cfg, e.ops.option)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := CreateTable(ctx, e.client, e.table, opts...); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := e.client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(e.table)}); err != nil {
			t.Errorf("DeleteTable %s: %v", e.table, err)
		}
	})
	return e
}

func (e *bundle) store(opts ...Option) *Store { return New(e.client, e.table, opts...) }

// rawItem reads the item of task id as stored, bypassing the store.
func (e *bundle) rawItem(t *testing.T, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      aws.String(e.table),
		Key:            taskKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("raw GetItem %s: %v", id, err)
	}
	return out.Item
}

// call is one call through a recorder.
type call struct {
	op        string
	requested types.ReturnConsumedCapacity
	cc        []types.ConsumedCapacity // as the response carried it
	failed    bool
	index     string // a Query's index
	keys      int    // a BatchGetItem's keys
}

// recorder wraps an API and records every call, its capacity request and its response's
// capacity.
type recorder struct {
	api   API
	mu    sync.Mutex
	calls []call
}

func (r *recorder) add(c call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) reset() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

func (r *recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := r.api.GetItem(ctx, in, o...)
	c := call{op: OpGetItem, requested: in.ReturnConsumedCapacity}
	if c.failed = err != nil; !c.failed {
		c.cc = one(out.ConsumedCapacity)
	}
	r.add(c)
	return out, err
}

func (r *recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := r.api.PutItem(ctx, in, o...)
	c := call{op: OpPutItem, requested: in.ReturnConsumedCapacity}
	if c.failed = err != nil; !c.failed {
		c.cc = one(out.ConsumedCapacity)
	}
	r.add(c)
	return out, err
}

func (r *recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := r.api.Query(ctx, in, o...)
	c := call{op: OpQuery, requested: in.ReturnConsumedCapacity, index: aws.ToString(in.IndexName)}
	if c.failed = err != nil; !c.failed {
		c.cc = one(out.ConsumedCapacity)
	}
	r.add(c)
	return out, err
}

func (r *recorder) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := r.api.BatchGetItem(ctx, in, o...)
	c := call{op: OpBatchGetItem, requested: in.ReturnConsumedCapacity}
	for _, ka := range in.RequestItems {
		c.keys += len(ka.Keys)
	}
	if c.failed = err != nil; !c.failed {
		c.cc = out.ConsumedCapacity
	}
	r.add(c)
	return out, err
}

func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := r.api.TransactWriteItems(ctx, in, o...)
	c := call{op: OpTransactWriteItems, requested: in.ReturnConsumedCapacity}
	if c.failed = err != nil; !c.failed {
		c.cc = out.ConsumedCapacity
	}
	r.add(c)
	return out, err
}

// asJSON is a task's JSON, to compare tasks field by field with a readable diff.
func asJSON(t *testing.T, tk task.Task) string {
	t.Helper()
	b, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
