// Command publish is the Lambda function on the tasks table's DynamoDB stream: it publishes
// each stored change's lifecycle events to EventBridge (see shared/publisher).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsevents"
)

func main() {
	p, err := awsevents.Publisher(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(p.Handle)
}
