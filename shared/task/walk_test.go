package task_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// walker applies changes the way a store would: only if written from the state it holds.
type walker struct {
	t   *testing.T
	cur task.Task
	now time.Time
}

func (w *walker) tick() time.Time { w.now = w.now.Add(time.Second); return w.now }

func (w *walker) apply(name string, c task.Change, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	if c.FromStatus != w.cur.Status || c.FromVersion != w.cur.Version || c.Task.Version != w.cur.Version+1 {
		w.t.Fatalf("%s: change from %s@%d to v%d, stored %s@%d", name, c.FromStatus, c.FromVersion, c.Task.Version, w.cur.Status, w.cur.Version)
	}
	if !c.Task.UpdatedAt.Equal(w.now) {
		w.t.Fatalf("%s: updatedAt %v, want %v", name, c.Task.UpdatedAt, w.now)
	}
	w.cur = c.Task
}

func (w *walker) expect(name string, status task.Status, progress int, subs ...task.Status) {
	w.t.Helper()
	if w.cur.Status != status || w.cur.Progress != progress || !reflect.DeepEqual(subStatuses(w.cur), subs) {
		w.t.Fatalf("after %s: %s %d%% %v, want %s %d%% %v", name, w.cur.Status, w.cur.Progress, subStatuses(w.cur), status, progress, subs)
	}
}

func newWalk(t *testing.T) *walker {
	t.Helper()
	r, err := task.NewRegistry(testType("demo"))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := r.New(task.NewID(t0), "tenant-a", task.Spec{Type: "demo", Name: "Provision web-01"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !task.ValidID(tk.ID) {
		t.Fatalf("id %q", tk.ID)
	}
	return &walker{t: t, cur: tk, now: t0}
}

func TestWalkSuccess(t *testing.T) {
	t.Parallel()
	w := newWalk(t)
	w.expect("create", P, 0, P, P, P)

	c, err := w.cur.Claim(w.tick())
	w.apply("claim", c, err)
	w.expect("claim", R, 0, P, P, P)
	claimedAt := w.now

	progress := []int{33, 66, 100}
	for want := 0; want < 3; want++ {
		c, i, err := w.cur.StartAttempt(w.tick())
		if i != want {
			t.Fatalf("StartAttempt index %d, want %d", i, want)
		}
		w.apply("start attempt", c, err)
		if s := w.cur.SubTasks[i]; s.Status != R || s.Attempts != 1 || !s.StartedAt.Equal(w.now) {
			t.Fatalf("subtask %d = %+v", i, s)
		}
		if _, err := w.cur.Succeed(nil, "", w.now); !errors.Is(err, task.ErrInvalidTransition) {
			t.Fatalf("succeed with subtask %d running: %v", i, err)
		}
		c, err = w.cur.FinishSubTask(i, w.tick())
		w.apply("finish", c, err)
		if w.cur.Progress != progress[i] || w.cur.SubTasks[i].Status != S {
			t.Fatalf("after finishing %d: %d%% %v", i, w.cur.Progress, subStatuses(w.cur))
		}
	}
	if _, i, err := w.cur.StartAttempt(w.tick()); i != -1 || !errors.Is(err, task.ErrInvalidTransition) {
		t.Fatalf("StartAttempt with all done = %d, %v", i, err)
	}
	c, err = w.cur.Succeed(json.RawMessage(`{"host":"web-01"}`), "", w.now)
	w.apply("succeed", c, err)
	w.expect("succeed", S, 100, S, S, S)

	got := w.cur
	if got.Version != 9 { // create 1, claim, 3×(start, finish), succeed
		t.Errorf("version = %d, want 9", got.Version)
	}
	if !got.StartedAt.Equal(claimedAt) || !got.FinishedAt.Equal(w.now) || !got.ExpiresAt.Equal(w.now.Add(task.DefaultRetention)) {
		t.Errorf("startedAt %v finishedAt %v expiresAt %v", got.StartedAt, got.FinishedAt, got.ExpiresAt)
	}
	if string(got.Result) != `{"host":"web-01"}` || len(got.Errors) != 0 || got.Cancellable() || got.Retryable() {
		t.Errorf("result %s errors %v", got.Result, got.Errors)
	}
	if got.Expired(w.now.Add(48*time.Hour-time.Millisecond)) || !got.Expired(w.now.Add(48*time.Hour)) {
		t.Errorf("expiry boundary")
	}
	if _, err := got.Cancel(w.tick()); !errors.Is(err, task.ErrNotCancellable) {
		t.Errorf("cancel of a success: %v", err)
	}
}

func TestWalkFailureRetryResume(t *testing.T) {
	t.Parallel()
	w := newWalk(t)
	c, err := w.cur.Claim(w.tick())
	w.apply("claim", c, err)

	// Validate succeeds.
	c, i, err := w.cur.StartAttempt(w.tick())
	w.apply("start 0", c, err)
	c, err = w.cur.FinishSubTask(i, w.tick())
	w.apply("finish 0", c, err)

	// Allocate fails retryably twice; the worker running the third attempt dies mid-step.
	for attempt := 1; attempt <= 3; attempt++ {
		c, i, err = w.cur.StartAttempt(w.tick())
		w.apply("start 1", c, err)
		if i != 1 || w.cur.SubTasks[1].Attempts != attempt {
			t.Fatalf("attempt %d: index %d attempts %d", attempt, i, w.cur.SubTasks[1].Attempts)
		}
		if attempt < 3 {
			c, err = w.cur.RetryAttempt(1, task.Error{ErrorCode: "NO_CAPACITY", Message: "no capacity"}, w.tick())
			w.apply("retry attempt", c, err)
			w.expect("retry attempt", R, 33, S, P, P)
		}
	}
	w.expect("third attempt", R, 33, S, R, P)
	// The redelivered message finds the budget spent, and the worker fails the task.
	if _, i, err := w.cur.StartAttempt(w.tick()); i != 1 || !errors.Is(err, task.ErrAttemptsSpent) {
		t.Fatalf("StartAttempt after 3 attempts = %d, %v; want 1, ErrAttemptsSpent", i, err)
	}
	c, err = w.cur.Fail(task.Error{ErrorCode: "ATTEMPTS_SPENT", Message: "Allocate failed 3 times"}, w.now)
	w.apply("fail", c, err)
	w.expect("fail", F, 33, S, F, P)
	failedAt := w.now
	if w.cur.Message != "Allocate failed 3 times" || !w.cur.ExpiresAt.Equal(failedAt.Add(task.DefaultRetention)) {
		t.Fatalf("failed task: message %q expiresAt %v", w.cur.Message, w.cur.ExpiresAt)
	}
	history := append([]task.Error(nil), w.cur.Errors...)
	if len(history) != 3 || history[2].ErrorType != task.ErrorTypeError || history[0].ErrorType != task.ErrorTypeWarning {
		t.Fatalf("errors = %+v", history)
	}
	if _, err := w.cur.Cancel(w.tick()); !errors.Is(err, task.ErrNotCancellable) {
		t.Fatalf("cancel of a failure: %v", err)
	}
	firstSub := w.cur.SubTasks[0]

	// Retry: back to pending, resumes at Allocate.
	c, err = w.cur.Retry(w.tick(), true)
	w.apply("retry", c, err)
	w.expect("retry", P, 33, S, P, P)
	if w.cur.RetryCount != 1 || w.cur.FinishedAt != nil || w.cur.ExpiresAt != nil || w.cur.Message != "" {
		t.Fatalf("retried task = %+v", w.cur)
	}
	if !reflect.DeepEqual(w.cur.SubTasks[0], firstSub) || w.cur.SubTasks[1].Attempts != 0 || w.cur.SubTasks[1].StartedAt != nil {
		t.Fatalf("subtasks after retry = %+v", w.cur.SubTasks)
	}
	if !sameErrors(w.cur.Errors, history) {
		t.Fatalf("errors history lost: %+v", w.cur.Errors)
	}

	c, err = w.cur.Claim(w.tick())
	w.apply("claim again", c, err)
	for _, want := range []int{1, 2} {
		c, i, err = w.cur.StartAttempt(w.tick())
		if i != want {
			t.Fatalf("resumed at %d, want %d", i, want)
		}
		w.apply("start", c, err)
		c, err = w.cur.FinishSubTask(i, w.tick())
		w.apply("finish", c, err)
	}
	c, err = w.cur.Succeed(nil, "https://example.test/hosts/web-01", w.tick())
	w.apply("succeed", c, err)
	w.expect("succeed", S, 100, S, S, S)
	if w.cur.SubTasks[0].Attempts != 1 || w.cur.SubTasks[1].Attempts != 1 || w.cur.RetryCount != 1 || len(w.cur.Errors) != 3 {
		t.Errorf("final task = %+v", w.cur)
	}
}

func TestWalkCancelWhileRunning(t *testing.T) {
	t.Parallel()
	w := newWalk(t)
	c, err := w.cur.Claim(w.tick())
	w.apply("claim", c, err)
	c, i, err := w.cur.StartAttempt(w.tick())
	w.apply("start 0", c, err)

	c, err = w.cur.Cancel(w.tick())
	w.apply("cancel", c, err)
	w.expect("cancel", R, 0, R, P, P)
	if !w.cur.CancelRequested {
		t.Fatal("cancelRequested not set")
	}
	again, err := w.cur.Cancel(w.tick())
	if err != nil || !again.Empty() {
		t.Fatalf("second cancel = %+v, %v", again, err)
	}
	// The running subtask may finish; the next one must not start.
	c, err = w.cur.FinishSubTask(i, w.tick())
	w.apply("finish 0", c, err)
	if _, j, err := w.cur.StartAttempt(w.tick()); j != -1 || !errors.Is(err, task.ErrInvalidTransition) {
		t.Fatalf("StartAttempt after cancel requested = %d, %v", j, err)
	}
	c, err = w.cur.ConfirmCancel(w.now)
	w.apply("confirm cancel", c, err)
	w.expect("confirm cancel", C, 33, S, C, C)
	if w.cur.FinishedAt == nil || w.cur.ExpiresAt == nil || !w.cur.ExpiresAt.Equal(w.now.Add(task.DefaultRetention)) {
		t.Errorf("cancelled task: finishedAt %v expiresAt %v", w.cur.FinishedAt, w.cur.ExpiresAt)
	}
	if _, err := w.cur.Retry(w.tick(), true); !errors.Is(err, task.ErrNotRetryable) {
		t.Errorf("retry of a cancelled task: %v", err)
	}
}
