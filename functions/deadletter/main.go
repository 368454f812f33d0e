// Command deadletter is the Lambda function on the dead-letter queue: a task whose message
// died there ends in failure instead of hanging (see worker.HandleDeadLetter).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/settings"
)

func main() {
	a, err := awsbackend.App(context.Background(), settings.Uses{})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.Worker().HandleDeadLetter)
}
