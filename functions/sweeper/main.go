// Command sweeper is the scheduled Lambda function that re-sends messages for active tasks
// left without one (see worker.Sweeper).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/settings"
)

func main() {
	a, err := awsbackend.App(context.Background(), settings.Uses{Queue: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.Sweeper().Handle)
}
