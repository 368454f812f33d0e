// Command get is the Lambda function behind GET /v1/tasks/{id}, GET /v1/tasks/{id}/result and the catch-all route (404/405)
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
	deps, err := config.Load(context.Background(), config.Uses{API: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(deps.Handler(function.Get).Handle)
}
