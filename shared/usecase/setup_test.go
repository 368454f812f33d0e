package usecase_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
	"github.com/tasklane/tasklane/shared/usecase"
)

// The use cases run on the embedded file store and on DynamoDB (the emulator `make test`
// starts; skipped without it), each test on a fresh file or table, with a clock that stands
// still until a test moves it.
var backends = []string{"embedded", "dynamodb"}

// bundle is what a use-case test works with: the service and what it was built from.
type bundle struct {
	svc   *usecase.Service
	store *fault.Store // the store under the service, failing on demand
	sent  *fault.Queue // the work queue: what was sent (Sent), failing on demand
	clock *tasktest.Clock
}

// eachBackend runs f as a parallel subtest per backend, each with its own bundle.
func eachBackend(t *testing.T, f func(t *testing.T, b *bundle)) {
	t.Helper()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f(t, setup(t, backend))
		})
	}
}

// setup builds a Service on a fresh store of backend.
func setup(t *testing.T, backend string) *bundle {
	t.Helper()
	var store task.Store
	switch backend {
	case "embedded":
		fs, err := filestore.Open(t.TempDir() + "/tasks.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = fs.Close() })
		store = fs
	case "dynamodb":
		client := dynamodb.NewFromConfig(awstest.Config(t, "DYNAMODB"))
		name := awstest.Name("usecase")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := dynamostore.CreateTable(ctx, client, name); err != nil {
			t.Fatalf("create table: %v", err)
		}
		store = dynamostore.New(client, name)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	markers, err := marker.New([]byte("usecase-test-marker-secret"))
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{store: fault.NewStore(store), sent: fault.NewQueue(memqueue.New(memqueue.Options{})), clock: &tasktest.Clock{}}
	b.svc = &usecase.Service{
		Store: b.store, Queue: b.sent, Types: tasktest.Types, Markers: markers,
		Now: b.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return b
}

// Principals of the tests.
var (
	alice = usecase.Principal{Tenant: "tenant-a", User: "alice"}
	bob   = usecase.Principal{Tenant: "tenant-b", User: "bob"}
	admin = usecase.Principal{Tenant: "ops", Admin: true, Roles: []string{"admin"}}
)

// create makes a task of typ as p, failing the test unless it is created afresh.
func (b *bundle) create(t *testing.T, p usecase.Principal, typ string) task.Task {
	t.Helper()
	c, err := b.svc.Create(t.Context(), p, usecase.CreateRequest{Spec: task.Spec{Type: typ, Name: "n"}})
	if err != nil || c.Replayed {
		t.Fatalf("Create: %+v, %v", c, err)
	}
	return c.Task
}

// drive takes a stored task to status through the store, as a worker would, now.
func (b *bundle) drive(t *testing.T, tk task.Task, status task.Status) task.Task {
	t.Helper()
	return tasktest.Drive(t, b.store, tk, status, b.clock.Now())
}
