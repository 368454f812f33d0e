package config

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/awstest"
)

// TestEnvAWSConfigReachesTheEmulators proves that the configuration Lambda builds use
// (EnvAWSConfig plus the service endpoint variables) reaches DynamoDB and SQS, since go test
// builds the LoadDefaultConfig variant.
func TestEnvAWSConfigReachesTheEmulators(t *testing.T) {
	awstest.Config(t, "DYNAMODB", "SQS") // fails under CI, skips elsewhere, without emulators
	cfg, err := EnvAWSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(cfg, serviceEndpoint("DYNAMODB", func(o *dynamodb.Options, u *string) { o.BaseEndpoint = u }))
	if _, err := ddb.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("DynamoDB: %v", err)
	}
	q := sqs.NewFromConfig(cfg, serviceEndpoint("SQS", func(o *sqs.Options, u *string) { o.BaseEndpoint = u }))
	if _, err := q.ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Errorf("SQS: %v", err)
	}
}

func TestEnvAWSConfig(t *testing.T) {
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
			cfg, err := EnvAWSConfig()
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

func TestFromEnvInLambdaRequiresTableAndSecret(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-get")
	t.Setenv(EnvTableName, "")
	t.Setenv(EnvMarkerSecret, "")
	if _, err := FromEnv(); err == nil {
		t.Error("FromEnv in Lambda without TABLE_NAME succeeded")
	}
	t.Setenv(EnvTableName, "tasks")
	if _, err := FromEnv(); err == nil {
		t.Error("FromEnv in Lambda without MARKER_SECRET succeeded")
	}
	t.Setenv(EnvMarkerSecret, "0123456789abcdef0123")
	t.Setenv(EnvBackoffBase, "500ms")
	c, err := FromEnv()
	if err != nil || c.BackoffBase.Milliseconds() != 500 {
		t.Errorf("FromEnv: %+v, %v", c, err)
	}
	t.Setenv(EnvBackoffBase, "soon")
	if _, err := FromEnv(); err == nil {
		t.Error("a bad duration was accepted")
	}
}

func TestSweepSettings(t *testing.T) {
	t.Setenv(EnvSweepInterval, "")
	t.Setenv(EnvSweepBatch, "")
	c, err := FromEnv()
	if err != nil || c.SweepInterval != DefaultSweepInterval || c.SweepBatch != DefaultSweepBatch {
		t.Fatalf("defaults: interval %v batch %d, %v", c.SweepInterval, c.SweepBatch, err)
	}
	t.Setenv(EnvSweepInterval, "5s")
	t.Setenv(EnvSweepBatch, "7")
	c, err = FromEnv()
	if err != nil || c.SweepInterval.Seconds() != 5 || c.SweepBatch != 7 {
		t.Fatalf("set: interval %v batch %d, %v", c.SweepInterval, c.SweepBatch, err)
	}
	if b := (&Deps{Config: c}).Sweeper().Batch; b != 7 {
		t.Errorf("sweeper batch %d, want 7", b)
	}
	if b := (&Deps{}).Sweeper().Batch; b != DefaultSweepBatch {
		t.Errorf("sweeper batch of a zero Config %d, want %d", b, DefaultSweepBatch)
	}
	for _, bad := range []string{"0", "-1", "many"} {
		t.Setenv(EnvSweepBatch, bad)
		if _, err := FromEnv(); err == nil {
			t.Errorf("%s=%q accepted", EnvSweepBatch, bad)
		}
	}
}
