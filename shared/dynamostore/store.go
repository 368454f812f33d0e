package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/task"
)

// API is the part of *dynamodb.Client the store calls, and all of it: tests wrap it to count
// and inspect calls, and its method set is the least privilege the service's IAM role needs.
// It has no Scan on purpose: every read is addressed by a key or a partition.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Operation names passed to the WithCapacity callback: the DynamoDB operation called.
const (
	OpGetItem            = "GetItem"
	OpPutItem            = "PutItem"
	OpQuery              = "Query"
	OpBatchGetItem       = "BatchGetItem"
	OpTransactWriteItems = "TransactWriteItems"
)

// Store is the task.Store on one DynamoDB table (see the package comment for its layout). It
// is safe for concurrent use: it keeps no state besides its configuration.
type Store struct {
	api      API
	table    string
	capacity func(op string, cc []types.ConsumedCapacity)
	marks    bool // see WithEventMarks
	updated  bool // see WithUpdatedAtIndex
	all      bool // see WithAdminUpdatedAtIndex
}

var _ task.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithCapacity makes the store hand fn the ConsumedCapacity of every successful call, with the
// DynamoDB operation's name (OpGetItem, ...), so that the cost of each store operation,
// index writes included, can be logged as a metric or asserted in tests. fn is called on the
// caller's goroutine and must be safe for concurrent use if the store is. cc may be empty
// when the service (or an emulator) returns no capacity; failed calls report none because
// DynamoDB's error responses carry none.
func WithCapacity(fn func(op string, cc []types.ConsumedCapacity)) Option {
	return func(s *Store) { s.capacity = fn }
}

// WithUpdatedAtIndex makes the store list a tenant's tasks in updatedAt order from
// IndexByUpdated, one page a Query, instead of reading every candidate; the table must have
// been made with UpdatedAtIndex (the template's parameter of that name).
func WithUpdatedAtIndex() Option { return func(s *Store) { s.updated = true } }

// WithAdminUpdatedAtIndex makes the store list every tenant's tasks (an admin's list) in
// updatedAt order from IndexAllUpdated, its shards merged as the table's are in createdAt
// order, instead of reading every shard whole; the table must have been made with
// AdminUpdatedAtIndex (the template's parameter of that name).
func WithAdminUpdatedAtIndex() Option { return func(s *Store) { s.all = true } }

// New returns a store on table, calling api (usually a *dynamodb.Client). The table must have
// been made from TableInput.
func New(api API, table string, opts ...Option) *Store {
	s := &Store{api: api, table: table}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Store) report(op string, cc ...types.ConsumedCapacity) {
	if s.capacity != nil {
		s.capacity(op, cc)
	}
}

func reportOne(s *Store, op string, cc *types.ConsumedCapacity) {
	if cc == nil {
		s.report(op)
		return
	}
	s.report(op, *cc)
}

// maxTransactAttempts bounds Create's retries of a transaction cancelled by a concurrent
// transaction or by an idempotency record that turned out to be expired.
const maxTransactAttempts = 5

// Create implements task.Store. Without idem it is one conditional PutItem; with idem, one
// TransactWriteItems of the task and the record, so that neither exists without the other.
// A retry that finds exactly what it writes already stored (the task with its WriteID, and
// the record) is an earlier try whose answer was lost, and is success.
func (s *Store) Create(ctx context.Context, t task.Task, idem *task.Idempotency) error {
	if t.ID == "" || t.Owner == "" {
		return fmt.Errorf("dynamostore: create: a task needs an id and an owner")
	}
	item, err := TaskItem(t)
	if err != nil {
		return err
	}
	s.mark(item, func() []string { return event.Types(nil, t) })
	if idem == nil {
		out, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           aws.String(s.table),
			Item:                                item,
			ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames:            map[string]string{"#pk": attrPK},
			ReturnConsumedCapacity:              types.ReturnConsumedCapacityIndexes,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case errors.As(err, &ccf) && ownWrite(t, ccf.Item, item):
			return nil // a retry found the first try's write (see the package comment)
		case errors.As(err, &ccf):
			return fmt.Errorf("dynamostore: create: task %s already exists", t.ID)
		case err != nil:
			return fmt.Errorf("dynamostore: create task %s: %w", t.ID, err)
		}
		reportOne(s, OpPutItem, out.ConsumedCapacity)
		return nil
	}
	return s.createIdem(ctx, t, item, *idem)
}

// createIdem writes the task and its idempotency record in one transaction. The record's
// condition lets it replace a record that expired (by whole TTL seconds, which is as fine as
// a condition can see); when the condition fails, the record is read and judged to the
// nanosecond: a live one is the IdempotencyExistsError, an expired one is replaced by a
// retry whose condition names that very record (its taskId), so a record written meanwhile
// by someone else is never overwritten.
func (s *Store) createIdem(ctx context.Context, t task.Task, item map[string]types.AttributeValue, idem task.Idempotency) error {
	if idem.Owner == "" {
		return fmt.Errorf("dynamostore: create: an idempotency record needs an owner")
	}
	rec := idemItem(idem)
	stale := "" // taskId of an expired record the next attempt may replace
	var lastErr error
	for attempt := 0; attempt < maxTransactAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(attempt*attempt)*20*time.Millisecond); err != nil {
				return fmt.Errorf("dynamostore: create task %s: %w", t.ID, err)
			}
		}
		cond := "attribute_not_exists(#pk) OR #exp < :now"
		names := map[string]string{"#pk": attrPK, "#exp": attrExpiresAt}
		values := map[string]types.AttributeValue{":now": num(t.CreatedAt.Unix())}
		if stale != "" {
			cond += " OR #tid = :stale"
			names["#tid"] = attrTaskID
			values[":stale"] = str(stale)
		}
		out, err := s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{
					TableName:                           aws.String(s.table),
					Item:                                item,
					ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
					ExpressionAttributeNames:            map[string]string{"#pk": attrPK},
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
				}},
				{Put: &types.Put{
					TableName:                           aws.String(s.table),
					Item:                                rec,
					ConditionExpression:                 aws.String(cond),
					ExpressionAttributeNames:            names,
					ExpressionAttributeValues:           values,
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
				}},
			},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes,
		})
		if err == nil {
			s.report(OpTransactWriteItems, out.ConsumedCapacity...)
			return nil
		}
		var tc *types.TransactionCanceledException
		if !errors.As(err, &tc) {
			return fmt.Errorf("dynamostore: create task %s: %w", t.ID, err)
		}
		taskCode, idemCode := reasonCode(tc, 0), reasonCode(tc, 1)
		switch {
		case taskCode == "ConditionalCheckFailed" && idemCode == "ConditionalCheckFailed" &&
			ownWrite(t, reasonItem(tc, 0), item) && sameItem(reasonItem(tc, 1), rec):
			// An earlier attempt of this very create wrote both (its answer was lost, and the
			// SDK's or our retry found them): it succeeded. See the package comment.
			return nil
		case idemCode == "ConditionalCheckFailed":
			existing, found, err := s.getIdem(ctx, idem.Owner, idem.Key)
			if err != nil {
				return err
			}
			if found && t.CreatedAt.Before(existing.ExpiresAt) {
				return &task.IdempotencyExistsError{Existing: existing}
			}
			if found {
				stale = existing.TaskID
			}
		case taskCode == "ConditionalCheckFailed":
			return fmt.Errorf("dynamostore: create: task %s already exists", t.ID)
		case taskCode == "TransactionConflict" || idemCode == "TransactionConflict":
			// A concurrent transaction held one of the items; the retry sees its outcome.
		default:
			return fmt.Errorf("dynamostore: create task %s: %w", t.ID, err)
		}
		lastErr = err
	}
	return fmt.Errorf("dynamostore: create task %s: gave up after %d attempts: %w", t.ID, maxTransactAttempts, lastErr)
}

func reasonCode(tc *types.TransactionCanceledException, i int) string {
	if i >= len(tc.CancellationReasons) {
		return ""
	}
	return aws.ToString(tc.CancellationReasons[i].Code)
}

// reasonItem is the item that failed the condition of transaction item i, as
// ReturnValuesOnConditionCheckFailure ALL_OLD returns it, or nil.
func reasonItem(tc *types.TransactionCanceledException, i int) map[string]types.AttributeValue {
	if i >= len(tc.CancellationReasons) {
		return nil
	}
	return tc.CancellationReasons[i].Item
}

// ownWrite reports whether stored, the item found in the way of a conditional put of item
// (the task t's), is that very put: the write of an earlier try whose answer was lost. It
// takes t's WriteID, which no other writer draws, and every attribute being equal; without a
// WriteID nothing proves that the equal item is ours. See the package comment.
func ownWrite(t task.Task, stored, item map[string]types.AttributeValue) bool {
	return t.WriteID != "" && sameItem(stored, item)
}

// sameItem reports whether two items hold the same attributes with the same values. The
// store writes only strings and integers, whose values DynamoDB returns as they were sent.
func sameItem(a, b map[string]types.AttributeValue) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	for name, bv := range b {
		switch bv := bv.(type) {
		case *types.AttributeValueMemberS:
			av, ok := a[name].(*types.AttributeValueMemberS)
			if !ok || av.Value != bv.Value {
				return false
			}
		case *types.AttributeValueMemberN:
			av, ok := a[name].(*types.AttributeValueMemberN)
			if !ok || av.Value != bv.Value {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// getIdem reads an idempotency record, consistently: it was just found in the way of a write.
func (s *Store) getIdem(ctx context.Context, owner, key string) (task.Idempotency, bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              aws.String(s.table),
		Key:                    idemKey(owner, key),
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes,
	})
	if err != nil {
		return task.Idempotency{}, false, fmt.Errorf("dynamostore: read idempotency record: %w", err)
	}
	reportOne(s, OpGetItem, out.ConsumedCapacity)
	if out.Item == nil {
		return task.Idempotency{}, false, nil
	}
	r, err := itemIdem(out.Item)
	return r, err == nil, err
}

// Get implements task.Store with a strongly consistent GetItem, so that a client reads its
// own writes (a 202 followed by a GET never 404s).
func (s *Store) Get(ctx context.Context, id string, now time.Time) (task.Task, error) {
	if !task.ValidID(id) { // no such item can exist: Create stores ULIDs only
		return task.Task{}, task.ErrNotFound
	}
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              aws.String(s.table),
		Key:                    taskKey(id),
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes,
	})
	if err != nil {
		return task.Task{}, fmt.Errorf("dynamostore: get task %s: %w", id, err)
	}
	reportOne(s, OpGetItem, out.ConsumedCapacity)
	if out.Item == nil {
		return task.Task{}, task.ErrNotFound
	}
	t, err := itemTask(out.Item)
	if err != nil {
		return task.Task{}, err
	}
	if t.Expired(now) { // TTL deletes late; expiry is decided here, to the nanosecond
		return task.Task{}, task.ErrNotFound
	}
	return t, nil
}

// Apply implements task.Store: a put of the whole new item, conditional on the stored status
// and version being those the change was computed from. A failed condition that finds the
// stored item to be exactly this change (same WriteID, every attribute equal) is an earlier
// try of this put whose answer was lost, and is success.
func (s *Store) Apply(ctx context.Context, c task.Change) error {
	if c.Task.ID == "" || c.Task.Owner == "" {
		return fmt.Errorf("dynamostore: apply: a task needs an id and an owner")
	}
	item, err := taskItem(c.Task)
	if err != nil {
		return err
	}
	s.mark(item, func() []string { return event.ChangeTypes(c) })
	out, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_exists(#pk) AND #st = :from AND #v = :ver"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#st": attrStatus, "#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":from": str(string(c.FromStatus)),
			":ver":  num(c.FromVersion),
		},
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityIndexes,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && ownWrite(c.Task, ccf.Item, item):
		return nil // a retry found the first try's write (see the package comment)
	case errors.As(err, &ccf):
		return &task.ConflictError{ID: c.Task.ID, FromStatus: c.FromStatus, FromVersion: c.FromVersion}
	case err != nil:
		return fmt.Errorf("dynamostore: apply to task %s: %w", c.Task.ID, err)
	}
	reportOne(s, OpPutItem, out.ConsumedCapacity)
	return nil
}

// taskKey is the table key of the task id.
func taskKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(shardPK(id)), attrSK: str(id)}
}

// idemKey is the table key of owner's idempotency record of key.
func idemKey(owner, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(idemPK(owner, key)), attrSK: str(idemSK)}
}
