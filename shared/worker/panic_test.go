package worker_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// TestStepPanicFailsTheTask: a step whose code panics fails its task with STEP_PANICKED and
// the message is acknowledged; the worker goes on.
func TestStepPanicFailsTheTask(t *testing.T) {
	t.Parallel()
	deps := apptest.OpenEmbedded(t)
	reg, err := task.NewRegistry(task.Type{
		Name: "crashy",
		Plan: func(json.RawMessage) ([]task.Step, error) { return []task.Step{{Name: "Crash"}}, nil },
		Run:  func(context.Context, task.Attempt) error { panic("nil map somewhere") },
	})
	if err != nil {
		t.Fatal(err)
	}
	deps.Types = reg
	created, err := deps.Service().Create(context.Background(), usecase.Principal{Tenant: "t"}, usecase.CreateRequest{Spec: task.Spec{Type: "crashy"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := tdCtx(t)
	resp, err := deps.Worker().Handle(ctx, tdEvent(t, "message.json", created.Task.ID, 0))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle: %+v %v", resp, err)
	}
	got := tdGet(t, deps, created.Task.ID)
	if got.Status != task.Failure || len(got.Errors) != 1 || got.Errors[0].ErrorCode != "STEP_PANICKED" {
		t.Fatalf("task %s errors %+v; want failure with STEP_PANICKED", got.Status, got.Errors)
	}
}
