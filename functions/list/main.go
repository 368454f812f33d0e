// Command list is the Lambda function behind GET /v1/tasks and the discovery routes (/v1/schemas/task, /v1/schemas/tasks, /v1/task-types)
// (see apigw's route table).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/config"
	"github.com/tasklane/tasklane/shared/function"
)

func main() {
	deps, err := config.Load(context.Background(), config.Uses{API: true, Markers: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(deps.Handler(function.List).Handle)
}
