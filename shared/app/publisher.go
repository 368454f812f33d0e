package app

import (
	"github.com/tasklane/tasklane/shared/callback"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/publisher"
	"github.com/tasklane/tasklane/shared/task"
)

// Publisher is the table stream's publisher, publishing to sink (shared/eventbus deployed;
// awsevents.Publisher opens it), with callback URLs sealed (CallbackURLs).
func (a *App) Publisher(sink event.Sink) *publisher.Publisher {
	return &publisher.Publisher{Sink: a.CallbackURLs(sink), Log: a.Log}
}

// CallbackURLs wraps sink so that each callbackStarted event carries its callback's URL,
// sealed with the App's MARKER_SECRET like the tokens the API shows (see event.Callback).
func (a *App) CallbackURLs(sink event.Sink) event.Sink {
	svc := a.Service()
	return event.CallbackURLs{Sink: sink, URL: func(id string, ref task.CallbackRef) string {
		return callback.URL(svc.CallbackToken(id, ref))
	}}
}
