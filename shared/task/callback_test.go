package task_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// A callback attempt waits until its heartbeat deadline, never past its timeout; heartbeats
// move the deadline and report progress; a late report, a report of another attempt or run,
// and a second start are refused; succeed and fail keep how they ended.
func TestCallbackTransitions(t *testing.T) {
	t.Parallel()
	f := fixtureNamed(t, "processing/running")
	now := f.UpdatedAt.Add(time.Second)
	c, err := f.StartCallback(1, time.Minute, 90*time.Second, now)
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := c.Task.RunningCallback()
	if !ok || ref.Index != 1 || ref.Attempt != f.SubTasks[1].Attempts || ref.Run != f.RetryCount {
		t.Fatalf("RunningCallback = %+v, %v", ref, ok)
	}
	if got, ok := task.CallbackStarted(&f, c.Task); !ok || got != ref {
		t.Errorf("CallbackStarted = %+v, %v", got, ok)
	}
	if _, ok := task.CallbackStarted(&c.Task, c.Task); ok {
		t.Error("CallbackStarted for a change that started nothing")
	}
	if w := c.Task.SubTasks[1].WaitUntil; !w.Equal(now.Add(time.Minute)) {
		t.Errorf("waitUntil = %v, want the heartbeat deadline", w)
	}
	if _, err := c.Task.StartCallback(1, time.Minute, time.Minute, now); !errors.Is(err, task.ErrInvalidTransition) {
		t.Errorf("second StartCallback: %v", err)
	}
	p := 50
	hb, err := c.Task.Heartbeat(ref, &p, "half way", now.Add(50*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if w := hb.Task.SubTasks[1].WaitUntil; !w.Equal(now.Add(90 * time.Second)) {
		t.Errorf("waitUntil after heartbeat = %v, want the timeout", w)
	}
	if hb.Task.Message != "half way" || hb.Task.Progress <= c.Task.Progress {
		t.Errorf("heartbeat: message %q progress %d (was %d)", hb.Task.Message, hb.Task.Progress, c.Task.Progress)
	}
	for name, r := range map[string]task.CallbackRef{
		"other attempt": {Index: 1, Attempt: ref.Attempt + 1, Run: ref.Run},
		"other run":     {Index: 1, Attempt: ref.Attempt, Run: ref.Run + 1},
		"other subtask": {Index: 0, Attempt: ref.Attempt, Run: ref.Run},
	} {
		if _, err := hb.Task.Heartbeat(r, nil, "", now); !errors.Is(err, task.ErrCallbackNotFound) {
			t.Errorf("%s: %v, want ErrCallbackNotFound", name, err)
		}
	}
	if _, err := hb.Task.Heartbeat(ref, nil, "", now.Add(90*time.Second)); !errors.Is(err, task.ErrCallbackNotFound) {
		t.Errorf("late heartbeat: %v, want ErrCallbackNotFound", err)
	}
	done, err := hb.Task.SucceedCallback(ref, json.RawMessage(`{"ok":true}`), "h1", now.Add(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if s := done.Task.SubTasks[1]; s.Status != task.Success || string(s.Output) != `{"ok":true}` || done.Task.CallbackEnding(ref) != "h1" {
		t.Errorf("succeeded subtask = %+v", s)
	}
	if _, err := done.Task.FailCallback(ref, task.Error{ErrorCode: "X", Message: "x"}, true, "h2", now.Add(61*time.Second)); !errors.Is(err, task.ErrCallbackNotFound) {
		t.Errorf("fail after succeed: %v", err)
	}
	failed, err := hb.Task.FailCallback(ref, task.Error{ErrorCode: "X", Message: "x"}, true, "h2", now.Add(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := task.Pending
	if ref.Attempt >= f.MaxAttempts {
		wantStatus = task.Failure
	}
	if s := failed.Task.SubTasks[1]; s.Status != wantStatus || failed.Task.CallbackEnding(ref) != "h2" {
		t.Errorf("failed subtask = %+v, want %s", s, wantStatus)
	}
	if _, err := failed.Task.StartCallback(1, time.Minute, time.Minute, now); !errors.Is(err, task.ErrInvalidTransition) {
		t.Errorf("StartCallback of a subtask not being attempted: %v", err)
	}
}
