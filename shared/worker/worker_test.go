package worker_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/metric"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// The events in testdata/ are SQS events as Lambda's event source mapping delivers them to
// the worker (message.json, poison.json, unknown-task.json) and to the dead-letter handler
// (dead-letter.json). In a body, {{taskId}} and {{run}} stand for the task and run a test
// sends. Helpers here carry a td prefix so that they cannot clash with other test files of
// this package.

const tdTenant = "tenant-a"

// tdCreate creates a demo task of tdTenant through the API's use case (which also sends its
// message to the in-process queue) and returns its id.
func tdCreate(t *testing.T, deps *app.App, input string) string {
	t.Helper()
	c, err := deps.Service().Create(context.Background(), usecase.Principal{Tenant: tdTenant},
		usecase.CreateRequest{Spec: task.Spec{Type: "demo", Name: "worker test", Input: json.RawMessage(input)}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return c.Task.ID
}

// tdEvent reads testdata/name with {{taskId}} and {{run}} replaced, and each record's
// md5OfBody made to match its body again, as SQS computes it.
func tdEvent(t *testing.T, name, id string, run int) events.SQSEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("{{taskId}}"), []byte(id))
	raw = bytes.ReplaceAll(raw, []byte("{{run}}"), []byte(strconv.Itoa(run)))
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var ev events.SQSEvent
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for i := range ev.Records {
		sum := md5.Sum([]byte(ev.Records[i].Body))
		ev.Records[i].Md5OfBody = hex.EncodeToString(sum[:])
	}
	return ev
}

// tdCreateTyped creates a task of type typ for tdTenant through deps' service and returns its id
// and deliver, which hands the task's message (message.json) to deps' worker and fails the
// test unless every record was acknowledged.
func tdCreateTyped(t *testing.T, deps *app.App, typ string) (id string, deliver func()) {
	t.Helper()
	c, err := deps.Service().Create(context.Background(), usecase.Principal{Tenant: tdTenant}, usecase.CreateRequest{Spec: task.Spec{Type: typ}})
	if err != nil {
		t.Fatal(err)
	}
	return c.Task.ID, func() {
		t.Helper()
		resp, err := deps.Worker().Handle(tdCtx(t), tdEvent(t, "message.json", c.Task.ID, 0))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle: %+v %v", resp, err)
		}
	}
}

// tdCtx is a Lambda-like invocation context with a deadline.
func tdCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func tdGet(t *testing.T, deps *app.App, id string) task.Task {
	t.Helper()
	got, err := deps.Store.Get(context.Background(), id, time.Now())
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return got
}

// tdFailed returns the ids of the batch item failures.
func tdFailed(resp events.SQSEventResponse) map[string]bool {
	out := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		out[f.ItemIdentifier] = true
	}
	return out
}

func TestEventMessageRunsTaskToSuccess(t *testing.T) {
	t.Parallel()
	deps := apptest.OpenEmbedded(t)
	id := tdCreate(t, deps, `{"steps": [{"name": "Validate"}, {"name": "Allocate"}, {"name": "Configure"}]}`)
	ev := tdEvent(t, "message.json", id, 0)
	resp, err := deps.Worker().Handle(tdCtx(t), ev)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("BatchItemFailures %v, want none", resp.BatchItemFailures)
	}
	got := tdGet(t, deps, id)
	if got.Status != task.Success || got.Progress != 100 || got.FinishedAt == nil || got.ExpiresAt == nil {
		t.Fatalf("task after the message: %s progress %d finishedAt %v expiresAt %v", got.Status, got.Progress, got.FinishedAt, got.ExpiresAt)
	}
	for i, s := range got.SubTasks {
		if s.Status != task.Success || s.Attempts != 1 || s.StartedAt == nil || s.FinishedAt == nil {
			t.Errorf("subtask %d: %+v", i, s)
		}
	}
	if string(got.Result) != `{"steps":3}` {
		t.Errorf("result %s", got.Result)
	}

	// The same message again (at-least-once delivery) is acknowledged and changes nothing.
	resp, err = deps.Worker().Handle(tdCtx(t), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("duplicate: %v %v", resp, err)
	}
	if again := tdGet(t, deps, id); again.Version != got.Version {
		t.Errorf("a duplicate message changed the task: version %d, was %d", again.Version, got.Version)
	}
}

func TestEventPoisonMessagesAreReported(t *testing.T) {
	t.Parallel()
	deps := apptest.OpenEmbedded(t)
	id := tdCreate(t, deps, `{"steps": [{"name": "Only"}]}`)
	ev := tdEvent(t, "poison.json", id, 0)
	resp, err := deps.Worker().Handle(tdCtx(t), ev)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	failed := tdFailed(resp)
	// The first two records are no task messages; the third is good and is acknowledged.
	for i, rec := range ev.Records {
		if want := i < 2; failed[rec.MessageId] != want {
			t.Errorf("record %d (%q): in BatchItemFailures %t, want %t", i, rec.Body, failed[rec.MessageId], want)
		}
	}
	if len(resp.BatchItemFailures) != 2 {
		t.Errorf("BatchItemFailures %v, want the two poison messages", resp.BatchItemFailures)
	}
	if got := tdGet(t, deps, id); got.Status != task.Success {
		t.Errorf("the good message in a batch with poison: task %s, want success", got.Status)
	}
}

func TestEventUnknownTaskIsAcknowledged(t *testing.T) {
	t.Parallel()
	deps := apptest.OpenEmbedded(t)
	resp, err := deps.Worker().Handle(tdCtx(t), tdEvent(t, "unknown-task.json", "", 0))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("a message of a task that does not exist is reported: %v", resp.BatchItemFailures)
	}
}

func TestEventStaleRunIsAcknowledged(t *testing.T) {
	t.Parallel()
	deps := apptest.OpenEmbedded(t)
	ctx := tdCtx(t)
	id := tdCreate(t, deps, `{"steps": [{"name": "Validate"}, {"name": "Broken", "failUntilRetry": 1}]}`)
	if resp, err := deps.Worker().Handle(ctx, tdEvent(t, "message.json", id, 0)); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("first run: %v %v", resp, err)
	}
	if got := tdGet(t, deps, id); got.Status != task.Failure {
		t.Fatalf("first run ended %s, want failure", got.Status)
	}
	if _, err := deps.Service().Retry(ctx, usecase.Principal{Tenant: tdTenant}, id); err != nil {
		t.Fatalf("retry: %v", err)
	}
	before := tdGet(t, deps, id)
	if before.Status != task.Pending || before.RetryCount != 1 {
		t.Fatalf("retried task: %s retryCount %d", before.Status, before.RetryCount)
	}

	// A late copy of the first run's message: acknowledged, the new run untouched.
	resp, err := deps.Worker().Handle(ctx, tdEvent(t, "message.json", id, 0))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("stale message: %v %v, want acknowledged", resp, err)
	}
	after := tdGet(t, deps, id)
	if after.Version != before.Version || after.Status != task.Pending {
		t.Errorf("a stale run's message changed the task: %s v%d, was %s v%d", after.Status, after.Version, before.Status, before.Version)
	}

	// The current run's message drives it home, without running Validate again.
	resp, err = deps.Worker().Handle(ctx, tdEvent(t, "message.json", id, 1))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("current run: %v %v", resp, err)
	}
	done := tdGet(t, deps, id)
	if done.Status != task.Success || done.SubTasks[0].Attempts != 1 || !done.SubTasks[0].FinishedAt.Equal(*before.SubTasks[0].FinishedAt) {
		t.Errorf("after the current run: %s, Validate %+v", done.Status, done.SubTasks[0])
	}
}

func TestEventDeadLetterFailsActiveTask(t *testing.T) {
	t.Parallel()
	deps := apptest.OpenEmbedded(t)
	id := tdCreate(t, deps, `{"steps": [{"name": "Only"}]}`)
	ev := tdEvent(t, "dead-letter.json", id, 0)
	resp, err := deps.Worker().HandleDeadLetter(tdCtx(t), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("HandleDeadLetter: %v %v", resp, err)
	}
	got := tdGet(t, deps, id)
	if got.Status != task.Failure || !got.Retryable() || got.FinishedAt == nil || got.ExpiresAt == nil {
		t.Fatalf("task after its dead letter: %s finishedAt %v expiresAt %v", got.Status, got.FinishedAt, got.ExpiresAt)
	}
	if len(got.Errors) != 1 {
		t.Fatalf("errors %+v, want one", got.Errors)
	}
	e := got.Errors[0]
	if e.ErrorCode != "DELIVERY_FAILED" || e.ErrorType != task.ErrorTypeError || !strings.Contains(e.Message, "5 times") {
		t.Errorf("error %+v, want DELIVERY_FAILED ERROR saying 5 times", e)
	}
	if got.Message == "" {
		t.Error("no message on the failed task")
	}

	// The same dead letter again changes nothing: the task already ended.
	resp, err = deps.Worker().HandleDeadLetter(tdCtx(t), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("second dead letter: %v %v", resp, err)
	}
	if again := tdGet(t, deps, id); again.Version != got.Version {
		t.Errorf("a dead letter of an ended task changed it: v%d, was v%d", again.Version, got.Version)
	}
}

func TestEventDeadLetterOfUnknownTask(t *testing.T) {
	t.Parallel()
	deps := apptest.OpenEmbedded(t)
	resp, err := deps.Worker().HandleDeadLetter(tdCtx(t), tdEvent(t, "dead-letter.json", "01JDK6Q8W7C2N3X9RT0V5M4B1A", 0))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("dead letter of a task that does not exist: %v %v, want acknowledged", resp, err)
	}
	resp, err = deps.Worker().HandleDeadLetter(tdCtx(t), tdEvent(t, "poison.json", "01JDK6Q8W7C2N3X9RT0V5M4B1A", 0))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("poison dead letters: %v %v, want acknowledged (logged)", resp, err)
	}
}

// TestEventLatenessMetric: a batch records how late its most overdue message was taken: the
// first record was sent with a minute's delay (its dueAt), so it is 90 s late, not 150; the
// second, sent by hand without a dueAt, counts from its SentTimestamp: 120 s. A batch taken
// on time records nothing.
func TestEventLatenessMetric(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		now  int64 // epoch ms
		want []float64
	}{
		{"backlog", 1795336350123, []float64{120}},
		{"on time", 1795336230623, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			deps := apptest.OpenEmbedded(t)
			var out bytes.Buffer
			deps.Metrics = metric.New(&out, nil)
			deps.Now = func() time.Time { return time.UnixMilli(tc.now) }
			resp, err := deps.Worker().Handle(tdCtx(t), tdEvent(t, "late.json", "", 0))
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Handle: %+v %v", resp, err)
			}
			var got []float64
			for line := range strings.Lines(out.String()) {
				var doc map[string]any
				if err := json.Unmarshal([]byte(line), &doc); err != nil {
					t.Fatalf("metric line %q: %v", line, err)
				}
				if v, ok := doc[metric.OldestMessageAge].(float64); ok {
					got = append(got, v)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s values (-want +got):\n%s", metric.OldestMessageAge, diff)
			}
		})
	}
}
