// Package awstest connects tests to the AWS emulators that `make test` starts
// (infra/emulators.sh): it loads an SDK config from the standard AWS_ENDPOINT_URL_* variables
// and makes fresh resource names so that parallel tests never share a table or a queue.
//
// When the variables are unset the test fails under CI (CI=true) and is skipped elsewhere
// with a hint to run `make test`; emulator-backed tests never skip in CI.
package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Config returns an SDK config pointed at the emulators, or ends the test as described in
// the package comment. service is "DYNAMODB" or "SQS".
func Config(t testing.TB, services ...string) aws.Config {
	t.Helper()
	for _, s := range services {
		v := "AWS_ENDPOINT_URL_" + strings.ToUpper(s)
		if os.Getenv(v) == "" && os.Getenv("AWS_ENDPOINT_URL") == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not set: the emulators did not start (run the tests with `make test`)", v)
			}
			t.Skipf("%s is not set; run `make test` to start the emulators", v)
		}
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg
}

// Name returns prefix plus a random suffix, a valid DynamoDB table and SQS queue name.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
