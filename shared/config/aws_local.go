//go:build !lambda.norpc

package config

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// loadAWSConfig outside Lambda resolves credentials the usual way (profiles, SSO, ...), for
// the local runner against real AWS or emulators.
func loadAWSConfig(ctx context.Context) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx)
}
