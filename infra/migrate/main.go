// Command migrate copies the live items of a table of the design before shared/dynamostore's
// (pk only) into a table of the current one (pk and sk, created from dynamostore.TableInput),
// as step 3 of "Moving a deployed table to this design" in shared/dynamostore's package
// comment: with the work stopped, it Scans the old table (a one-off administrative read; the
// service itself never Scans), turns each item into its new form (dynamostore.MigrateItem)
// and writes them with BatchWriteItem. Expired items are left behind. Running it again
// writes the same items again.
//
//	go run ./infra/migrate -from tasklane-old -to tasklane
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/dynamostore"
)

func main() {
	from := flag.String("from", "", "the old table")
	to := flag.String("to", "", "the new table (made from dynamostore.TableInput)")
	flag.Parse()
	if *from == "" || *to == "" || *from == *to {
		flag.Usage()
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	n, err := copyTable(ctx, dynamodb.NewFromConfig(cfg), *from, *to, time.Now())
	fmt.Printf("migrate: %d items read, %d written, %d expired and left behind\n", n.read, n.written, n.expired)
	if err != nil {
		log.Fatal(err)
	}
}

// API is what migrate calls.
type API interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// counts is what a copy did.
type counts struct{ read, written, expired int }

// batchWriteMax is BatchWriteItem's limit of items per request.
const batchWriteMax = 25

// maxAttempts bounds the retries of one batch's UnprocessedItems.
const maxAttempts = 10

// copyTable copies every item of from live at now into to, in the new layout.
func copyTable(ctx context.Context, api API, from, to string, now time.Time) (counts, error) {
	var n counts
	var batch []types.WriteRequest
	flush := func() error {
		for attempt := 0; len(batch) > 0; attempt++ {
			if attempt == maxAttempts {
				return fmt.Errorf("migrate: %d items still unprocessed after %d attempts", len(batch), attempt)
			}
			if attempt > 0 {
				time.Sleep(time.Duration(attempt*attempt) * 50 * time.Millisecond)
			}
			out, err := api.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{to: batch},
			})
			if err != nil {
				return fmt.Errorf("migrate: write %s: %w", to, err)
			}
			n.written += len(batch) - len(out.UnprocessedItems[to])
			batch = out.UnprocessedItems[to]
		}
		return nil
	}
	var start map[string]types.AttributeValue
	for {
		out, err := api.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(from), ExclusiveStartKey: start})
		if err != nil {
			return n, fmt.Errorf("migrate: scan %s: %w", from, err)
		}
		for _, old := range out.Items {
			n.read++
			item, live, err := dynamostore.MigrateItem(old, now)
			if err != nil {
				return n, err
			}
			if !live {
				n.expired++
				continue
			}
			batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
			if len(batch) == batchWriteMax {
				if err := flush(); err != nil {
					return n, err
				}
			}
		}
		if start = out.LastEvaluatedKey; start == nil {
			break
		}
	}
	return n, flush()
}
