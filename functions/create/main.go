// Command create is the Lambda function behind POST /v1/tasks
// (see apigw's route table).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/function"
	"github.com/tasklane/tasklane/shared/settings"
)

func main() {
	a, err := awsbackend.App(context.Background(), settings.Uses{API: true, Queue: true, Markers: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.Handler(function.Create).Handle)
}
