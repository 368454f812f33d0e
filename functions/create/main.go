// Command create is the Lambda function behind POST /v1/tasks
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
	deps, err := config.Load(context.Background(), config.Uses{API: true, Queue: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(deps.Handler(function.Create).Handle)
}
