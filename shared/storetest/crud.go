package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// fullTask is a task with every field set (to values no transition would produce together;
// a store must not care), so that a round trip shows any field a store drops.
func fullTask(t *testing.T) task.Task {
	t.Helper()
	tk := tasktest.NewSpec(t, "tenant-full", task.Spec{
		Type:      tasktest.TypeAlpha,
		Name:      "Provision web-01",
		Input:     json.RawMessage(`{ "steps": [ {"name": "Validate", "durationMs": 50} ], "flag": true, "ratio": 0.25 }`),
		Resources: []task.Resource{{ResourceID: "host-1", Type: "HOST"}, {ResourceID: "net-7", Type: "NETWORK"}},
		Retention: 3 * time.Hour,
	}, tasktest.At(123*time.Millisecond))
	started, finished, expires := tasktest.At(2*time.Second+7*time.Millisecond), tasktest.At(9*time.Second+999*time.Millisecond), tasktest.At(3*time.Hour+9*time.Second+999*time.Millisecond)
	s0, f0, s1 := tasktest.At(2*time.Second+8*time.Millisecond), tasktest.At(3*time.Second), tasktest.At(4*time.Second)
	tk.Status = task.Failure
	tk.CancelRequested = true
	tk.Result = json.RawMessage(`{"steps":3,"nested":{"a":[1,2,{"b":null}]}}`)
	tk.ResultURL = "https://example.test/hosts/host-1"
	tk.CallbackURL = "https://hooks.example.test/tasklane?a=1&b=2"
	tk.Message = "subtask Allocate failed: no capacity"
	tk.Progress = 33
	tk.SubTasks[0] = task.SubTask{Name: "Validate", Description: "check the input", Status: task.Success, Attempts: 1, StartedAt: &s0, FinishedAt: &f0}
	tk.SubTasks[1] = task.SubTask{Name: "Allocate", Description: "find a host", Status: task.Failure, Attempts: 3, StartedAt: &s1, FinishedAt: &finished}
	tk.Errors = []task.Error{
		{ErrorCode: "STEP_RETRYABLE", ErrorType: task.ErrorTypeWarning, Message: "attempt 1 of 3 failed", SubTask: "Allocate", Causes: []string{"timeout", "again"}, At: tasktest.At(5 * time.Second)},
		{ErrorCode: "STEP_FAILED", ErrorType: task.ErrorTypeError, Message: "no capacity", SubTask: "Allocate", Causes: []string{}, At: finished},
	}
	tk.RetryCount = 2
	tk.MaxAttempts = 5
	tk.UpdatedAt = finished
	tk.StartedAt = &started
	tk.FinishedAt = &finished
	tk.ExpiresAt = &expires
	tk.Version = 7
	tk.WriteID = "0123456789abcdef0123456789abcdef"
	tk.User = "alice@example.test"
	tk.ServiceNamespace = "org.example.backup"
	// What a suspended or callback attempt and a step's output leave on a subtask.
	wait, timeout := tasktest.At(6*time.Second), tasktest.At(7*time.Second+1*time.Millisecond)
	tk.SubTasks[1].Output = json.RawMessage(`{"host":"h-1","tags":["a"]}`)
	tk.SubTasks[1].WaitUntil = &wait
	tk.SubTasks[1].Callback = &task.Callback{Attempt: 3, Heartbeat: 90 * time.Second, TimeoutAt: timeout, Progress: 40, Ended: "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}
	return tk
}

// assertEveryFieldSet fails when a field of v (a struct) is zero: a field added to the domain
// later must be added to fullTask, or the round trip would not cover it.
func assertEveryFieldSet(t *testing.T, what string, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("fullTask: %s.%s is not set; set it so that the round trip covers it", what, rv.Type().Field(i).Name)
		}
	}
}

func testCreateRoundTrip(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	full := fullTask(t)
	assertEveryFieldSet(t, "Task", full)
	assertEveryFieldSet(t, "SubTask", full.SubTasks[1])
	assertEveryFieldSet(t, "Error", full.Errors[0])
	assertEveryFieldSet(t, "Resource", full.Resources[0])

	fresh := tasktest.New(t, "tenant-a", tasktest.TypeBeta, tasktest.At(time.Second))
	noInput := tasktest.NewSpec(t, "tenant-a", task.Spec{Type: tasktest.TypeAlpha}, tasktest.At(time.Second))

	for _, tc := range []struct {
		name string
		tk   task.Task
	}{
		{"every field", full},
		{"as created", fresh},
		{"no input, name or resources", noInput},
	} {
		tasktest.Create(t, s, tc.tk)
		now := tc.tk.UpdatedAt
		got := mustGet(t, s, tc.tk.ID, now)
		assertSameTask(t, tc.name, tc.tk, got)
		// The stored task is the store's own: changing what Get returned changes nothing.
		if len(got.SubTasks) > 0 {
			got.SubTasks[0].Status = "mutated"
		}
		assertSameTask(t, tc.name+", read again", tc.tk, mustGet(t, s, tc.tk.ID, now))
	}
}

func testCreateExistingID(t *testing.T, newStore newStoreFunc) {
	orig := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0))
	tests := []struct {
		name   string
		second func(task.Task) task.Task
	}{
		// The same task written by another writer: only its WriteID tells it from a re-sent
		// create of the first (which succeeds, see testCreateResent).
		{"identical but another writer's", func(tk task.Task) task.Task {
			tk = tk.Clone()
			tk.WriteID = task.NewWriteID()
			return tk
		}},
		{"changed fields", func(tk task.Task) task.Task {
			tk = tk.Clone()
			tk.Name = "overwritten"
			tk.Type = tasktest.TypeBeta
			tk.UpdatedAt = tasktest.At(time.Minute)
			return tk
		}},
		{"another owner", func(tk task.Task) task.Task {
			tk = tk.Clone()
			tk.Owner = "tenant-b"
			return tk
		}},
		{"a later version", func(tk task.Task) task.Task {
			tk = tk.Clone()
			tk.Version = 5
			tk.Status = task.Processing
			return tk
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tasktest.Create(t, s, orig)
			second := tc.second(orig)
			if err := s.Create(t.Context(), second, nil); err == nil {
				t.Fatalf("second Create of id %s succeeded, want an error", orig.ID)
			}
			assertSameTask(t, "after a refused second Create", orig, mustGet(t, s, orig.ID, tasktest.At(time.Hour)))
			p, err := s.List(t.Context(), task.ListQuery{Owner: second.Owner, Limit: 10, Now: tasktest.At(time.Hour)})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if second.Owner != orig.Owner && len(p.Tasks) != 0 {
				t.Errorf("List of %s after a refused Create returned %v, want nothing", second.Owner, ids(p.Tasks))
			}
			if second.Owner == orig.Owner && (len(p.Tasks) != 1 || p.Tasks[0].ID != orig.ID) {
				t.Errorf("List of %s returned %v, want only %s", second.Owner, ids(p.Tasks), orig.ID)
			}
		})
	}
}

func testGetNotFound(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	stored := tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0)))
	for _, id := range []string{
		task.NewID(tasktest.At(0)),
		"not-a-ulid",
		stored.ID[:25],
		stored.ID + "0",
	} {
		got, err := s.Get(t.Context(), id, tasktest.At(time.Second))
		if !errors.Is(err, task.ErrNotFound) {
			t.Errorf("Get(%q) = (task %q, %v), want an error wrapping task.ErrNotFound", id, got.ID, err)
		}
	}
	mustGet(t, s, stored.ID, tasktest.At(time.Second))
}

func testGetExpired(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	// Expired through Apply: a cancel starts the retention.
	applied := tasktest.Create(t, s, tasktest.NewSpec(t, "tenant-a", task.Spec{Type: tasktest.TypeAlpha, Retention: task.MinRetention}, tasktest.At(0)))
	applied = tasktest.Drive(t, s, applied, task.Cancelled, tasktest.At(time.Second))
	// Stored already terminal by Create.
	created := tasktest.New(t, "tenant-a", tasktest.TypeBeta, tasktest.At(0))
	created = tasktest.Transition(t, created, func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(2 * time.Second)) }).Task
	tasktest.Create(t, s, created)

	for _, tk := range []task.Task{applied, created} {
		if tk.ExpiresAt == nil {
			t.Fatalf("task %s has no expiresAt after cancel", tk.ID)
		}
		exp := *tk.ExpiresAt
		for _, tc := range []struct {
			now   time.Time
			found bool
		}{
			{exp.Add(-time.Millisecond), true},
			{exp, false},
			{exp.Add(time.Millisecond), false},
			{exp.Add(365 * 24 * time.Hour), false},
			// Still stored: an earlier clock sees it again.
			{exp.Add(-time.Second), true},
		} {
			if tc.found {
				assertSameTask(t, "Get before expiry", tk, mustGet(t, s, tk.ID, tc.now))
			} else {
				assertNotFound(t, s, tk.ID, tc.now)
			}
		}
	}
}

// testCreateResent: a create re-sent after its first try was stored (the answer was lost and
// the caller, or the SDK under it, tried again) is success, keyed or not, and stores nothing
// more: the store recognises its own write by the task's WriteID (see "Writes whose answer
// was lost" in shared/dynamostore's package comment).
func testCreateResent(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	plain := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0))
	tasktest.Create(t, s, plain)
	if err := s.Create(t.Context(), plain, nil); err != nil {
		t.Errorf("re-sent Create(%s) = %v, want success: it is stored already", plain.ID, err)
	}
	keyed := tasktest.New(t, "tenant-a", tasktest.TypeBeta, tasktest.At(time.Second))
	rec := idemFor(keyed, "tenant-a", "key-1", "hash-1")
	createIdem(t, s, keyed, rec)
	if err := s.Create(t.Context(), keyed, rec); err != nil {
		t.Errorf("re-sent Create(%s) with its key = %v, want success: both are stored already", keyed.ID, err)
	}
	now := tasktest.At(time.Minute)
	assertSameTask(t, "after a re-sent Create", plain, mustGet(t, s, plain.ID, now))
	assertSameTask(t, "after a re-sent keyed Create", keyed, mustGet(t, s, keyed.ID, now))
	p, err := s.List(t.Context(), task.ListQuery{Owner: "tenant-a", Limit: 10, Now: now})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(p.Tasks) != 2 {
		t.Errorf("List after re-sent creates = %v, want [%s %s]", ids(p.Tasks), keyed.ID, plain.ID)
	}
	// The key still names the first use.
	other := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(2*time.Second))
	assertIdemExists(t, s, other, idemFor(other, "tenant-a", "key-1", "hash-1"), *rec)
}
