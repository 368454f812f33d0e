// Command worker is the Lambda function on the work queue: it advances tasks' subtasks and
// reports partial batch failures (see package worker).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/lambdainvoke"
	"github.com/tasklane/tasklane/shared/settings"
)

func main() {
	a, err := awsbackend.App(context.Background(), settings.Uses{Queue: true}, lambdainvoke.FromConfig)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.Worker().Handle)
}
