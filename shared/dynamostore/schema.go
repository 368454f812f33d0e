package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TTLAttribute is the table's TTL attribute: epoch seconds on terminal tasks and on
// idempotency records. It is exported so that the template and CreateTable enable TTL on the
// very attribute the store writes.
const TTLAttribute = "expiresAt"

// Index names. They are exported so that the template, its drift test and the store name
// the same indexes. byOwner and byType are KEYS_ONLY on keys that never change (see
// "Indexes" in the package comment): each costs one entry put per task, at its create, and
// nothing after. byUpdated and allUpdated are a deployment's opt-ins (UpdatedAtIndex,
// AdminUpdatedAtIndex), priced there.
const (
	// IndexByOwner lists a tenant's tasks by createdAt: key (o, c).
	IndexByOwner = "byOwner"
	// IndexByType lists a tenant's tasks of one type by createdAt: key (ot, c) with
	// ot = "<escaped owner>#<type>".
	IndexByType = "byType"
	// IndexByUpdated lists a tenant's tasks by updatedAt: key (o, u), KEYS_ONLY. Only a
	// table made with UpdatedAtIndex has it, and only a store made WithUpdatedAtIndex reads it.
	IndexByUpdated = "byUpdated"
	// IndexAllUpdated lists every tenant's tasks by updatedAt, shard by shard: key (pk, u),
	// KEYS_ONLY (idempotency records have no u, so they are not in it). Only a table made
	// with AdminUpdatedAtIndex has it, and only a store made WithAdminUpdatedAtIndex reads it.
	IndexAllUpdated = "allUpdated"
)

// Attribute names of the items.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrDoc       = "doc"
	attrInput     = "in"
	attrResult    = "res"
	attrOutputs   = "out"
	attrStatus    = "st"
	attrVersion   = "v"
	attrType      = "ty"
	attrExpiresAt = TTLAttribute
	attrOwner     = "o"
	attrOwnerType = "ot"
	attrCreated   = "c"
	attrUpdated   = "u"

	// idempotency records
	attrTaskID      = "taskId"
	attrBodyHash    = "bodyHash"
	attrIdemOwner   = "owner"
	attrIdemKey     = "idemKey"
	attrExpiresAtNs = "expiresAtNs"
)

// Shards is how many partitions of the table the tasks are spread over (pk "S#00".."S#15",
// by a hash of the id): enough that the writes of a burst are never one partition's (each
// takes about 1,000 WCU/s), few enough that an admin's list, which queries them all and
// merges them, stays within twice a tenant's page (see "Table" in the package comment).
const Shards = 16

// TableOption changes the table's definition from its default (UpdatedAtIndex,
// AdminUpdatedAtIndex).
type TableOption func(*dynamodb.CreateTableInput)

// UpdatedAtIndex adds IndexByUpdated to the table: the template's parameter UpdatedAtIndex,
// whose price "Indexes" in the package comment gives.
func UpdatedAtIndex(in *dynamodb.CreateTableInput) {
	addIndex(in, keysOnlyIndex(IndexByUpdated, attrOwner, attrUpdated))
}

// AdminUpdatedAtIndex adds IndexAllUpdated to the table: the template's parameter
// AdminUpdatedAtIndex, priced as UpdatedAtIndex is.
func AdminUpdatedAtIndex(in *dynamodb.CreateTableInput) {
	addIndex(in, keysOnlyIndex(IndexAllUpdated, attrPK, attrUpdated))
}

// OptIns are a deployment's opt-in indexes, the template's parameters UpdatedAtIndex
// (IndexByUpdated) and AdminUpdatedAtIndex (IndexAllUpdated): the table options that make
// them and the store options that read them, in one place for every caller that has the
// parameters' values.
type OptIns struct{ UpdatedAt, AdminUpdatedAt bool }

// TableOptions are the table options of o's indexes.
func (o OptIns) TableOptions() []TableOption {
	var out []TableOption
	if o.UpdatedAt {
		out = append(out, UpdatedAtIndex)
	}
	if o.AdminUpdatedAt {
		out = append(out, AdminUpdatedAtIndex)
	}
	return out
}

// Options are the store options that read o's indexes.
func (o OptIns) Options() []Option {
	var out []Option
	if o.UpdatedAt {
		out = append(out, WithUpdatedAtIndex())
	}
	if o.AdminUpdatedAt {
		out = append(out, WithAdminUpdatedAtIndex())
	}
	return out
}

// addIndex adds g to in, and the definition of u, its range key, unless in has it already.
func addIndex(in *dynamodb.CreateTableInput, g types.GlobalSecondaryIndex) {
	if !slices.ContainsFunc(in.AttributeDefinitions, func(d types.AttributeDefinition) bool { return aws.ToString(d.AttributeName) == attrUpdated }) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(attrUpdated), AttributeType: types.ScalarAttributeTypeS})
	}
	in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, g)
}

// keysOnlyIndex is a KEYS_ONLY global secondary index keyed (hash, rng).
func keysOnlyIndex(index, hash, rng string) types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName: aws.String(index),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
	}
}

// TableInput is the table's definition, the single source of truth: CreateTable creates it
// for tests and local runs, and a drift test compares the CloudFormation template with it, so
// the deployed table cannot silently differ from the one the tests ran against. opts are the
// deployment's choices (the template's parameters).
func TableInput(name string, opts ...TableOption) *dynamodb.CreateTableInput {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			s(attrPK), s(attrSK), s(attrOwner), s(attrOwnerType), s(attrCreated),
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		StreamSpecification: streamSpecification(), // see events.go
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			keysOnlyIndex(IndexByOwner, attrOwner, attrCreated),
			keysOnlyIndex(IndexByType, attrOwnerType, attrCreated),
		},
	}
	for _, o := range opts {
		o(in)
	}
	return in
}

// TableAPI is what CreateTable calls: table administration, which the running service's role
// is not granted, so it is kept apart from API.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates the table of TableInput(name, opts...), waits until it and its indexes are
// ACTIVE, and enables TTL on TTLAttribute; it is what tests and local tooling use instead of
// the template. A table of that name that already exists is accepted as it is (its schema is
// not compared: the drift test guards the template) and only waited for and given TTL, so
// that a local run can be restarted against the same emulator. It gives up when ctx ends.
func CreateTable(ctx context.Context, api TableAPI, name string, opts ...TableOption) error {
	_, err := api.CreateTable(ctx, TableInput(name, opts...))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamostore: create table %s: %w", name, err)
	}
	if err := waitActive(ctx, api, name); err != nil {
		return err
	}
	ttl, err := api.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("dynamostore: describe TTL of %s: %w", name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == TTLAttribute &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: enable TTL on %s: %w", name, err)
	}
	return nil
}

// waitActive polls DescribeTable until the table and every GSI are ACTIVE. The SDK's waiter
// looks at the table status only and starts at 20 s between polls, far too slow for tests.
func waitActive(ctx context.Context, api TableAPI, name string) error {
	delay := 100 * time.Millisecond
	for {
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) { // not found: creation not yet visible
			return fmt.Errorf("dynamostore: describe table %s: %w", name, err)
		}
		if err == nil && out.Table != nil && out.Table.TableStatus == types.TableStatusActive {
			ready := true
			for _, g := range out.Table.GlobalSecondaryIndexes {
				if g.IndexStatus != types.IndexStatusActive {
					ready = false
				}
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamostore: waiting for table %s: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
	}
}
