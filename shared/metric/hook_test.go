package metric_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/task"
)

// TestHookRecordsTheLifeOfATask: a create, a failed attempt, a subtask that succeeds after
// two attempts and the task's success are recorded with their dimensions, and changes that
// say none of these (a claim, a start) record nothing.
func TestHookRecordsTheLifeOfATask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg, err := task.NewRegistry(demo.Type())
	if err != nil {
		t.Fatal(err)
	}
	now := at
	tick := func() time.Time { now = now.Add(1500 * time.Millisecond); return now }
	tk, err := reg.New(task.NewID(now), "tenant-a", task.Spec{Type: "demo", Input: json.RawMessage(`{"steps":[{"name":"Only"}]}`)}, now)
	if err != nil {
		t.Fatal(err)
	}
	hook := b.rec.Hook()
	tell := func(before *task.Task, after task.Task) {
		if err := hook.AfterStore(context.Background(), task.Stored{Before: before, After: after}); err != nil {
			t.Fatal(err)
		}
	}
	step := func(c task.Change, err error) task.Task {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		before := tk
		tell(&before, c.Task)
		tk = c.Task
		return tk
	}
	tell(nil, tk)
	c, _, err := tk.ClaimAndStart(tick())
	step(c, err)
	step(tk.RetryAttempt(0, task.Error{ErrorCode: "X", Message: "transient"}, tick()))
	c, _, err = tk.StartAttempt(tick())
	step(c, err)
	step(tk.FinishAndSucceed(0, json.RawMessage(`{"steps":1}`), "", tick()))

	type rec struct {
		Dims    map[string]any
		Metrics map[string]float64
	}
	var got []rec
	for _, d := range b.docs(t) {
		r := rec{Dims: map[string]any{}, Metrics: map[string]float64{}}
		dir := d["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		for _, n := range dir["Dimensions"].([]any)[0].([]any) {
			r.Dims[n.(string)] = d[n.(string)]
		}
		for _, m := range dir["Metrics"].([]any) {
			n := m.(map[string]any)["Name"].(string)
			r.Metrics[n] = d[n].(float64)
		}
		got = append(got, r)
	}
	want := []rec{
		{map[string]any{"Type": "demo"}, map[string]float64{"TasksCreated": 1}},
		{map[string]any{"Type": "demo"}, map[string]float64{"AttemptsFailed": 1}},
		{map[string]any{"Type": "demo", "Status": "success"}, map[string]float64{"TasksFinished": 1}},
		{map[string]any{"Type": "demo"}, map[string]float64{"StepAttempts": 2, "StepDuration": 4500}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
}
