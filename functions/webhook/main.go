// Command webhook is the Lambda function on the webhook queue: it POSTs each event to its
// task's callbackUrl, signed, and retries with backoff (see webhook.Deliverer).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/settings"
)

func main() {
	a, err := awsbackend.App(context.Background(), settings.Uses{Webhooks: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.Deliverer().Handle)
}
