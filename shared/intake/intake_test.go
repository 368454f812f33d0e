package intake_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/intake"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/task"
)

// bundle is a Tasklane on the emulators with an intake queue and its dead-letter queue
// (setup); the rejections' events are recorded.
type bundle struct {
	app     *app.App
	store   *fault.Store
	sqs     *sqs.Client
	events  *recorder
	intake  string
	deadURL string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	cfg := awstest.Config(t, "DYNAMODB", "SQS")
	ctx := context.Background()
	table := awstest.Name("intake")
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)
	workURL, _, err := sqsqueue.CreateQueues(ctx, client, awstest.Name("work"), 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	intakeURL, dlqURL, err := sqsqueue.CreateQueues(ctx, client, awstest.Name("intake"), 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := settings.Settings{TableName: table, QueueURL: workURL, Intake: settings.Intake{QueueURL: intakeURL, DeadLetterURL: dlqURL}}
	b, err := awsbackend.Open(cfg, s, settings.Uses{Queue: true, Intake: true})
	if err != nil {
		t.Fatal(err)
	}
	store := fault.NewStore(b.Store)
	b.Store = store
	a := apptest.Build(t, s, b, apptest.Logger(t))
	rec := &recorder{}
	a.Events = rec
	return &bundle{app: a, store: store, sqs: client, events: rec, intake: intakeURL, deadURL: dlqURL}
}

// load reads testdata/name, an SQS event as Lambda hands it to the intake function.
func load(t *testing.T, name string) events.SQSEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func (b *bundle) handle(t *testing.T, ev events.SQSEvent) []string {
	t.Helper()
	resp, err := b.app.IntakeHandler().Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed
}

// tasks lists tenant-a's tasks.
func (b *bundle) tasks(t *testing.T) []task.Task {
	t.Helper()
	page, err := b.app.Store.List(context.Background(), task.ListQuery{Owner: "tenant-a", SortKey: task.SortCreated, Limit: 100, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return page.Tasks
}

// queued are the bodies waiting on the queue at url.
func (b *bundle) queued(t *testing.T, url string) []string {
	t.Helper()
	var bodies []string
	for {
		out, err := b.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			sort.Strings(bodies)
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
}

type recorder struct {
	mu  sync.Mutex
	evs []event.Event
}

func (r *recorder) Publish(_ context.Context, evs []event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *recorder) all() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.evs...)
}

// TestCreatesOnceUnderDuplicateDelivery: the same message delivered twice (its message id
// the key), and two messages with one idempotencyKey, each make one task.
func TestCreatesOnceUnderDuplicateDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 2 {
		if failed := b.handle(t, load(t, "create.json")); failed != nil {
			t.Fatalf("batch item failures %v", failed)
		}
	}
	if failed := b.handle(t, load(t, "duplicate-key.json")); failed != nil {
		t.Fatalf("batch item failures %v", failed)
	}
	got := b.tasks(t)
	if len(got) != 2 {
		t.Fatalf("%d tasks, want 2: %+v", len(got), got)
	}
	names := []string{got[0].Name, got[1].Name}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"", "Provision web-01"}, names); diff != "" {
		t.Errorf("task names (-want +got):\n%s", diff)
	}
	if evs := b.events.all(); len(evs) != 0 {
		t.Errorf("rejections %+v", evs)
	}
}

// TestCreatesFromTheQueue: messages sent to the intake queue (one of them twice, as an
// EventBridge target or a retrying sender may) become tasks through the event source
// mapping, once per key, and the queue is left empty.
func TestCreatesFromTheQueue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, body := range []string{
		`{"tenant":"tenant-a","type":"demo","idempotencyKey":"evt-1","input":{"steps":[{"name":"Validate"}]}}`,
		`{"tenant":"tenant-a","type":"demo","idempotencyKey":"evt-1","input":{"steps":[{"name":"Validate"}]}}`,
		`{"tenant":"tenant-a","type":"demo","name":"second"}`,
	} {
		if _, err := b.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(b.intake), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eventsource.Drain(context.Background(), b.app.Intake, b.app.IntakeHandler().Handle, eventsource.Options{Wait: 200 * time.Millisecond, Log: apptest.QuietLogger(t)}); err != nil {
		t.Fatal(err)
	}
	if got := b.tasks(t); len(got) != 2 {
		t.Errorf("%d tasks, want 2", len(got))
	}
	if q := b.queued(t, b.intake); len(q) != 0 {
		t.Errorf("left on the intake queue: %v", q)
	}
}

// TestRejectsWithReason: a message that can never be a task is acknowledged, sent as it came
// to the intake dead-letter queue, and published as a tasklane.task.rejected event that
// says why (the errorCode the API would answer).
func TestRejectsWithReason(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ev := load(t, "rejects.json")
	if failed := b.handle(t, ev); failed != nil {
		t.Fatalf("batch item failures %v: a refused message must not be retried", failed)
	}
	if got := b.tasks(t); len(got) != 0 {
		t.Errorf("tasks %+v", got)
	}
	var want []string
	for _, r := range ev.Records {
		want = append(want, r.Body)
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, b.queued(t, b.deadURL)); diff != "" {
		t.Errorf("dead-letter queue (-want +got):\n%s", diff)
	}
	wantCodes := map[string]string{
		ev.Records[0].MessageId: "VALIDATION_FAILED", ev.Records[1].MessageId: "UNKNOWN_TASK_TYPE",
		ev.Records[2].MessageId: "VALIDATION_FAILED", ev.Records[3].MessageId: "VALIDATION_FAILED",
		ev.Records[4].MessageId: "VALIDATION_FAILED",
	}
	got := map[string]string{}
	for _, e := range b.events.all() {
		var r intake.Rejection
		if err := json.Unmarshal(e.Data, &r); err != nil {
			t.Fatal(err)
		}
		if e.Type != event.Rejected || e.Subject != r.MessageID || e.ID != event.ID(r.MessageID, 0, event.Rejected) || r.Reason == "" {
			t.Errorf("rejection %+v with %+v", e, r)
		}
		got[r.MessageID] = r.ErrorCode
		t.Logf("%s: %s %s", r.MessageID, r.ErrorCode, r.Reason)
	}
	if diff := cmp.Diff(wantCodes, got); diff != "" {
		t.Errorf("rejections' errorCodes (-want +got):\n%s", diff)
	}
}

// TestTransientFailureIsRetried: a store that fails is a batch item failure (the message
// comes back), neither a rejection nor a lost message; the redelivery creates the task.
func TestTransientFailureIsRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.store.FailCreates(1)
	ev := load(t, "create.json")
	if diff := cmp.Diff([]string{ev.Records[0].MessageId}, b.handle(t, ev)); diff != "" {
		t.Errorf("batch item failures (-want +got):\n%s", diff)
	}
	if failed := b.handle(t, ev); failed != nil {
		t.Fatalf("redelivery failed: %v", failed)
	}
	if got := b.tasks(t); len(got) != 1 {
		t.Errorf("%d tasks, want 1", len(got))
	}
	if evs := b.events.all(); len(evs) != 0 {
		t.Errorf("rejections %+v", evs)
	}
	if q := b.queued(t, b.deadURL); len(q) != 0 {
		t.Errorf("dead letters %v", q)
	}
}
