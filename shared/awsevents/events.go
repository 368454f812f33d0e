// Package awsevents is the EventBridge side of the AWS wiring: the start-ups of the publish
// and intake functions, the only ones that put events on a bus. It is kept apart from
// shared/awsbackend so that the other functions link no EventBridge client: the SDK client
// is most of a megabyte, and every bootstrap has 10 MiB (infra/sizes.sh).
package awsevents

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/eventbus"
	"github.com/tasklane/tasklane/shared/publisher"
	"github.com/tasklane/tasklane/shared/settings"
)

// Publisher is the publish function's start-up: the application (for its settings and log)
// and the EventBridge bus of EVENT_BUS_NAME, which in Lambda must be set.
func Publisher(ctx context.Context) (*publisher.Publisher, error) {
	e, err := settings.EventsFromEnv()
	if err != nil {
		return nil, err
	}
	// Markers: a callback step's event carries its callback URL, sealed as the API seals it.
	a, err := awsbackend.App(ctx, settings.Uses{Markers: true})
	if err != nil {
		return nil, err
	}
	cfg, err := awsbackend.EnvConfig()
	if err != nil {
		return nil, err
	}
	return a.Publisher(EventBus(cfg, e.Bus)), nil
}

// EventBus is the sink on EventBridge bus bus, on cfg and AWS_ENDPOINT_URL_EVENTBRIDGE.
func EventBus(cfg aws.Config, bus string) *eventbus.Sink {
	client := eventbridge.NewFromConfig(cfg, awsbackend.ServiceEndpoint("EVENTBRIDGE", func(o *eventbridge.Options, u *string) { o.BaseEndpoint = u }))
	return eventbus.New(client, bus)
}
