// Command intake is the Lambda function on the intake queue: each message creates a task,
// once, or is rejected with a reason (see package intake).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/settings"
)

func main() {
	a, err := awsbackend.App(context.Background(), settings.Uses{Queue: true, Intake: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.IntakeHandler().Handle)
}
