// Command list is the Lambda function behind GET /v1/tasks and the discovery routes (/v1/schemas/task, /v1/schemas/tasks, /v1/task-types)
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
	a, err := awsbackend.App(context.Background(), settings.Uses{API: true, Markers: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.Handler(function.List).Handle)
}
