package costmodel_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/costmodel"
	"github.com/tasklane/tasklane/shared/dynamostore"
)

// TestRecorderRefusedAndFiltered: a put whose condition fails is billed on the table only,
// by the stored item's size, and a Query whose filter drops every item is billed for the
// entries it read.
func TestRecorderRefusedAndFiltered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := awstest.Config(t, "DYNAMODB")
	table := awstest.Name("costrec")
	admin := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, admin, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	rec := costmodel.NewRecorder(cfg, nil, dynamostore.TableInput(table))
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	item := map[string]types.AttributeValue{"pk": s("S#01"), "sk": s("t1"), "o": s("tenant"), "c": s("c1"), "doc": s("{}")}
	put := func() error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		return err
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	if err := put(); err == nil {
		t.Fatal("second conditional put succeeded")
	}
	_, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(table), IndexName: aws.String(dynamostore.IndexByOwner),
		KeyConditionExpression:    aws.String("#o = :o"),
		FilterExpression:          aws.String("#pk = :nothing"),
		ExpressionAttributeNames:  map[string]string{"#o": "o", "#pk": "pk"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": s("tenant"), ":nothing": s("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A BatchGetItem that projects one attribute is billed the whole item, rounded up to 4 KB
	// by itself, and halved: eventually consistent.
	_, err = db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: {
		Keys:                 []map[string]types.AttributeValue{{"pk": s("S#01"), "sk": s("t1")}},
		ProjectionExpression: aws.String("pk, sk"),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if len(calls) != 4 {
		t.Fatalf("recorded %d calls, want 4: %+v", len(calls), calls)
	}
	first, refused, query, batch := calls[0], calls[1], calls[2], calls[3]
	if !first.OK || first.WRU() != 2 { // the table and byOwner (the item has no ot)
		t.Errorf("insert: ok %v, %v WRU, want 2: %+v", first.OK, first.WRU(), first.Writes)
	}
	if refused.OK || len(refused.Writes) != 1 || !refused.Writes[0].Failed || refused.WRU() != 1 || len(refused.Writes[0].Cost.Indexes) != 0 {
		t.Errorf("refused put = %+v, want a failed write of 1 WRU on the table only", refused)
	}
	entry := (costmodel.Item{"pk": costmodel.Str("S#01"), "sk": costmodel.Str("t1"), "o": costmodel.Str("tenant"), "c": costmodel.Str("c1")}).Size()
	if query.RRU != 0.5 || len(query.ReadBytes) != 1 || query.ReadBytes[0] != entry {
		t.Errorf("filtered query read %v bytes for %v RRU, want [%d] for 0.5", query.ReadBytes, query.RRU, entry)
	}
	whole := (costmodel.Item{"pk": costmodel.Str("S#01"), "sk": costmodel.Str("t1"), "o": costmodel.Str("tenant"), "c": costmodel.Str("c1"), "doc": costmodel.Str("{}")}).Size()
	if batch.RRU != 0.5 || len(batch.ReadBytes) != 1 || batch.ReadBytes[0] != whole {
		t.Errorf("projected BatchGetItem read %v bytes for %v RRU, want [%d] for 0.5", batch.ReadBytes, batch.RRU, whole)
	}
}
