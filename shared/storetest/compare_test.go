package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/task"
)

// The comparison must see what a store may change as the same, and anything else as a difference.
func TestTaskOptions(t *testing.T) {
	t.Parallel()
	want := fullTask(t)
	same := want.Clone()
	same.CreatedAt = same.CreatedAt.Add(400 * time.Microsecond).In(time.FixedZone("x", 3600))
	same.Input = json.RawMessage(`{"ratio":0.25,"flag":true,"steps":[{"durationMs":50,"name":"Validate"}]}`)
	same.Errors[1].Causes = nil
	if d := cmp.Diff(want, same, taskOptions); d != "" {
		t.Errorf("equivalent tasks differ:\n%s", d)
	}
	for name, change := range map[string]func(*task.Task){
		"a millisecond": func(tk *task.Task) { tk.UpdatedAt = tk.UpdatedAt.Add(time.Millisecond) },
		"input":         func(tk *task.Task) { tk.Input = json.RawMessage(`{"flag":false}`) },
		"a nil time":    func(tk *task.Task) { tk.StartedAt = nil },
		"a subtask":     func(tk *task.Task) { tk.SubTasks[0].Attempts++ },
		"the write id":  func(tk *task.Task) { tk.WriteID = "other" },
	} {
		other := want.Clone()
		change(&other)
		if cmp.Diff(want, other, taskOptions) == "" {
			t.Errorf("changing %s makes no difference", name)
		}
	}
	listed := want.Clone()
	listed.Input, listed.Result = nil, nil
	if d := cmp.Diff(want, listed, listedOptions); d != "" {
		t.Errorf("a listed task without input and result differs:\n%s", d)
	}
}
