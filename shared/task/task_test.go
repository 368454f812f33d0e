package task_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

func TestStatusPredicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s                       task.Status
		valid, terminal, active bool
	}{
		{task.Pending, true, false, true},
		{task.Processing, true, false, true},
		{task.Success, true, true, false},
		{task.Failure, true, true, false},
		{task.Cancelled, true, true, false},
		{"", false, false, false},
		{"PENDING", false, false, false},
		{"done", false, false, false},
		{"canceled", false, false, false},
		{" success", false, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.s), func(t *testing.T) {
			t.Parallel()
			if got := tt.s.Valid(); got != tt.valid {
				t.Errorf("Valid() = %v, want %v", got, tt.valid)
			}
			if got := tt.s.Terminal(); got != tt.terminal {
				t.Errorf("Terminal() = %v, want %v", got, tt.terminal)
			}
			if got := tt.s.Active(); got != tt.active {
				t.Errorf("Active() = %v, want %v", got, tt.active)
			}
		})
	}
}

func TestStatusesList(t *testing.T) {
	t.Parallel()
	want := []task.Status{"pending", "processing", "success", "failure", "cancelled"}
	if !reflect.DeepEqual(task.Statuses, want) {
		t.Errorf("Statuses = %v, want %v", task.Statuses, want)
	}
	for _, s := range task.Statuses {
		if s.Terminal() == s.Active() {
			t.Errorf("%s: every valid status is exactly one of terminal and active", s)
		}
	}
}

func TestCancellableRetryable(t *testing.T) {
	t.Parallel()
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			in := f.t
			wantC := in.Status == task.Pending || in.Status == task.Processing
			wantR := in.Status == task.Failure
			if got := in.Cancellable(); got != wantC {
				t.Errorf("Cancellable() = %v, want %v", got, wantC)
			}
			if got := in.Retryable(); got != wantR {
				t.Errorf("Retryable() = %v, want %v", got, wantR)
			}
			// The helpers agree with what the transitions do.
			if _, err := in.Cancel(later); (err == nil) != wantC {
				t.Errorf("Cancel err = %v but Cancellable() = %v", err, wantC)
			}
			if _, err := in.Retry(later, true); (err == nil) != wantR {
				t.Errorf("Retry err = %v but Retryable() = %v", err, wantR)
			}
		})
	}
}

func TestExpired(t *testing.T) {
	t.Parallel()
	exp := t0.Add(48 * time.Hour)
	tests := []struct {
		name      string
		expiresAt *time.Time
		now       time.Time
		want      bool
	}{
		{"no expiresAt", nil, t0.Add(1000 * time.Hour), false},
		{"long before", tp(exp), t0, false},
		{"a nanosecond before", tp(exp), exp.Add(-time.Nanosecond), false},
		{"exactly at", tp(exp), exp, true},
		{"exactly at, other zone", tp(exp), exp.In(time.FixedZone("x", -7*3600)), true},
		{"a nanosecond after", tp(exp), exp.Add(time.Nanosecond), true},
		{"long after", tp(exp), exp.Add(24 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := task.Task{ExpiresAt: tt.expiresAt}
			if got := tk.Expired(tt.now); got != tt.want {
				t.Errorf("Expired(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestNextSubTask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		subs []task.Status
		want int
	}{
		{"none", nil, -1},
		{"all pending", []task.Status{P, P}, 0},
		{"first done", []task.Status{S, P}, 1},
		{"running", []task.Status{S, R, P}, 1},
		{"failed", []task.Status{S, F, P}, 1},
		{"cancelled", []task.Status{S, C}, 1},
		{"all done", []task.Status{S, S, S}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := build(task.Processing, false, tt.subs...)
			if got := tk.NextSubTask(); got != tt.want {
				t.Errorf("NextSubTask() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestClone(t *testing.T) {
	t.Parallel()
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			in := f.t
			snap := snapshot(in)
			c := in.Clone()
			if !reflect.DeepEqual(c, snap) {
				t.Errorf("clone differs:\n got %+v\nwant %+v", c, snap)
			}
			checkUntouched(t, in, snap, c)
		})
	}
}

// TestCloneEmptyCauses: stamp() records an error without causes as an empty list. A clone
// (every transition makes one) keeps it empty; it does not keep it non-nil, which is why the
// API view (shared/apigw) turns a nil Causes into [] before it writes "causes".
func TestCloneEmptyCauses(t *testing.T) {
	t.Parallel()
	in := build(task.Processing, false, S, R, P)
	in.Errors = nil
	failed, err := in.Fail(task.Error{ErrorCode: "BOOM", Message: "broke"}, later)
	if err != nil {
		t.Fatal(err)
	}
	if got := failed.Task.Errors[0].Causes; got == nil || len(got) != 0 {
		t.Fatalf("Fail recorded causes %#v, want []string{}", got)
	}
	retried, err := failed.Task.Retry(later.Add(time.Second), true)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]task.Task{"Clone": failed.Task.Clone(), "Retry": retried.Task} {
		if len(got.Errors) != 1 || len(got.Errors[0].Causes) != 0 || got.Errors[0].ErrorCode != "BOOM" {
			t.Errorf("after %s, errors = %#v", name, got.Errors)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("after %s: %v", name, err)
		}
	}
}

func TestRetryableError(t *testing.T) {
	t.Parallel()
	base := &task.CodedError{Code: "QUOTA", Message: "quota exceeded"}
	if task.Retryable(nil) != nil {
		t.Errorf("Retryable(nil) != nil")
	}
	r := task.Retryable(base)
	if !task.IsRetryable(r) || r.Error() != "quota exceeded" {
		t.Errorf("Retryable(err) = %v, IsRetryable %v", r, task.IsRetryable(r))
	}
	var ce *task.CodedError
	if !asCoded(r, &ce) || ce.Code != "QUOTA" {
		t.Errorf("Retryable hides the wrapped error")
	}
	if task.IsRetryable(base) || task.IsRetryable(nil) {
		t.Errorf("IsRetryable true for an unmarked error")
	}
}
