// Command callback is the Lambda function behind POST /v1/callbacks/{token} (see apigw's
// route table): the reports of callback steps, authenticated by their sealed token alone.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/function"
	"github.com/tasklane/tasklane/shared/settings"
)

func main() {
	a, err := awsbackend.App(context.Background(), settings.Uses{Queue: true, Markers: true})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.Handler(function.Callback).Handle)
}
