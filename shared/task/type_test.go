package task_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

func asCoded(err error, target **task.CodedError) bool { return errors.As(err, target) }

func noRun(context.Context, task.Attempt) error { return nil }

func threeSteps(json.RawMessage) ([]task.Step, error) {
	return []task.Step{{Name: "Validate", Description: "check"}, {Name: "Allocate"}, {Name: "Configure"}}, nil
}

func testType(name string) task.Type {
	return task.Type{Name: name, Plan: threeSteps, Run: noRun}
}

func TestNewRegistry(t *testing.T) {
	t.Parallel()
	noPlan := testType("no-plan")
	noPlan.Plan = nil
	noRunT := testType("no-run")
	noRunT.Run = nil
	tests := []struct {
		name    string
		types   []task.Type
		wantErr string // substring; "" means accepted
	}{
		{"none", nil, ""},
		{"one", []task.Type{testType("a")}, ""},
		{"several", []task.Type{testType("b"), testType("a"), testType("c")}, ""},
		{"unnamed", []task.Type{testType("a"), {Plan: threeSteps, Run: noRun}}, "no name"},
		{"without Plan", []task.Type{noPlan}, "Plan and Run"},
		{"without Run", []task.Type{noRunT}, "Plan and Run"},
		{"duplicate", []task.Type{testType("a"), testType("b"), testType("a")}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := task.NewRegistry(tt.types...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				if r != nil {
					t.Errorf("registry returned along with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewRegistry: %v", err)
			}
			all := r.All()
			if len(all) != len(tt.types) {
				t.Fatalf("All() has %d types, want %d", len(all), len(tt.types))
			}
			for i := 1; i < len(all); i++ {
				if all[i-1].Name >= all[i].Name {
					t.Errorf("All() not sorted by name: %s before %s", all[i-1].Name, all[i].Name)
				}
			}
			for _, ty := range tt.types {
				got, ok := r.Lookup(ty.Name)
				if !ok || got.Name != ty.Name {
					t.Errorf("Lookup(%q) = %v, %v", ty.Name, got, ok)
				}
			}
			if _, ok := r.Lookup("missing"); ok {
				t.Errorf("Lookup(missing) found a type")
			}
		})
	}
}

func TestRegistryKeepsItsOwnCopies(t *testing.T) {
	t.Parallel()
	types := []task.Type{testType("a"), testType("b")}
	r, err := task.NewRegistry(types...)
	if err != nil {
		t.Fatal(err)
	}
	types[0].Name = "changed"
	types[0].MaxAttempts = 9
	a, ok := r.Lookup("a")
	if !ok || a.Name != "a" || a.MaxAttempts != 0 {
		t.Errorf("registry shares the caller's slice: %+v %v", a, ok)
	}
	b, _ := r.Lookup("b")
	if a == b {
		t.Errorf("two types share one pointer")
	}
}

func TestBudget(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ max, want int }{{0, 3}, {-1, 3}, {1, 1}, {5, 5}} {
		ty := task.Type{MaxAttempts: tt.max}
		if got := ty.Budget(); got != tt.want {
			t.Errorf("Budget() with MaxAttempts %d = %d, want %d", tt.max, got, tt.want)
		}
	}
	if task.DefaultMaxAttempts != 3 {
		t.Errorf("DefaultMaxAttempts = %d, want 3", task.DefaultMaxAttempts)
	}
}

func TestRegistryNew(t *testing.T) {
	t.Parallel()
	budget5 := testType("budget5")
	budget5.MaxAttempts = 5
	refuses := task.Type{Name: "refuses", Run: noRun, Plan: func(json.RawMessage) ([]task.Step, error) {
		return nil, &task.FieldError{Field: "input.size", Reason: "too big"}
	}}
	empty := task.Type{Name: "empty", Run: noRun, Plan: func(json.RawMessage) ([]task.Step, error) { return nil, nil }}
	r, err := task.NewRegistry(testType("demo"), budget5, refuses, empty)
	if err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("UTC+2", 2*3600)
	now := t0.In(zone)

	tests := []struct {
		name          string
		spec          task.Spec
		wantIs        error // sentinel for a refusal
		wantInputErr  string
		wantBudget    int
		wantRetention time.Duration
	}{
		{name: "defaults", spec: task.Spec{Type: "demo"}, wantBudget: 3, wantRetention: task.DefaultRetention},
		{name: "type budget", spec: task.Spec{Type: "budget5"}, wantBudget: 5, wantRetention: task.DefaultRetention},
		{name: "minimum retention", spec: task.Spec{Type: "demo", Retention: task.MinRetention}, wantBudget: 3, wantRetention: task.MinRetention},
		{name: "maximum retention", spec: task.Spec{Type: "demo", Retention: task.MaxRetention}, wantBudget: 3, wantRetention: task.MaxRetention},
		{name: "retention below minimum", spec: task.Spec{Type: "demo", Retention: task.MinRetention - time.Second}, wantIs: task.ErrInvalidInput, wantInputErr: "retentionSeconds"},
		{name: "negative retention", spec: task.Spec{Type: "demo", Retention: -time.Hour}, wantIs: task.ErrInvalidInput, wantInputErr: "retentionSeconds"},
		{name: "retention above maximum", spec: task.Spec{Type: "demo", Retention: task.MaxRetention + time.Second}, wantIs: task.ErrInvalidInput, wantInputErr: "retentionSeconds"},
		{name: "unknown type", spec: task.Spec{Type: "nope"}, wantIs: task.ErrUnknownType},
		{name: "empty type", spec: task.Spec{}, wantIs: task.ErrUnknownType},
		{name: "plan refuses the input", spec: task.Spec{Type: "refuses"}, wantIs: task.ErrInvalidInput, wantInputErr: "input.size"},
		{name: "plan returns no steps", spec: task.Spec{Type: "empty"}, wantIs: task.ErrInvalidInput, wantInputErr: "input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.New("01JDK6Q8W7C2N3X9RT0V5M4B1A", "tenant-a", tt.spec, now)
			if tt.wantIs != nil {
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("err = %v, want errors.Is %v", err, tt.wantIs)
				}
				if tt.wantIs == task.ErrUnknownType && errors.Is(err, task.ErrInvalidInput) {
					t.Errorf("unknown type reported as invalid input")
				}
				if tt.wantInputErr != "" {
					var ie *task.FieldError
					if !errors.As(err, &ie) || ie.Field != tt.wantInputErr || ie.Reason == "" {
						t.Errorf("err = %#v, want *FieldError on %q", err, tt.wantInputErr)
					}
				}
				if !reflect.DeepEqual(got, task.Task{}) {
					t.Errorf("a task returned along with an error: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got.Status != task.Pending || got.Version != 1 || got.Owner != "tenant-a" || got.Type != tt.spec.Type {
				t.Errorf("task = %+v", got)
			}
			if got.WriteID == "" {
				t.Error("New drew no WriteID: a retried Create could not recognise its own write")
			}
			if got.MaxAttempts != tt.wantBudget || got.Retention != tt.wantRetention {
				t.Errorf("maxAttempts %d retention %v, want %d %v", got.MaxAttempts, got.Retention, tt.wantBudget, tt.wantRetention)
			}
			if !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0) || got.CreatedAt.Location() != time.UTC {
				t.Errorf("createdAt %v updatedAt %v, want %v in UTC", got.CreatedAt, got.UpdatedAt, t0)
			}
			if got.StartedAt != nil || got.FinishedAt != nil || got.ExpiresAt != nil || got.RetryCount != 0 || got.Progress != 0 || got.CancelRequested {
				t.Errorf("new task carries run state: %+v", got)
			}
			for _, s := range got.SubTasks {
				if s.Status != task.Pending || s.Attempts != 0 || s.StartedAt != nil {
					t.Errorf("subtask = %+v", s)
				}
			}
			if !got.Cancellable() || got.Retryable() || got.Expired(now.Add(1000*time.Hour)) {
				t.Errorf("new task: Cancellable %v Retryable %v", got.Cancellable(), got.Retryable())
			}
		})
	}
}

func TestRegistryNewPlansSubtasksAndInput(t *testing.T) {
	t.Parallel()
	var seen []json.RawMessage
	record := task.Type{Name: "record", Run: noRun, Plan: func(in json.RawMessage) ([]task.Step, error) {
		seen = append(seen, in)
		return []task.Step{{Name: "A", Description: "first"}, {Name: "B"}}, nil
	}}
	r, err := task.NewRegistry(record)
	if err != nil {
		t.Fatal(err)
	}
	res := []task.Resource{{ResourceID: "h1", Type: "HOST"}}
	tests := []struct {
		name      string
		input     json.RawMessage
		wantInput json.RawMessage
	}{
		{"no input", nil, nil},
		{"empty input", json.RawMessage{}, nil},
		{"null input", json.RawMessage(`null`), nil},
		{"object input", json.RawMessage(`{"size":2}`), json.RawMessage(`{"size":2}`)},
	}
	for _, tt := range tests {
		// Not parallel: Plan records into a shared slice.
		seen = nil
		got, err := r.New("id", "o", task.Spec{Type: "record", Name: "nm", Input: tt.input, Resources: res}, t0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(seen) != 1 || !reflect.DeepEqual(seen[0], tt.wantInput) {
			t.Errorf("%s: Plan given %q, want %q", tt.name, seen, tt.wantInput)
		}
		if !reflect.DeepEqual(got.Input, tt.wantInput) {
			t.Errorf("%s: task input %q, want %q", tt.name, got.Input, tt.wantInput)
		}
		want := []task.SubTask{{Name: "A", Description: "first", Status: task.Pending}, {Name: "B", Status: task.Pending}}
		if !reflect.DeepEqual(got.SubTasks, want) {
			t.Errorf("%s: subtasks = %+v, want %+v", tt.name, got.SubTasks, want)
		}
		if got.Name != "nm" || !reflect.DeepEqual(got.Resources, res) || got.ID != "id" {
			t.Errorf("%s: name %q resources %+v id %q", tt.name, got.Name, got.Resources, got.ID)
		}
	}
}

func TestFieldError(t *testing.T) {
	t.Parallel()
	e := &task.FieldError{Field: "f", Reason: "bad"}
	if e.Error() != "f: bad" || !errors.Is(e, task.ErrInvalidInput) {
		t.Errorf("FieldError = %q, Is ErrInvalidInput %v", e.Error(), errors.Is(e, task.ErrInvalidInput))
	}
	if got := (&task.FieldError{Reason: "bad"}).Error(); got != "bad" {
		t.Errorf("FieldError without field = %q", got)
	}
	if got := (&task.FieldError{In: task.InHeader, Field: "Idempotency-Key", Reason: "bad"}).Error(); got != "Idempotency-Key: bad" {
		t.Errorf("header FieldError = %q", got)
	}
	q := &task.FieldError{In: task.InQuery, Field: "limit", Reason: "bad"}
	if q.Error() != "query parameter limit: bad" || !errors.Is(q, task.ErrInvalidInput) {
		t.Errorf("query FieldError = %q, Is ErrInvalidInput %v", q.Error(), errors.Is(q, task.ErrInvalidInput))
	}
}
