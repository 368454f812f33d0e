package config

import (
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// EnvAWSConfig builds the SDK configuration from the standard environment variables alone:
// AWS_REGION (or AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN and AWS_ENDPOINT_URL. That is exactly what a Lambda function has (its
// execution role's credentials are those variables), and it is what the SDK's
// config.LoadDefaultConfig resolves to there; Lambda builds use it because LoadDefaultConfig
// links the STS, SSO and sign-in clients (1.6 MiB of each function's 10 MiB budget) for
// credential sources a function never has. Service-specific endpoints
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS) are applied by serviceEndpoint.
func EnvAWSConfig() (aws.Config, error) {
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

// serviceEndpoint applies AWS_ENDPOINT_URL_<SERVICE>, the SDK's standard service-specific
// endpoint variable, to a client's options. LoadDefaultConfig would too; EnvAWSConfig needs
// it done here. Either way the value is the same.
func serviceEndpoint[O any](service string, set func(*O, *string)) func(*O) {
	return func(o *O) {
		if u := os.Getenv("AWS_ENDPOINT_URL_" + service); u != "" {
			set(o, aws.String(u))
		}
	}
}
