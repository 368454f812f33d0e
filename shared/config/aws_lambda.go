//go:build lambda.norpc

package config

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// loadAWSConfig in Lambda builds reads the function's environment only (see EnvAWSConfig).
func loadAWSConfig(context.Context) (aws.Config, error) {
	return EnvAWSConfig()
}
