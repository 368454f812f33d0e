package dynamostore

import (
	"context"
	"errors"
	"fmt"
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
// the same indexes.
const (
	// IndexByCreated lists a tenant's tasks by createdAt: key (o, c).
	IndexByCreated = "byCreated"
	// IndexByUpdated lists a tenant's tasks by updatedAt: key (o, u).
	IndexByUpdated = "byUpdated"
	// IndexByStatusCreated lists a tenant's tasks of one status by createdAt: key (os, c).
	IndexByStatusCreated = "byStatusCreated"
	// IndexByStatusUpdated lists a tenant's tasks of one status by updatedAt: key (os, u).
	IndexByStatusUpdated = "byStatusUpdated"
	// IndexByActive holds only pending and processing tasks, keys only, by updatedAt in 8
	// shards per status: key (act, u) with act = "<status>#<shard>". The sweeper (Stale)
	// reads it, one status at a time.
	IndexByActive = "byActive"
	// IndexAllCreated lists every tenant's tasks by createdAt, for admins: key (ga, c) with
	// ga = "all#<shard>", the tasks spread over 8 shards so that no partition is hot.
	IndexAllCreated = "allCreated"
	// IndexAllUpdated lists every tenant's tasks by updatedAt, for admins: key (ga, u).
	IndexAllUpdated = "allUpdated"
)

// Attribute names of the items.
const (
	attrPK          = "pk"
	attrDoc         = "doc"
	attrInput       = "in"
	attrResult      = "res"
	attrStatus      = "st"
	attrVersion     = "v"
	attrType        = "ty"
	attrExpiresAt   = TTLAttribute
	attrOwner       = "o"
	attrOwnerStatus = "os"
	attrCreated     = "c"
	attrUpdated     = "u"
	attrActive      = "act"
	attrAll         = "ga"

	// idempotency records
	attrTaskID      = "taskId"
	attrBodyHash    = "bodyHash"
	attrIdemOwner   = "owner"
	attrIdemKey     = "idemKey"
	attrExpiresAtNs = "expiresAtNs"
)

// activeShards is how many byActive partitions the tasks of each active status are spread
// over.
const activeShards = 8

// allShards is how many allCreated/allUpdated partitions every tenant's tasks are spread
// over; an all-tenants list reads them all.
const allShards = 8

// listProjection is what the list indexes carry besides their keys: what a listed task shows
// (doc), and what a filter reads (st, ty, expiresAt).
var listProjection = []string{attrDoc, attrStatus, attrType, attrExpiresAt}

// TableInput is the table's definition, the single source of truth: CreateTable creates it
// for tests and local runs, and a drift test compares the CloudFormation template with it, so
// the deployed table cannot silently differ from the one the tests ran against.
func TableInput(name string) *dynamodb.CreateTableInput {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	list := func(index, hash, rng string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: aws.String(index),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{
				ProjectionType:   types.ProjectionTypeInclude,
				NonKeyAttributes: append([]string(nil), listProjection...),
			},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			s(attrPK), s(attrOwner), s(attrOwnerStatus), s(attrCreated), s(attrUpdated), s(attrActive), s(attrAll),
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
		},
		StreamSpecification: streamSpecification(), // see events.go
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			list(IndexByCreated, attrOwner, attrCreated),
			list(IndexByUpdated, attrOwner, attrUpdated),
			list(IndexByStatusCreated, attrOwnerStatus, attrCreated),
			list(IndexByStatusUpdated, attrOwnerStatus, attrUpdated),
			{
				IndexName: aws.String(IndexByActive),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(attrActive), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(attrUpdated), KeyType: types.KeyTypeRange},
				},
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
			},
			list(IndexAllCreated, attrAll, attrCreated),
			list(IndexAllUpdated, attrAll, attrUpdated),
		},
	}
}

// TableAPI is what CreateTable calls: table administration, which the running service's role
// is not granted, so it is kept apart from API.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates the table of TableInput(name), waits until it and its indexes are
// ACTIVE, and enables TTL on TTLAttribute; it is what tests and local tooling use instead of
// the template. A table of that name that already exists is accepted as it is (its schema is
// not compared: the drift test guards the template) and only waited for and given TTL, so
// that a local run can be restarted against the same emulator. It gives up when ctx ends.
func CreateTable(ctx context.Context, api TableAPI, name string) error {
	_, err := api.CreateTable(ctx, TableInput(name))
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
