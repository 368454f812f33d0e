// Command worker is the Lambda function on the work queue: it advances tasks' subtasks and
// reports partial batch failures (see package worker).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/config"
)

func main() {
	deps, err := config.Load(context.Background(), config.Uses{Queue: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(deps.Worker().Handle)
}
