package awsevents

import (
	"context"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/settings"
)

// Intake is the intake function's start-up: the application on the store and the work queue,
// with the intake dead-letter queue, whose tasklane.task.rejected events go to the
// EventBridge bus of EVENT_BUS_NAME (where the lifecycle events go; without it, locally, they
// are only logged).
func Intake(ctx context.Context) (*app.App, error) {
	e, err := settings.EventsFromEnv()
	if err != nil {
		return nil, err
	}
	a, err := awsbackend.App(ctx, settings.Uses{Queue: true, Intake: true})
	if err != nil {
		return nil, err
	}
	if e.Bus != "" {
		cfg, err := awsbackend.EnvConfig()
		if err != nil {
			return nil, err
		}
		a.Events = EventBus(cfg, e.Bus)
	}
	return a, nil
}
