package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The webhook URLs that answered 410 Gone (webhook.GoneList) are items of the task table of
// their own: pk "G#" + the URL's SHA-256 (a URL may be longer than a key should be), sk
// goneSK, with
// the URL and when it answered. They carry none of the index attributes, so they cost no
// index writes and are never listed, and no TTL: a receiver that answered 410 is done with
// that URL (deleting the item lets deliveries resume). Each delivery reads its URL's item
// once, eventually consistent (0.5 RRU: an item under 4 KB); each 410 writes one (1 WRU).
const (
	attrGoneURL = "url"
	attrGoneAt  = "goneAt"
)

// goneSK is the sort key of every gone-URL item: its pk alone names it.
const goneSK = "G"

// goneKey is the table key of url's item.
func goneKey(url string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(gonePK(url)), attrSK: str(goneSK)}
}

func gonePK(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "G#" + hex.EncodeToString(sum[:])
}

// Gone reports whether url answered 410 Gone before (see MarkGone).
func (s *Store) Gone(ctx context.Context, url string) (bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              aws.String(s.table),
		Key:                    goneKey(url),
		ProjectionExpression:   aws.String(attrPK),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return false, fmt.Errorf("dynamostore: read gone url: %w", err)
	}
	reportOne(s, OpGetItem, out.ConsumedCapacity)
	return len(out.Item) > 0, nil
}

// MarkGone records that url answered 410 Gone at at.
func (s *Store) MarkGone(ctx context.Context, url string, at time.Time) error {
	out, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			attrPK:      str(gonePK(url)),
			attrSK:      str(goneSK),
			attrGoneURL: str(url),
			attrGoneAt:  &types.AttributeValueMemberN{Value: strconv.FormatInt(at.Unix(), 10)},
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("dynamostore: record gone url: %w", err)
	}
	reportOne(s, OpPutItem, out.ConsumedCapacity)
	return nil
}
