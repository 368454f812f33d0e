// Package clienttest serves a Tasklane on a loopback port for the tests and examples of its
// clients (shared/client, the tasklane CLI): the local runner's HTTP server
// (shared/localrun) on the embedded backends, with the worker, as `make run` runs it, so
// that a client under test talks HTTP to the very handlers Lambda runs. Like apptest it is
// an ordinary package so that tests of other packages can import it; nothing outside tests
// should.
package clienttest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/embedded"
	"github.com/tasklane/tasklane/shared/localrun"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// Server is a running Tasklane.
type Server struct {
	// URL is the API's base URL ("http://127.0.0.1:<port>").
	URL string
	// App is the Tasklane behind it, for tests that look inside.
	App *app.App

	http *httptest.Server
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Serve starts a Tasklane for t on a fresh data file, logging at warning level and above to
// t (apptest.QuietLogger); it stops when t ends.
func Serve(t testing.TB) *Server {
	t.Helper()
	s, err := Start(t.TempDir(), apptest.QuietLogger(t))
	if err != nil {
		t.Fatalf("clienttest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a Tasklane whose data file is in dir, logging to log (nil: nowhere), for
// callers without a testing.TB (a TestMain, for examples). Close stops it.
func Start(dir string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := settings.Settings{
		DataFile:     filepath.Join(dir, "tasklane.db"),
		MarkerSecret: []byte(apptest.MarkerSecret),
		Claims:       settings.Claims{Tenant: apigw.DefaultClaims.Tenant, Roles: apigw.DefaultClaims.Roles},
		// Retryable step errors are retried at once, so that tests of failures are quick.
		BackoffBase: time.Millisecond,
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, err := embedded.Open(cfg)
	if err != nil {
		return nil, err
	}
	types, err := tasktypes.Registry()
	if err != nil {
		_ = b.Closer.Close()
		return nil, err
	}
	deps, err := app.New(cfg, b, types, log)
	if err != nil {
		_ = b.Closer.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{App: deps, http: httptest.NewServer(localrun.NewServer(deps)), stop: stop}
	s.URL = s.http.URL
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		localrun.RunWorkers(ctx, deps, localrun.Options{Wait: 20 * time.Millisecond, Concurrency: 4})
	}()
	return s, nil
}

// Close stops the worker and the server and closes the store.
func (s *Server) Close() {
	s.stop()
	s.wg.Wait()
	s.http.Close()
	_ = s.App.Close()
}
