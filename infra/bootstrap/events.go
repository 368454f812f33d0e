package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/eventbus"
	"github.com/tasklane/tasklane/shared/settings"
)

// events creates the lifecycle events' bus and a queue bound to it by a rule matching every
// Tasklane event (eventbus.RulePattern), as a consumer would bind one, and prints the bus as
// EVENT_BUS_NAME and both names on stderr.
func events(ctx context.Context, cfg aws.Config, bus string) {
	eb := eventbridge.NewFromConfig(cfg)
	if err := eventbus.CreateBus(ctx, eb, bus); err != nil {
		log.Fatal(err)
	}
	name := bus + "-events"
	url, err := eventbus.BindQueue(ctx, eb, sqs.NewFromConfig(cfg), bus, name, eventbus.RulePattern)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("export %s=%s\nexport EVENTS_QUEUE_URL=%s\n", settings.EnvEventBus, bus, url)
	fmt.Fprintf(os.Stderr, "events: bus %s, queue %s (every event, by the rule %s)\n", bus, name, name)
}
