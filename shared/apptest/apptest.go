// Package apptest is test support for code that runs a Tasklane in process, as
// net/http/httptest is for HTTP: a logger that writes to the test's log, an injectable clock
// and an app.App built on the embedded backends. Its files are ordinary .go
// files, not _test.go ones, so that the tests of other packages can import it; nothing
// outside tests should.
//
// These helpers were written again in the tests of apigw, worker and localrun (and the
// template checks); one copy here keeps them alike, e.g. every test logger stops writing once
// its test has ended, which a straggling goroutine would otherwise turn into a panic.
package apptest

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/embedded"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// EnvTestLog is the variable that turns on debug logging in tests that are quiet by default
// (QuietLogger): TASKLANE_TEST_LOG=1 go test -v ./shared/localrun/ ...
const EnvTestLog = "TASKLANE_TEST_LOG"

// Logger returns a logger that writes text lines to t.Log at debug level and above, so that
// every line is shown for a failing (or -v) test and none for a passing one.
func Logger(t testing.TB) *slog.Logger {
	return LoggerAt(t, slog.LevelDebug)
}

// QuietLogger is LoggerAt(t, slog.LevelWarn), or Logger(t) when TASKLANE_TEST_LOG is set:
// for tests whose Tasklane logs so much at debug level (workers, pollers) that a
// failure's output would drown in it.
func QuietLogger(t testing.TB) *slog.Logger {
	if os.Getenv(EnvTestLog) != "" {
		return Logger(t)
	}
	return LoggerAt(t, slog.LevelWarn)
}

// LoggerAt returns a logger that writes text lines of level and above to t.Log. Lines
// logged after the test has ended (after its cleanups ran), as a goroutine the test did not
// wait for may do, are dropped: testing would panic on them.
func LoggerAt(t testing.TB, level slog.Leveler) *slog.Logger {
	w := &logWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// logWriter sends each write (one log line) to t.Log until the test has ended.
type logWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// MarkerSecret is the page-marker secret of the Tasklanes OpenEmbedded opens.
const MarkerSecret = "apptest-marker-secret"

// OpenEmbedded builds a Tasklane on the embedded backends (embedded.Open): a file store in a
// fresh t.TempDir() and the in-process queue, the task types of tasktypes.Registry, the
// marker secret MarkerSecret, the API Gateway claims apigw.DefaultClaims and the other
// settings at their zero values, with Logger(t) as its logger. Each of cfg may change the
// settings first; one that names DynamoDB or SQS fails the test (that is not embedded). The
// Tasklane is closed when the test ends.
func OpenEmbedded(t testing.TB, cfg ...func(*settings.Settings)) *app.App {
	t.Helper()
	s := settings.Settings{
		DataFile:     filepath.Join(t.TempDir(), "tasklane.db"),
		MarkerSecret: []byte(MarkerSecret),
		Claims:       settings.Claims{Tenant: apigw.DefaultClaims.Tenant, Roles: apigw.DefaultClaims.Roles},
	}
	for _, f := range cfg {
		f(&s)
	}
	if s.TableName != "" || s.QueueURL != "" || s.DeadLetterURL != "" {
		t.Fatalf("apptest.OpenEmbedded: the settings name AWS resources (table %q, queue %q, dead-letter queue %q)",
			s.TableName, s.QueueURL, s.DeadLetterURL)
	}
	b, err := embedded.Open(s)
	if err != nil {
		t.Fatalf("apptest.OpenEmbedded: %v", err)
	}
	return Build(t, s, b, Logger(t))
}

// Build is the application on backends b opened with settings s, as a function's start-up
// builds it (app.New with the task types of tasktypes.Registry), logging to log; it is closed
// when the test ends. A test on the emulators opens b with awsbackend.Open first.
func Build(t testing.TB, s settings.Settings, b app.Backends, log *slog.Logger) *app.App {
	t.Helper()
	types, err := tasktypes.Registry()
	if err == nil {
		var a *app.App
		if a, err = app.New(s, b, types, log); err == nil {
			t.Cleanup(func() { _ = a.Close() })
			return a
		}
	}
	if b.Closer != nil {
		_ = b.Closer.Close()
	}
	t.Fatalf("apptest.Build: %v", err)
	return nil
}
