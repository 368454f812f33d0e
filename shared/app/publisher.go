package app

import (
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/publisher"
)

// Publisher is the table stream's publisher, publishing to sink (shared/eventbus deployed;
// awsbackend.Publisher opens it).
func (a *App) Publisher(sink event.Sink) *publisher.Publisher {
	return &publisher.Publisher{Sink: sink, Log: a.Log}
}
