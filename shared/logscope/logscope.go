// Package logscope keeps the attributes that say what a log line is about (the request id,
// the task id, the tenant) in the context of a request or a message, so that every line
// logged with that context carries them, however deep the call that logs it and whoever
// made its logger. The API handler and the worker start a scope at their entry and add to it
// as they learn more (the tenant once the token is verified, the task once it is read); the
// App's logger (shared/app) is wrapped in Handler, which writes them.
package logscope

import (
	"context"
	"log/slog"
	"sync"
)

// The attribute names, one spelling for every function.
const (
	RequestID = "requestId"
	TaskID    = "taskId"
	Tenant    = "tenant"
)

type scope struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

type key struct{}

// Start returns ctx with a new scope holding the scope ctx already had (if any) and args
// (slog's key, value pairs or Attrs). A scope changed later by Add does not change the scope
// it started from.
func Start(ctx context.Context, args ...any) context.Context {
	s := &scope{}
	if parent := from(ctx); parent != nil {
		s.attrs = parent.snapshot()
	}
	s.add(args)
	return context.WithValue(ctx, key{}, s)
}

// Add puts args into ctx's scope, replacing attributes of the same name; without a scope it
// does nothing.
func Add(ctx context.Context, args ...any) {
	if s := from(ctx); s != nil {
		s.add(args)
	}
}

// Attrs returns ctx's scope's attributes (for tests and for handing a scope on).
func Attrs(ctx context.Context) []slog.Attr {
	if s := from(ctx); s != nil {
		return s.snapshot()
	}
	return nil
}

func from(ctx context.Context) *scope {
	s, _ := ctx.Value(key{}).(*scope)
	return s
}

func (s *scope) add(args []any) {
	r := slog.Record{}
	r.Add(args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		for i := range s.attrs {
			if s.attrs[i].Key == a.Key {
				s.attrs[i] = a
				return true
			}
		}
		s.attrs = append(s.attrs, a)
		return true
	})
}

func (s *scope) snapshot() []slog.Attr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slog.Attr(nil), s.attrs...)
}

// Handler wraps h so that each record logged with a context carries that context's scope.
// A record's own attribute of the same name stands beside it (the scope says what the
// request is about, the record what the line is about).
func Handler(h slog.Handler) slog.Handler {
	if _, ok := h.(handler); ok {
		return h
	}
	return handler{h}
}

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := Attrs(ctx); len(attrs) > 0 {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
