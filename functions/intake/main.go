// Command intake is the Lambda function on the intake queue: each message creates a task,
// once, or is rejected with a reason (see package intake).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsevents"
)

func main() {
	a, err := awsevents.Intake(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.IntakeHandler().Handle)
}
