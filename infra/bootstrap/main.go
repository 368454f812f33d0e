// Command bootstrap creates, on the endpoints the SDK's standard variables name (the
// emulators of `make run-aws`), the table and queues template.yaml declares, with the same
// definitions the code holds (dynamostore.TableInput, sqsqueue.CreateDeployedQueues), the
// webhook and intake queues (webhooks.go), and prints the
// environment the local runner needs as shell exports.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
)

func main() {
	table := flag.String("table", "tasklane", "table name")
	queue := flag.String("queue", "tasklane", "work queue name (its dead-letter queue is <name>-dlq)")
	webhooks := flag.String("webhooks", "tasklane-webhooks", "webhook queue name (and <name>-dlq)")
	intake := flag.String("intake", "tasklane-intake", "intake queue name (and <name>-dlq)")
	bus := flag.String("bus", "tasklane", "EventBridge bus of the lifecycle events (a queue <name>-events gets them all by a rule)")
	flag.Parse()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	err = dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), *table)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		log.Fatalf("create table %s: %v", *table, err)
	}
	// The deployed settings (sqsqueue.MaxReceiveCount, WorkVisibility, ...), which the
	// template drift test keeps equal to template.yaml's.
	qurl, dlq, err := sqsqueue.CreateDeployedQueues(ctx, sqs.NewFromConfig(cfg), *queue)
	if err != nil {
		log.Fatalf("create queues %s: %v", *queue, err)
	}
	fmt.Printf("export %s=%s\nexport %s=%s\nexport %s=%s\n",
		settings.EnvTableName, *table, settings.EnvQueueURL, qurl, settings.EnvDeadLetterURL, dlq)
	exports, err := bodyQueues(ctx, sqs.NewFromConfig(cfg), *webhooks, *intake)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(exports)
	events(ctx, cfg, *bus) // events.go
}
