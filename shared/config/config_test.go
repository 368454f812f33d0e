package config

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/queue"
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

func TestFromEnvInLambdaRequiresTable(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-get")
	t.Setenv(EnvTableName, "")
	t.Setenv(EnvMarkerSecret, "")
	t.Setenv(EnvQueueURL, "")
	if _, err := FromEnv(); err == nil {
		t.Error("FromEnv in Lambda without TABLE_NAME succeeded")
	}
	t.Setenv(EnvTableName, "tasks")
	// Neither the queue nor the marker secret is FromEnv's business: get, cancel and
	// deadletter have neither (see Uses).
	if _, err := FromEnv(); err != nil {
		t.Errorf("FromEnv in Lambda without QUEUE_URL and MARKER_SECRET: %v", err)
	}
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

// TestCheckRequiresWhatAFunctionUses: in Lambda a sender needs QUEUE_URL and list needs
// MARKER_SECRET; the others start without them. Outside Lambda the local defaults apply.
func TestCheckRequiresWhatAFunctionUses(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	cases := []struct {
		name    string
		c       Config
		u       Uses
		wantErr string
	}{
		{"reader without queue or secret", Config{TableName: "t"}, Uses{}, ""},
		{"sender without queue", Config{TableName: "t"}, Uses{Queue: true}, EnvQueueURL + " must be set"},
		{"sender with queue", Config{TableName: "t", QueueURL: "http://q"}, Uses{Queue: true}, ""},
		{"list without secret", Config{TableName: "t"}, Uses{Markers: true}, EnvMarkerSecret + " must be set"},
		{"list with a short secret", Config{TableName: "t", MarkerSecret: []byte("short")}, Uses{Markers: true}, EnvMarkerSecret + " must be set"},
		{"list with secret", Config{TableName: "t", MarkerSecret: secret}, Uses{Markers: true}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklane-x")
			err := c.c.Check(c.u)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("Check(%+v) = %v, want %q", c.u, err, c.wantErr)
			}
			t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "")
			if err := c.c.Check(c.u); err != nil {
				t.Errorf("outside Lambda: Check(%+v) = %v", c.u, err)
			}
		})
	}
}

// TestLoadWithoutQueueRefusesSends: a function that does not use the queue gets one that
// answers every call with an error rather than a nil queue that would panic.
func TestLoadWithoutQueueRefusesSends(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "")
	t.Setenv(EnvTableName, "")
	t.Setenv(EnvQueueURL, "")
	t.Setenv(EnvDataFile, filepath.Join(t.TempDir(), "t.db"))
	d, err := Load(context.Background(), Uses{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Queue.Send(context.Background(), queue.Message{TaskID: "x"}, 0); err == nil {
		t.Error("Send on the queue of a function without Uses.Queue succeeded")
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
