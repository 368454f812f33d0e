package worker_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// One record of a batch must not sink the others: a panic while one message is handled is
// that message's failure (a batch item failure, redelivered), never the invocation's, which
// would redeliver every record of the batch. testdata/batch.json and dead-letter-batch.json
// hold two records each, for the tasks {{taskId}} and {{taskId2}}.

// tdBatch reads a two-record testdata event for the tasks a and b (run 0), as tdEvent does
// for one.
func tdBatch(t *testing.T, name, a, b string) events.SQSEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("{{taskId2}}", b, "{{taskId}}", a, "{{run}}", "0")
	dec := json.NewDecoder(strings.NewReader(r.Replace(string(raw))))
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

// isoDeps is an embedded Tasklane whose store panics on a Get of the task named by the
// returned setter (a stand-in for any bug on the way from a record to its task: decoding,
// a driver, a type's code outside Run).
func isoDeps(t *testing.T, types ...task.Type) (*app.App, func(id string)) {
	t.Helper()
	deps := apptest.OpenEmbedded(t)
	if len(types) > 0 {
		reg, err := task.NewRegistry(append([]task.Type{demo.Type()}, types...)...)
		if err != nil {
			t.Fatal(err)
		}
		deps.Types = reg
	}
	fs := fault.NewStore(deps.Store)
	deps.Store = fs
	return deps, func(bad string) {
		fs.OnGet(func(id string) error {
			if id == bad {
				panic("store driver bug reading " + id)
			}
			return nil
		})
	}
}

func TestBatchPanicFailsOnlyItsRecord(t *testing.T) {
	t.Parallel()
	deps, panicOn := isoDeps(t)
	bad := tdCreate(t, deps, `{"steps": [{"name": "A"}]}`)
	good := tdCreate(t, deps, `{"steps": [{"name": "A"}, {"name": "B"}]}`)
	panicOn(bad)
	ev := tdBatch(t, "batch.json", bad, good)
	resp, err := deps.Worker().Handle(tdCtx(t), ev)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	failed := tdFailed(resp)
	if len(failed) != 1 || !failed[ev.Records[0].MessageId] {
		t.Fatalf("BatchItemFailures %v, want only the record of the task whose handling panicked (%s)", resp.BatchItemFailures, ev.Records[0].MessageId)
	}
	if got := tdGet(t, deps, good); got.Status != task.Success {
		t.Errorf("the other record's task: %s, want success", got.Status)
	}
}

func TestDeadLetterPanicFailsOnlyItsRecord(t *testing.T) {
	t.Parallel()
	deps, panicOn := isoDeps(t)
	bad := tdCreate(t, deps, `{"steps": [{"name": "A"}]}`)
	good := tdCreate(t, deps, `{"steps": [{"name": "A"}]}`)
	panicOn(bad)
	ev := tdBatch(t, "dead-letter-batch.json", bad, good)
	resp, err := deps.Worker().HandleDeadLetter(tdCtx(t), ev)
	if err != nil {
		t.Fatalf("HandleDeadLetter: %v", err)
	}
	failed := tdFailed(resp)
	if len(failed) != 1 || !failed[ev.Records[0].MessageId] {
		t.Fatalf("BatchItemFailures %v, want only the dead letter whose handling panicked", resp.BatchItemFailures)
	}
	got := tdGet(t, deps, good)
	if got.Status != task.Failure || len(got.Errors) != 1 || got.Errors[0].ErrorCode != "DELIVERY_FAILED" {
		t.Errorf("the other dead letter's task: %s %+v, want failure with DELIVERY_FAILED", got.Status, got.Errors)
	}
}

// TestResultPanicFailsTheTask: a type whose Result panics fails its task with RESULT_FAILED
// (as a panicking step fails with STEP_PANICKED); the batch's other record goes on.
func TestResultPanicFailsTheTask(t *testing.T) {
	t.Parallel()
	deps, _ := isoDeps(t, task.Type{
		Name: "badresult",
		Plan: func(json.RawMessage) ([]task.Step, error) { return []task.Step{{Name: "Only"}}, nil },
		Run:  func(context.Context, task.Attempt) error { return nil },
		Result: func(*task.Task) (json.RawMessage, string, error) {
			var m map[string]int
			m["boom"]++ // a nil map
			return nil, "", nil
		},
	})
	c, err := deps.Service().Create(context.Background(), usecase.Principal{Tenant: tdTenant}, usecase.CreateRequest{Spec: task.Spec{Type: "badresult"}})
	if err != nil {
		t.Fatal(err)
	}
	bad := c.Task.ID
	good := tdCreate(t, deps, `{"steps": [{"name": "A"}]}`)
	resp, err := deps.Worker().Handle(tdCtx(t), tdBatch(t, "batch.json", bad, good))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %+v %v", resp, err)
	}
	got := tdGet(t, deps, bad)
	if got.Status != task.Failure || len(got.Errors) != 1 || got.Errors[0].ErrorCode != "RESULT_FAILED" {
		t.Errorf("task whose Result panics: %s %+v, want failure with RESULT_FAILED", got.Status, got.Errors)
	}
	if got := tdGet(t, deps, good); got.Status != task.Success {
		t.Errorf("the other record's task: %s, want success", got.Status)
	}
}

// TestStepContextEndsBeforeDeadline: a step that runs until its context ends is stopped
// before the invocation's deadline, with time left to record the attempt: it is a retryable
// STEP_TIMED_OUT, the subtask goes back to pending and the task continues in a new message
// (the delivery is acknowledged), rather than the outcome being lost with the invocation.
func TestStepContextEndsBeforeDeadline(t *testing.T) {
	t.Parallel()
	deps, _ := isoDeps(t, task.Type{
		Name: "stuck",
		Plan: func(json.RawMessage) ([]task.Step, error) { return []task.Step{{Name: "Hang"}}, nil },
		Run: func(ctx context.Context, _ task.Attempt) error {
			<-ctx.Done()
			return ctx.Err() // not marked retryable: the worker must see it was its deadline
		},
	})
	c, err := deps.Service().Create(context.Background(), usecase.Principal{Tenant: tdTenant}, usecase.CreateRequest{Spec: task.Spec{Type: "stuck"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := deps.Worker().Handle(ctx, tdEvent(t, "message.json", c.Task.ID, 0))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %+v %v (after %v), want the delivery acknowledged", resp, err, time.Since(start))
	}
	if ctx.Err() != nil {
		t.Errorf("Handle returned after the invocation's deadline")
	}
	got := tdGet(t, deps, c.Task.ID)
	if got.Status != task.Processing || got.SubTasks[0].Status != task.Pending || got.SubTasks[0].Attempts != 1 {
		t.Fatalf("task %s, subtask %+v; want processing with the subtask back to pending after 1 attempt", got.Status, got.SubTasks[0])
	}
	if len(got.Errors) != 1 || got.Errors[0].ErrorCode != "STEP_TIMED_OUT" || !strings.Contains(got.Errors[0].Message, "attempt 1 of 3") {
		t.Errorf("errors %+v, want one STEP_TIMED_OUT for attempt 1 of 3", got.Errors)
	}
}
