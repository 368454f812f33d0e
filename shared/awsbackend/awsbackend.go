// Package awsbackend opens the AWS backends, the DynamoDB store and the SQS queues, and is
// how a Lambda function starts: App reads the settings, checks them for what the function
// uses, and builds the application on those backends. The local runner opens them too
// (with TABLE_NAME set), from the SDK's LoadDefaultConfig.
//
// This package must not import the SDK's config module, nor the embedded backends
// (shared/embedded): each function links what it imports, and infra/lambdatest checks that
// no bootstrap links them.
package awsbackend

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// App is a Lambda function's start-up: it reads the settings (settings.FromEnv), checks them
// for what the function uses (Settings.Check), and builds the application on the DynamoDB
// store and, with u.Queue, the SQS work queue, from the function's environment (EnvConfig).
// The worker, which runs the catalog's steps, passes the client of its lambda steps
// (lambdainvoke.FromConfig); the other functions pass none and link none.
func App(ctx context.Context, u settings.Uses, lambdaClient ...func(aws.Config) executor.Invoker) (*app.App, error) {
	s, err := settings.FromEnv()
	if err != nil {
		return nil, err
	}
	if err := s.Check(u); err != nil {
		return nil, err
	}
	cfg, err := EnvConfig()
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	b, err := Open(cfg, s, u)
	if err != nil {
		return nil, err
	}
	rt := catalog.Runtime{SigningSecret: s.StepSigningSecret}
	for _, c := range lambdaClient {
		rt.Lambda = c(cfg)
	}
	types, err := tasktypes.RegistryWith(rt)
	if err != nil {
		return nil, err
	}
	return app.New(s, b, types, nil)
}

// Open opens the DynamoDB store s.TableName and, with u.Queue, the SQS work queue s.QueueURL
// (and the dead-letter queue s.DeadLetterURL when set, for the local runner, which consumes
// it itself), on cfg and the service endpoint variables.
func Open(cfg aws.Config, s settings.Settings, u settings.Uses) (app.Backends, error) {
	if s.TableName == "" {
		return app.Backends{}, fmt.Errorf("%s must be set for the DynamoDB store", settings.EnvTableName)
	}
	// Every write that makes lifecycle events is marked for the stream's publisher (see
	// dynamostore.WithEventMarks).
	opts := []dynamostore.Option{dynamostore.WithEventMarks()}
	opts = append(opts, dynamostore.OptIns{UpdatedAt: s.UpdatedAtIndex, AdminUpdatedAt: s.AdminUpdatedAtIndex}.Options()...)
	store := dynamostore.New(dynamodb.NewFromConfig(cfg, ServiceEndpoint("DYNAMODB", func(o *dynamodb.Options, u *string) { o.BaseEndpoint = u })), s.TableName, opts...)
	b := app.Backends{Store: store}
	openBodyQueues(cfg, s, &b, store)
	if !u.Queue {
		return b, nil
	}
	if s.QueueURL == "" {
		return app.Backends{}, fmt.Errorf("%s must be set for the SQS work queue", settings.EnvQueueURL)
	}
	client := sqs.NewFromConfig(cfg, ServiceEndpoint("SQS", func(o *sqs.Options, u *string) { o.BaseEndpoint = u }))
	b.Queue = sqsqueue.New(client, s.QueueURL)
	if s.DeadLetterURL != "" {
		b.DeadLetter = sqsqueue.New(client, s.DeadLetterURL)
	}
	return b, nil
}

// openBodyQueues opens the webhook and intake queues the settings name (each only where its
// variable is set: the template gives each function only the queues it uses), and the
// gone-URL list of webhooks on the table.
func openBodyQueues(cfg aws.Config, s settings.Settings, b *app.Backends, store *dynamostore.Store) {
	var client *sqs.Client
	open := func(url string) queue.BodyQueue {
		if url == "" {
			return nil
		}
		if client == nil {
			client = sqs.NewFromConfig(cfg, ServiceEndpoint("SQS", func(o *sqs.Options, u *string) { o.BaseEndpoint = u }))
		}
		return sqsqueue.New(client, url)
	}
	b.Webhooks, b.WebhookDeadLetter = open(s.Webhooks.QueueURL), open(s.Webhooks.DeadLetterURL)
	b.Intake, b.IntakeDeadLetter = open(s.Intake.QueueURL), open(s.Intake.DeadLetterURL)
	b.Gone = store
}

// EnvConfig builds the SDK configuration from the standard environment variables alone:
// AWS_REGION (or AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN and AWS_ENDPOINT_URL. That is exactly what a Lambda function has (its
// execution role's credentials are those variables), and it is what the SDK's
// config.LoadDefaultConfig resolves to there; the functions use it because LoadDefaultConfig
// links the STS, SSO and sign-in clients (1.6 MiB of each function's 10 MiB budget) for
// credential sources a function never has (the local runner, which may have them, calls
// LoadDefaultConfig itself). Service-specific endpoints
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS) are applied by serviceEndpoint.
func EnvConfig() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))),
	}
	if u := os.Getenv("AWS_ENDPOINT_URL"); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	return cfg, nil
}

// ServiceEndpoint applies AWS_ENDPOINT_URL_<SERVICE>, the SDK's standard service-specific
// endpoint variable, to a client's options. LoadDefaultConfig would too; EnvConfig needs
// it done here. Either way the value is the same.
func ServiceEndpoint[O any](service string, set func(*O, *string)) func(*O) {
	return func(o *O) {
		if u := os.Getenv("AWS_ENDPOINT_URL_" + service); u != "" {
			set(o, aws.String(u))
		}
	}
}
