package main

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/awsevents"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/outbox"
	"github.com/tasklane/tasklane/shared/settings"
)

// outboxStore is the embedded store with its outbox (shared/filestore).
type outboxStore interface {
	outbox.Source
	EnableOutbox()
}

// startEvents sets up the lifecycle events of `make run` and returns the loop that delivers
// them, to run beside the workers (nil: none). It adds to deps.Hooks, so it runs before the
// server and the workers are made. sinks are the local destinations besides the log (the
// webhooks' sink plugs in here).
//
//   - On the embedded store: the store's outbox, drained by outbox.Relay (woken by a hook
//     after each change) to the log and sinks.
//   - On DynamoDB (`make run-aws`): the table's stream read by the local event source mapping
//     with the template's filter, into the publish function's handler, to the EventBridge bus
//     EVENT_BUS_NAME and the log and sinks; without EVENT_BUS_NAME, no events.
func startEvents(ctx context.Context, deps *app.App, sinks ...event.Sink) (func(context.Context), error) {
	local := deps.CallbackURLs(append(event.Sinks{event.LogSink{Log: deps.Log}}, sinks...))
	if deps.Settings.TableName == "" {
		s, ok := deps.Store.(outboxStore)
		if !ok {
			return nil, fmt.Errorf("the embedded store %T has no outbox", deps.Store)
		}
		s.EnableOutbox()
		r := outbox.New(s, local)
		r.Log = deps.Log
		deps.Hooks = append(deps.Hooks, r.Hook())
		return r.Run, nil
	}
	e, err := settings.EventsFromEnv()
	if err != nil || e.Bus == "" {
		deps.Log.Warn("no lifecycle events: EVENT_BUS_NAME is not set (infra/run-aws.sh sets it)")
		return nil, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	arn, err := dynamostore.StreamARN(ctx, dynamodb.NewFromConfig(cfg), deps.Settings.TableName)
	if err != nil {
		return nil, err
	}
	pub := deps.Publisher(event.Sinks{awsevents.EventBus(cfg, e.Bus), local})
	stream, err := eventsource.NewStream(dynamodbstreams.NewFromConfig(cfg), pub.Handle, eventsource.StreamOptions{
		StreamARN: arn, Filter: dynamostore.EventFilterPattern, Log: deps.Log,
	})
	if err != nil {
		return nil, err
	}
	deps.Log.Info("lifecycle events", "bus", e.Bus, "stream", arn)
	return func(ctx context.Context) { _ = stream.Poll(ctx) }, nil
}
