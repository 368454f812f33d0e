package awsbackend

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/task"
)

// TestEnvConfigReachesTheEmulators proves that the configuration Lambda builds use
// (EnvConfig plus the service endpoint variables) reaches DynamoDB and SQS, through Open's
// clients.
func TestEnvConfigReachesTheEmulators(t *testing.T) {
	awstest.Config(t, "DYNAMODB", "SQS") // fails under CI, skips elsewhere, without emulators
	cfg, err := EnvConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(cfg, ServiceEndpoint("DYNAMODB", func(o *dynamodb.Options, u *string) { o.BaseEndpoint = u }))
	if _, err := ddb.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("DynamoDB: %v", err)
	}
	q := sqs.NewFromConfig(cfg, ServiceEndpoint("SQS", func(o *sqs.Options, u *string) { o.BaseEndpoint = u }))
	if _, err := q.ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Errorf("SQS: %v", err)
	}
	// Open's store and queue go the same way: an absent table and queue answer as such
	// from the emulator rather than failing to connect.
	name := awstest.Name("absent")
	b, err := Open(cfg, settings.Settings{TableName: name, QueueURL: "http://absent.invalid/000000000000/" + name}, settings.Uses{Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store.Get(ctx, task.NewID(time.Now()), time.Now()); err == nil {
		t.Error("Get on an absent table succeeded")
	} else if !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("Get on an absent table: %v, want ResourceNotFoundException", err)
	}
}

func TestEnvConfig(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		wantErr bool
		region  string
		base    string
	}{
		{"complete", map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_SESSION_TOKEN": "c"}, false, "eu-west-1", ""},
		{"default region and global endpoint", map[string]string{"AWS_DEFAULT_REGION": "us-east-2", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_ENDPOINT_URL": "http://localstack:4566"}, false, "us-east-2", "http://localstack:4566"},
		{"no region", map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, true, "", ""},
		{"no credentials", map[string]string{"AWS_REGION": "eu-west-1"}, true, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"} {
				t.Setenv(k, c.env[k])
			}
			cfg, err := EnvConfig()
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if cfg.Region != c.region {
				t.Errorf("region %q, want %q", cfg.Region, c.region)
			}
			if got := ""; cfg.BaseEndpoint != nil {
				got = *cfg.BaseEndpoint
				if got != c.base {
					t.Errorf("base endpoint %q, want %q", got, c.base)
				}
			} else if c.base != "" {
				t.Errorf("no base endpoint, want %q", c.base)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || creds.AccessKeyID != "a" || creds.SecretAccessKey != "b" || creds.SessionToken != c.env["AWS_SESSION_TOKEN"] {
				t.Errorf("credentials %+v, %v", creds, err)
			}
		})
	}
}

// TestAppInLambdaRequiresIssuer: an API function in Lambda without JWT_ISSUER fails at
// start-up, before it touches AWS.
func TestAppInLambdaRequiresIssuer(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-get")
	t.Setenv(settings.EnvTableName, "tasks")
	t.Setenv(settings.EnvMarkerSecret, "0123456789abcdef0123")
	t.Setenv(settings.EnvJWTIssuer, "")
	t.Setenv(settings.EnvJWTAudience, "")
	t.Setenv(settings.EnvJWKSURL, "")
	if _, err := App(context.Background(), settings.Uses{API: true}); err == nil {
		t.Fatal("App(Uses{API: true}) in Lambda without JWT_ISSUER succeeded")
	}
}

// TestOpenRequiresTheResources: Open needs a table, and a queue when the process sends.
func TestOpenRequiresTheResources(t *testing.T) {
	for _, c := range []struct {
		name string
		s    settings.Settings
		u    settings.Uses
		want string
	}{
		{"no table", settings.Settings{QueueURL: "http://q"}, settings.Uses{}, settings.EnvTableName},
		{"sender without queue", settings.Settings{TableName: "t"}, settings.Uses{Queue: true}, settings.EnvQueueURL},
	} {
		if _, err := Open(awsConfig(), c.s, c.u); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Open = %v, want an error naming %s", c.name, err, c.want)
		}
	}
	b, err := Open(awsConfig(), settings.Settings{TableName: "t"}, settings.Uses{})
	if err != nil || b.Store == nil || b.Queue != nil || b.DeadLetter != nil {
		t.Errorf("reader: %+v, %v; want a store and no queue", b, err)
	}
}

// awsConfig is a configuration that reaches nothing: Open makes clients, it does not call.
func awsConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
}
