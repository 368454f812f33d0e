package catalog_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktypes"
	"github.com/tasklane/tasklane/shared/usecase"
)

// bundle is a whole Tasklane on the embedded backends whose types are a test catalog's, its
// steps' executors wrapped in fault.Executors, a local receiver for its http steps, and a
// clock the test moves.
type bundle struct {
	t      *testing.T
	deps   *app.App
	faults map[string]*fault.Executor // by step name
	recv   *httptest.Server
	mu     sync.Mutex
	now    time.Time
	posted []string
}

// setup builds the bundle for catalog doc, in which "{{receiver}}" stands for the
// receiver's URL; the receiver answers reply's status and body.
func setup(t *testing.T, doc string, reply func(w http.ResponseWriter, r *http.Request)) *bundle {
	t.Helper()
	b := &bundle{t: t, faults: map[string]*fault.Executor{}, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	b.recv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d executor.Document
		_ = json.NewDecoder(r.Body).Decode(&d)
		b.mu.Lock()
		b.posted = append(b.posted, d.SubTask.Name)
		b.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(b.recv.Close)
	b.deps = apptest.OpenEmbedded(t)
	rt := catalog.Runtime{
		HTTPClient: executor.NewHTTPClient(true),
		Wrap: func(_, step string, e executor.Executor) executor.Executor {
			f := fault.NewExecutor(e)
			b.faults[step] = f
			return f
		},
	}
	reg, err := tasktypes.New([]byte(strings.ReplaceAll(doc, "{{receiver}}", b.recv.URL)), rt)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	b.deps.Types = reg
	b.deps.Now = b.clock
	return b
}

func (b *bundle) clock() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now
}

func (b *bundle) advance(d time.Duration) {
	b.mu.Lock()
	b.now = b.now.Add(d)
	b.mu.Unlock()
}

// create creates a task of typ with input through the use case.
func (b *bundle) create(typ, input string) (task.Task, error) {
	c, err := b.deps.Service().Create(context.Background(), usecase.Principal{Tenant: "tenant-a"},
		usecase.CreateRequest{Spec: task.Spec{Type: typ, Input: json.RawMessage(input)}})
	return c.Task, err
}

// deliver hands the task's message to the worker once, as the event source mapping does.
func (b *bundle) deliver(id string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-" + id, ReceiptHandle: "r-" + id, Body: queue.Message{TaskID: id}.Encode()}}}
	if _, err := b.deps.Worker().Handle(ctx, ev); err != nil {
		b.t.Fatalf("Handle: %v", err)
	}
}

// run delivers the task's message until it ends (at most n times) and returns it.
func (b *bundle) run(id string, n int) task.Task {
	b.t.Helper()
	for range n {
		b.deliver(id)
		if got := b.get(id); got.Status.Terminal() {
			return got
		}
	}
	got := b.get(id)
	b.t.Fatalf("task %s still %s after %d deliveries: %+v", id, got.Status, n, got.SubTasks)
	return got
}

func (b *bundle) get(id string) task.Task {
	b.t.Helper()
	got, err := b.deps.Store.Get(context.Background(), id, b.clock())
	if err != nil {
		b.t.Fatalf("get: %v", err)
	}
	return got
}
