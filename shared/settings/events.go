package settings

import (
	"fmt"
	"os"
	"strings"
)

// EnvEventBus names the EventBridge bus the publisher puts lifecycle events on (a name or
// ARN; "default" is the account's default bus). Only the publisher reads it.
const EnvEventBus = "EVENT_BUS_NAME"

// init adds the events' variables to Vars here, beside their names, so that this part of the
// settings stays in one file.
func init() { Vars = append(Vars, EnvEventBus) }

// Events are the publisher's settings.
type Events struct {
	// Bus is the EventBridge bus (EnvEventBus).
	Bus string
}

// EventsFromEnv reads the publisher's settings; in Lambda the bus is required.
func EventsFromEnv() (Events, error) {
	e := Events{Bus: strings.TrimSpace(os.Getenv(EnvEventBus))}
	if e.Bus == "" && InLambda() {
		return e, fmt.Errorf("%s must be set in Lambda: the publisher puts events on that bus", EnvEventBus)
	}
	return e, nil
}
