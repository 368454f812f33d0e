package task_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

var (
	S = task.Success
	P = task.Pending
	R = task.Processing
	F = task.Failure
	C = task.Cancelled
)

func TestClaim(t *testing.T) {
	t.Parallel()
	retried := build(task.Pending, false, S, P, P) // a retried task keeps its first startedAt
	retried.StartedAt = tp(t0.Add(time.Minute))
	retried.RetryCount = 1

	tests := []struct {
		name        string
		in          task.Task
		now         time.Time
		wantStarted time.Time
	}{
		{"fresh pending", build(task.Pending, false, P, P, P), later, later},
		{"fresh pending, clock behind", build(task.Pending, false, P, P, P), earlier, stored},
		{"pending after retry keeps startedAt", retried, later, t0.Add(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, err := tt.in.Claim(tt.now)
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			checkChange(t, tt.in, snap, c, tt.now)
			got := c.Task
			if got.Status != task.Processing {
				t.Errorf("status = %s, want processing", got.Status)
			}
			if got.StartedAt == nil || !got.StartedAt.Equal(tt.wantStarted) {
				t.Errorf("startedAt = %s, want %v", fmtTime(got.StartedAt), tt.wantStarted)
			}
			if !reflect.DeepEqual(subStatuses(got), subStatuses(snap)) {
				t.Errorf("subtasks changed: %v", subStatuses(got))
			}
			if got.FinishedAt != nil || got.ExpiresAt != nil || got.CancelRequested {
				t.Errorf("claim set finishedAt/expiresAt/cancelRequested")
			}
		})
	}

	// A duplicate claim message loses.
	c, err := build(task.Pending, false, P).Claim(later)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Task.Claim(later.Add(time.Second))
	if !errors.Is(err, task.ErrInvalidTransition) {
		t.Errorf("second claim: err = %v, want ErrInvalidTransition", err)
	}
}

func TestStartAttempt(t *testing.T) {
	t.Parallel()
	withAttempts := func(in task.Task, i, attempts int) task.Task {
		in.SubTasks[i].Attempts = attempts
		if attempts > 0 && in.SubTasks[i].StartedAt == nil {
			in.SubTasks[i].StartedAt = tp(t0.Add(4 * time.Minute))
		}
		return in
	}
	withMax := func(in task.Task, max int) task.Task { in.MaxAttempts = max; return in }

	tests := []struct {
		name         string
		in           task.Task
		wantIndex    int
		wantErr      error // nil: accepted
		wantAttempts int
		wantStarted  time.Time // the subtask's startedAt after the change
	}{
		{"first subtask after claim", build(R, false, P, P, P), 0, nil, 1, later},
		{"next subtask after one succeeded", build(R, false, S, P, P), 1, nil, 1, later},
		{"again after a retryable failure keeps first startedAt", withAttempts(build(R, false, S, P, P), 1, 1), 1, nil, 2, t0.Add(4 * time.Minute)},
		{"again after a worker died mid-step", build(R, false, S, R, P), 1, nil, 2, t0.Add(4 * time.Minute)},
		{"last attempt of the budget", withAttempts(build(R, false, S, P, P), 1, 2), 1, nil, 3, t0.Add(4 * time.Minute)},
		{"last subtask", build(R, false, S, S, P), 2, nil, 1, later},
		{"budget spent", withAttempts(build(R, false, S, P, P), 1, 3), 1, task.ErrAttemptsSpent, 0, time.Time{}},
		{"budget overspent", withAttempts(build(R, false, S, R, P), 1, 4), 1, task.ErrAttemptsSpent, 0, time.Time{}},
		{"budget of one spent", withMax(withAttempts(build(R, false, P, P), 0, 1), 1), 0, task.ErrAttemptsSpent, 0, time.Time{}},
		{"cancel requested", build(R, true, S, P, P), -1, task.ErrInvalidTransition, 0, time.Time{}},
		{"cancel requested wins over a spent budget", withAttempts(build(R, true, S, P, P), 1, 3), -1, task.ErrInvalidTransition, 0, time.Time{}},
		{"every subtask succeeded", build(R, false, S, S, S), -1, task.ErrInvalidTransition, 0, time.Time{}},
		{"pending", build(P, false, P, P, P), -1, task.ErrInvalidTransition, 0, time.Time{}},
		{"success", build(S, false, S, S, S), -1, task.ErrInvalidTransition, 0, time.Time{}},
		{"failure", build(F, false, S, F, P), -1, task.ErrInvalidTransition, 0, time.Time{}},
		{"cancelled", build(C, false, S, C, C), -1, task.ErrInvalidTransition, 0, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, i, err := tt.in.StartAttempt(later)
			if i != tt.wantIndex {
				t.Errorf("index = %d, want %d", i, tt.wantIndex)
			}
			if tt.wantErr != nil {
				checkRefused(t, tt.in, snap, c, err, tt.wantErr)
				if tt.wantErr == task.ErrAttemptsSpent && errors.Is(err, task.ErrInvalidTransition) {
					t.Errorf("a spent budget must be told apart from an invalid transition")
				}
				return
			}
			if err != nil {
				t.Fatalf("StartAttempt: %v", err)
			}
			checkChange(t, tt.in, snap, c, later)
			s := c.Task.SubTasks[i]
			if s.Status != task.Processing || s.Attempts != tt.wantAttempts {
				t.Errorf("subtask %d = %s, %d attempts; want processing, %d", i, s.Status, s.Attempts, tt.wantAttempts)
			}
			if s.StartedAt == nil || !s.StartedAt.Equal(tt.wantStarted) {
				t.Errorf("subtask startedAt = %s, want %v", fmtTime(s.StartedAt), tt.wantStarted)
			}
			if s.FinishedAt != nil {
				t.Errorf("subtask finishedAt set")
			}
			for j := range c.Task.SubTasks {
				if j != i && !reflect.DeepEqual(c.Task.SubTasks[j], snap.SubTasks[j]) {
					t.Errorf("subtask %d changed: %+v", j, c.Task.SubTasks[j])
				}
			}
			if c.Task.Status != task.Processing || c.Task.Progress != snap.Progress {
				t.Errorf("task = %s progress %d, want processing progress %d", c.Task.Status, c.Task.Progress, snap.Progress)
			}
		})
	}
}

func TestFinishSubTask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		in           task.Task
		i            int
		wantErr      error
		wantProgress int
	}{
		{"first of three", build(R, false, R, P, P), 0, nil, 33},
		{"second of three", build(R, false, S, R, P), 1, nil, 66},
		{"last of three", build(R, false, S, S, R), 2, nil, 100},
		{"only one", build(R, false, R), 0, nil, 100},
		{"with a cancel requested, the running subtask may finish", build(R, true, S, R, P), 1, nil, 66},
		{"duplicate: already succeeded", build(R, false, S, R, P), 0, task.ErrInvalidTransition, 0},
		{"duplicate: not started (back to pending)", build(R, false, S, P, P), 1, task.ErrInvalidTransition, 0},
		{"a later subtask not started", build(R, false, S, R, P), 2, task.ErrInvalidTransition, 0},
		{"index below range", build(R, false, R, P), -1, task.ErrInvalidTransition, 0},
		{"index above range", build(R, false, S, R), 2, task.ErrInvalidTransition, 0},
		{"pending task", build(P, false, P, P), 0, task.ErrInvalidTransition, 0},
		{"success task", build(S, false, S, S), 1, task.ErrInvalidTransition, 0},
		{"failure task", build(F, false, S, F), 1, task.ErrInvalidTransition, 0},
		{"cancelled task", build(C, false, S, C), 1, task.ErrInvalidTransition, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, err := tt.in.FinishSubTask(tt.i, later)
			if tt.wantErr != nil {
				checkRefused(t, tt.in, snap, c, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("FinishSubTask: %v", err)
			}
			checkChange(t, tt.in, snap, c, later)
			s := c.Task.SubTasks[tt.i]
			if s.Status != task.Success || s.FinishedAt == nil || !s.FinishedAt.Equal(later) {
				t.Errorf("subtask = %s finished %s, want success at %v", s.Status, fmtTime(s.FinishedAt), later)
			}
			if s.Attempts != snap.SubTasks[tt.i].Attempts || !timeEq(s.StartedAt, snap.SubTasks[tt.i].StartedAt) {
				t.Errorf("attempts/startedAt changed: %d %s", s.Attempts, fmtTime(s.StartedAt))
			}
			if c.Task.Progress != tt.wantProgress {
				t.Errorf("progress = %d, want %d", c.Task.Progress, tt.wantProgress)
			}
			if c.Task.Status != task.Processing || c.Task.CancelRequested != snap.CancelRequested {
				t.Errorf("task = %s cancelRequested %v", c.Task.Status, c.Task.CancelRequested)
			}
			// The same message delivered twice counts once.
			if _, err := c.Task.FinishSubTask(tt.i, later.Add(time.Second)); !errors.Is(err, task.ErrInvalidTransition) {
				t.Errorf("duplicate finish: err = %v, want ErrInvalidTransition", err)
			}
		})
	}
}

func TestRetryAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          task.Task
		i           int
		e           task.Error
		wantErr     error
		wantSubTask string
		wantCauses  []string
	}{
		{"no subtask named, no causes", build(R, false, S, R, P), 1, task.Error{ErrorCode: "FLAKY", Message: "try again"}, nil, "step-1", []string{}},
		{"an ERROR type is recorded as a WARNING", build(R, false, R, P), 0, task.Error{ErrorCode: "FLAKY", ErrorType: task.ErrorTypeError, Message: "x", Causes: []string{"a", "b"}}, nil, "step-0", []string{"a", "b"}},
		{"the caller's subtask name is kept", build(R, false, R, P), 0, task.Error{ErrorCode: "FLAKY", Message: "x", SubTask: "custom"}, nil, "custom", []string{}},
		{"with a cancel requested", build(R, true, S, R, P), 1, task.Error{ErrorCode: "FLAKY"}, nil, "step-1", []string{}},
		{"subtask already succeeded", build(R, false, S, R, P), 0, task.Error{}, task.ErrInvalidTransition, "", nil},
		{"subtask not being attempted", build(R, false, S, P, P), 1, task.Error{}, task.ErrInvalidTransition, "", nil},
		{"index out of range", build(R, false, S, R), 5, task.Error{}, task.ErrInvalidTransition, "", nil},
		{"negative index", build(R, false, R), -1, task.Error{}, task.ErrInvalidTransition, "", nil},
		{"pending task", build(P, false, P), 0, task.Error{}, task.ErrInvalidTransition, "", nil},
		{"success task", build(S, false, S), 0, task.Error{}, task.ErrInvalidTransition, "", nil},
		{"failure task", build(F, false, S, F), 1, task.Error{}, task.ErrInvalidTransition, "", nil},
		{"cancelled task", build(C, false, S, C), 1, task.Error{}, task.ErrInvalidTransition, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, err := tt.in.RetryAttempt(tt.i, tt.e, later)
			if tt.wantErr != nil {
				checkRefused(t, tt.in, snap, c, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("RetryAttempt: %v", err)
			}
			checkChange(t, tt.in, snap, c, later)
			s, was := c.Task.SubTasks[tt.i], snap.SubTasks[tt.i]
			if s.Status != task.Pending || s.Attempts != was.Attempts || !timeEq(s.StartedAt, was.StartedAt) || s.FinishedAt != nil {
				t.Errorf("subtask = %+v, want pending with attempts and startedAt kept", s)
			}
			if c.Task.Status != task.Processing || c.Task.Progress != snap.Progress || c.Task.CancelRequested != snap.CancelRequested {
				t.Errorf("task = %s progress %d cancelRequested %v", c.Task.Status, c.Task.Progress, c.Task.CancelRequested)
			}
			if c.Task.Message != snap.Message {
				t.Errorf("message = %q, want unchanged %q", c.Task.Message, snap.Message)
			}
			if n := len(c.Task.Errors); n != len(snap.Errors)+1 || !sameErrors(c.Task.Errors[:n-1], snap.Errors) {
				t.Fatalf("errors = %+v, want the history plus one", c.Task.Errors)
			}
			got := c.Task.Errors[len(c.Task.Errors)-1]
			if got.ErrorType != task.ErrorTypeWarning || got.ErrorCode != tt.e.ErrorCode || got.Message != tt.e.Message ||
				got.SubTask != tt.wantSubTask || !got.At.Equal(later) {
				t.Errorf("warning = %+v", got)
			}
			if got.Causes == nil || !reflect.DeepEqual(got.Causes, tt.wantCauses) {
				t.Errorf("causes = %#v, want %#v", got.Causes, tt.wantCauses)
			}
		})
	}
}

func TestFail(t *testing.T) {
	t.Parallel()
	zeroRetention := func(in task.Task) task.Task { in.Retention = 0; return in }
	retryWait := build(R, false, S, P, P)
	retryWait.SubTasks[1].Attempts = 2
	retryWait.SubTasks[1].StartedAt = tp(t0.Add(4 * time.Minute))

	tests := []struct {
		name          string
		in            task.Task
		e             task.Error
		wantErr       error
		wantSubs      []task.Status
		wantFailed    int // index of the subtask that failed, -1 for none
		wantSubTask   string
		wantProgress  int
		wantRetention time.Duration
	}{
		{"pending (dead letter)", build(P, false, P, P, P), task.Error{ErrorCode: "UNDELIVERABLE", Message: "no worker"}, nil, []task.Status{F, P, P}, 0, "step-0", 0, fixtureRetention},
		{"just claimed", build(R, false, P, P, P), task.Error{ErrorCode: "BOOM", Message: "m"}, nil, []task.Status{F, P, P}, 0, "step-0", 0, fixtureRetention},
		{"running subtask", build(R, false, S, R, P), task.Error{ErrorCode: "BOOM", Message: "m", Causes: []string{"c"}}, nil, []task.Status{S, F, P}, 1, "step-1", 33, fixtureRetention},
		{"waiting to retry (budget spent)", retryWait, task.Error{ErrorCode: "SPENT", Message: "m"}, nil, []task.Status{S, F, P}, 1, "step-1", 33, fixtureRetention},
		{"last subtask", build(R, false, S, S, R), task.Error{ErrorCode: "BOOM", Message: "m"}, nil, []task.Status{S, S, F}, 2, "step-2", 66, fixtureRetention},
		{"caller names the subtask", build(R, false, R, P), task.Error{ErrorCode: "BOOM", Message: "m", SubTask: "mine"}, nil, []task.Status{F, P}, 0, "mine", 0, fixtureRetention},
		{"every subtask succeeded (result failed)", build(R, false, S, S), task.Error{ErrorCode: "RESULT", Message: "m"}, nil, []task.Status{S, S}, -1, "", 100, fixtureRetention},
		{"default retention", zeroRetention(build(R, false, S, R)), task.Error{ErrorCode: "BOOM", Message: "m"}, nil, []task.Status{S, F}, 1, "step-1", 50, task.DefaultRetention},
		{"success", build(S, false, S, S), task.Error{}, task.ErrInvalidTransition, nil, 0, "", 0, 0},
		{"failure", build(F, false, S, F), task.Error{}, task.ErrInvalidTransition, nil, 0, "", 0, 0},
		{"cancelled", build(C, false, S, C), task.Error{}, task.ErrInvalidTransition, nil, 0, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, err := tt.in.Fail(tt.e, later)
			if tt.wantErr != nil {
				checkRefused(t, tt.in, snap, c, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Fail: %v", err)
			}
			checkChange(t, tt.in, snap, c, later)
			got := c.Task
			if got.Status != task.Failure || got.CancelRequested || got.Message != tt.e.Message {
				t.Errorf("task = %s cancelRequested %v message %q", got.Status, got.CancelRequested, got.Message)
			}
			if !reflect.DeepEqual(subStatuses(got), tt.wantSubs) {
				t.Errorf("subtasks = %v, want %v", subStatuses(got), tt.wantSubs)
			}
			if tt.wantFailed >= 0 {
				s := got.SubTasks[tt.wantFailed]
				if s.FinishedAt == nil || !s.FinishedAt.Equal(later) || s.Attempts != snap.SubTasks[tt.wantFailed].Attempts {
					t.Errorf("failed subtask = %+v", s)
				}
			}
			for i := tt.wantFailed + 1; tt.wantFailed >= 0 && i < len(got.SubTasks); i++ {
				if !reflect.DeepEqual(got.SubTasks[i], snap.SubTasks[i]) {
					t.Errorf("subtask %d after the failed one changed: %+v", i, got.SubTasks[i])
				}
			}
			if got.Progress != tt.wantProgress {
				t.Errorf("progress = %d, want %d", got.Progress, tt.wantProgress)
			}
			if got.FinishedAt == nil || !got.FinishedAt.Equal(later) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(later.Add(tt.wantRetention)) {
				t.Errorf("finishedAt %s expiresAt %s, want %v and +%v", fmtTime(got.FinishedAt), fmtTime(got.ExpiresAt), later, tt.wantRetention)
			}
			if n := len(got.Errors); n != len(snap.Errors)+1 || !sameErrors(got.Errors[:n-1], snap.Errors) {
				t.Fatalf("errors = %+v, want the history plus one", got.Errors)
			}
			e := got.Errors[len(got.Errors)-1]
			if e.ErrorType != task.ErrorTypeError || e.ErrorCode != tt.e.ErrorCode || e.SubTask != tt.wantSubTask || !e.At.Equal(later) || e.Causes == nil {
				t.Errorf("error = %+v", e)
			}
			if !got.Retryable() || got.Cancellable() {
				t.Errorf("failure: Retryable %v Cancellable %v", got.Retryable(), got.Cancellable())
			}
		})
	}
}

func TestSucceed(t *testing.T) {
	t.Parallel()
	zeroRetention := func(in task.Task) task.Task { in.Retention = 0; return in }
	withMessage := func(in task.Task) task.Task { in.Message = "almost there"; return in }
	tests := []struct {
		name          string
		in            task.Task
		result        json.RawMessage
		url           string
		wantErr       error
		wantRetention time.Duration
	}{
		{"every subtask succeeded", build(R, false, S, S, S), json.RawMessage(`{"host":"web-01"}`), "", nil, fixtureRetention},
		{"with an executor URL", build(R, false, S), json.RawMessage(`{}`), "https://example.test/hosts/1", nil, fixtureRetention},
		{"no result document", build(R, false, S), nil, "", nil, fixtureRetention},
		{"cancel requested during the last subtask", build(R, true, S, S), json.RawMessage(`1`), "", nil, fixtureRetention},
		{"message cleared", withMessage(build(R, false, S)), json.RawMessage(`1`), "", nil, fixtureRetention},
		{"default retention", zeroRetention(build(R, false, S, S)), json.RawMessage(`1`), "", nil, task.DefaultRetention},
		{"a subtask still running", build(R, false, S, S, R), nil, "", task.ErrInvalidTransition, 0},
		{"a subtask not started", build(R, false, S, S, P), nil, "", task.ErrInvalidTransition, 0},
		{"a subtask not started, earlier one done", build(R, false, S, P, P), nil, "", task.ErrInvalidTransition, 0},
		{"pending", build(P, false, P), nil, "", task.ErrInvalidTransition, 0},
		{"already succeeded", build(S, false, S, S), nil, "", task.ErrInvalidTransition, 0},
		{"failure", build(F, false, S, F), nil, "", task.ErrInvalidTransition, 0},
		{"cancelled", build(C, false, S, C), nil, "", task.ErrInvalidTransition, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, err := tt.in.Succeed(tt.result, tt.url, later)
			if tt.wantErr != nil {
				checkRefused(t, tt.in, snap, c, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Succeed: %v", err)
			}
			got := c.Task
			if got.Status != task.Success || got.Progress != 100 || got.CancelRequested || got.Message != "" {
				t.Errorf("task = %s progress %d cancelRequested %v message %q", got.Status, got.Progress, got.CancelRequested, got.Message)
			}
			if string(got.Result) != string(tt.result) || got.ResultURL != tt.url {
				t.Errorf("result = %s url %q, want %s %q", got.Result, got.ResultURL, tt.result, tt.url)
			}
			if !reflect.DeepEqual(got.SubTasks, snap.SubTasks) || !sameErrors(got.Errors, snap.Errors) {
				t.Errorf("subtasks or errors changed")
			}
			if got.FinishedAt == nil || !got.FinishedAt.Equal(later) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(later.Add(tt.wantRetention)) {
				t.Errorf("finishedAt %s expiresAt %s, want %v and +%v", fmtTime(got.FinishedAt), fmtTime(got.ExpiresAt), later, tt.wantRetention)
			}
			if got.Cancellable() || got.Retryable() {
				t.Errorf("success: Cancellable %v Retryable %v", got.Cancellable(), got.Retryable())
			}
			checkChange(t, tt.in, snap, c, later)
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	const cancelMsg = "cancelled at the client's request"
	zeroRetention := func(in task.Task) task.Task { in.Retention = 0; return in }
	retryWait := build(R, false, S, P, P)
	retryWait.SubTasks[1].Attempts = 1
	retryWait.SubTasks[1].StartedAt = tp(t0.Add(4 * time.Minute))

	type want struct {
		status          task.Status
		cancelRequested bool
		subs            []task.Status
		progress        int
		retention       time.Duration // of a terminal result
	}
	tests := []struct {
		name    string
		in      task.Task
		wantErr error
		empty   bool // accepted, changes nothing
		want    want
	}{
		{name: "pending: cancelled at once", in: build(P, false, P, P, P),
			want: want{C, false, []task.Status{C, C, C}, 0, fixtureRetention}},
		{name: "pending after a retry keeps succeeded subtasks", in: build(P, false, S, P, P),
			want: want{C, false, []task.Status{S, C, C}, 33, fixtureRetention}},
		{name: "pending, default retention", in: zeroRetention(build(P, false, P)),
			want: want{C, false, []task.Status{C}, 0, task.DefaultRetention}},
		{name: "processing, just claimed: cancelled at once", in: build(R, false, P, P, P),
			want: want{C, true, []task.Status{C, C, C}, 0, fixtureRetention}},
		{name: "processing between subtasks: cancelled at once", in: build(R, false, S, P, P),
			want: want{C, true, []task.Status{S, C, C}, 33, fixtureRetention}},
		{name: "processing, waiting to retry an attempt: cancelled at once", in: retryWait,
			want: want{C, true, []task.Status{S, C, C}, 33, fixtureRetention}},
		{name: "processing, all subtasks done: cancelled at once", in: build(R, false, S, S),
			want: want{C, true, []task.Status{S, S}, 100, fixtureRetention}},
		{name: "processing with a running subtask: cancel requested only", in: build(R, false, S, R, P),
			want: want{R, true, []task.Status{S, R, P}, 33, 0}},
		{name: "again while requested and running", in: build(R, true, S, R, P), empty: true},
		{name: "again while requested, between subtasks: cancelled at once", in: build(R, true, S, P, P),
			want: want{C, true, []task.Status{S, C, C}, 33, fixtureRetention}},
		{name: "success", in: build(S, false, S, S), wantErr: task.ErrNotCancellable},
		{name: "failure", in: build(F, false, S, F), wantErr: task.ErrNotCancellable},
		{name: "cancelled", in: build(C, false, S, C), wantErr: task.ErrNotCancellable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, err := tt.in.Cancel(later)
			if tt.wantErr != nil {
				checkRefused(t, tt.in, snap, c, err, tt.wantErr)
				if errors.Is(err, task.ErrInvalidTransition) {
					t.Errorf("a client's cancel must not be an invalid transition: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			if tt.empty {
				if !c.Empty() || c.FromStatus != tt.in.Status || c.FromVersion != tt.in.Version {
					t.Errorf("change = %+v, want empty from %s@%d", c, tt.in.Status, tt.in.Version)
				}
				if !reflect.DeepEqual(c.Task, snap) {
					t.Errorf("empty change's task differs from the input:\n got %+v\nwant %+v", c.Task, snap)
				}
				checkUntouched(t, tt.in, snap, c.Task)
				return
			}
			checkChange(t, tt.in, snap, c, later)
			got := c.Task
			if got.Status != tt.want.status || got.CancelRequested != tt.want.cancelRequested {
				t.Errorf("task = %s cancelRequested %v, want %s %v", got.Status, got.CancelRequested, tt.want.status, tt.want.cancelRequested)
			}
			if !reflect.DeepEqual(subStatuses(got), tt.want.subs) {
				t.Errorf("subtasks = %v, want %v", subStatuses(got), tt.want.subs)
			}
			if got.Progress != tt.want.progress {
				t.Errorf("progress = %d, want %d", got.Progress, tt.want.progress)
			}
			if tt.want.status == task.Cancelled {
				if got.FinishedAt == nil || !got.FinishedAt.Equal(later) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(later.Add(tt.want.retention)) {
					t.Errorf("finishedAt %s expiresAt %s, want %v and +%v", fmtTime(got.FinishedAt), fmtTime(got.ExpiresAt), later, tt.want.retention)
				}
				if got.Message != cancelMsg {
					t.Errorf("message = %q", got.Message)
				}
				if got.Cancellable() || got.Retryable() {
					t.Errorf("cancelled: Cancellable %v Retryable %v", got.Cancellable(), got.Retryable())
				}
			} else {
				if got.FinishedAt != nil || got.ExpiresAt != nil || got.Message != snap.Message {
					t.Errorf("requested cancel ended the task: %+v", got)
				}
				if !reflect.DeepEqual(got.SubTasks, snap.SubTasks) {
					t.Errorf("requested cancel changed subtasks")
				}
				if !got.Cancellable() {
					t.Errorf("a task with a cancel requested must still be cancellable")
				}
				// Asking again is accepted and changes nothing.
				again, err := got.Cancel(later.Add(time.Second))
				if err != nil || !again.Empty() || again.FromVersion != got.Version {
					t.Errorf("second cancel: %+v, %v; want an empty change", again, err)
				}
			}
		})
	}

	// A message already set (e.g. by the executor) is kept.
	in := build(P, false, P)
	in.Message = "waiting for capacity"
	c, err := in.Cancel(later)
	if err != nil || c.Task.Message != "waiting for capacity" {
		t.Errorf("cancel message = %q, %v; want the existing message kept", c.Task.Message, err)
	}
}

func TestConfirmCancel(t *testing.T) {
	t.Parallel()
	zeroRetention := func(in task.Task) task.Task { in.Retention = 0; return in }
	tests := []struct {
		name          string
		in            task.Task
		wantErr       error
		wantSubs      []task.Status
		wantProgress  int
		wantRetention time.Duration
	}{
		{"between subtasks", build(R, true, S, P, P), nil, []task.Status{S, C, C}, 33, fixtureRetention},
		{"before the first", build(R, true, P, P), nil, []task.Status{C, C}, 0, fixtureRetention},
		{"default retention", zeroRetention(build(R, true, S, P)), nil, []task.Status{S, C}, 50, task.DefaultRetention},
		{"attempt left processing by a dead worker", build(R, true, S, R, P), nil, []task.Status{S, C, C}, 33, fixtureRetention},
		{"dead worker on the first subtask", build(R, true, R, P), nil, []task.Status{C, C}, 0, fixtureRetention},
		{"no cancel requested", build(R, false, S, P, P), task.ErrInvalidTransition, nil, 0, 0},
		{"pending", build(P, false, P), task.ErrInvalidTransition, nil, 0, 0},
		{"success", build(S, false, S), task.ErrInvalidTransition, nil, 0, 0},
		{"failure", build(F, false, S, F), task.ErrInvalidTransition, nil, 0, 0},
		{"cancelled", build(C, false, S, C), task.ErrInvalidTransition, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, err := tt.in.ConfirmCancel(later)
			if tt.wantErr != nil {
				checkRefused(t, tt.in, snap, c, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("ConfirmCancel: %v", err)
			}
			checkChange(t, tt.in, snap, c, later)
			got := c.Task
			if got.Status != task.Cancelled || !reflect.DeepEqual(subStatuses(got), tt.wantSubs) || got.Progress != tt.wantProgress {
				t.Errorf("task = %s %v progress %d, want cancelled %v %d", got.Status, subStatuses(got), got.Progress, tt.wantSubs, tt.wantProgress)
			}
			if got.FinishedAt == nil || !got.FinishedAt.Equal(later) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(later.Add(tt.wantRetention)) {
				t.Errorf("finishedAt %s expiresAt %s", fmtTime(got.FinishedAt), fmtTime(got.ExpiresAt))
			}
			if got.Message == "" {
				t.Errorf("no message")
			}
			for i, s := range got.SubTasks {
				was := snap.SubTasks[i]
				if s.Attempts != was.Attempts || !timeEq(s.StartedAt, was.StartedAt) {
					t.Errorf("subtask %d attempts/startedAt changed: %+v", i, s)
				}
				switch was.Status {
				case task.Processing: // the dead worker's attempt ends now
					if s.FinishedAt == nil || !s.FinishedAt.Equal(later) {
						t.Errorf("subtask %d was processing: finishedAt %s, want %v", i, fmtTime(s.FinishedAt), later)
					}
				case task.Pending: // never started: cancelled without a finishedAt
					if s.FinishedAt != nil {
						t.Errorf("subtask %d never started but has finishedAt %v", i, *s.FinishedAt)
					}
				default:
					if !timeEq(s.FinishedAt, was.FinishedAt) {
						t.Errorf("subtask %d finishedAt changed", i)
					}
				}
			}
		})
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	failedFirst := build(F, false, F, P, P)
	failedFirst.Errors[len(failedFirst.Errors)-1].SubTask = "step-0"
	twice := build(F, false, S, S, F)
	twice.RetryCount = 1
	fullBudget := build(F, false, S, F)
	fullBudget.CancelRequested = true // defensive: a retried run starts without a cancel
	fullBudget.Result = json.RawMessage(`{"partial":true}`)

	tests := []struct {
		name         string
		in           task.Task
		allowed      bool
		wantErr      error
		wantSubs     []task.Status
		wantKept     int // subtasks [0, wantKept) are kept as they were
		wantProgress int
	}{
		{"failed in the middle", build(F, false, S, F, P), true, nil, []task.Status{S, P, P}, 1, 33},
		{"failed at the first", failedFirst, true, nil, []task.Status{P, P, P}, 0, 0},
		{"failed at the last, second retry", twice, true, nil, []task.Status{S, S, P}, 2, 66},
		{"clears cancelRequested and result", fullBudget, true, nil, []task.Status{S, P}, 1, 50},
		{"type does not allow retry", build(F, false, S, F, P), false, task.ErrNotRetryable, nil, 0, 0},
		{"pending", build(P, false, P), true, task.ErrNotRetryable, nil, 0, 0},
		{"processing", build(R, false, S, R), true, task.ErrNotRetryable, nil, 0, 0},
		{"success", build(S, false, S), true, task.ErrNotRetryable, nil, 0, 0},
		{"cancelled", build(C, false, S, C), true, task.ErrNotRetryable, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(tt.in)
			c, err := tt.in.Retry(later, tt.allowed)
			if tt.wantErr != nil {
				checkRefused(t, tt.in, snap, c, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Retry: %v", err)
			}
			checkChange(t, tt.in, snap, c, later)
			got := c.Task
			if got.Status != task.Pending || got.RetryCount != snap.RetryCount+1 {
				t.Errorf("task = %s retryCount %d, want pending %d", got.Status, got.RetryCount, snap.RetryCount+1)
			}
			if got.FinishedAt != nil || got.ExpiresAt != nil {
				t.Errorf("finishedAt %s expiresAt %s, want both cleared", fmtTime(got.FinishedAt), fmtTime(got.ExpiresAt))
			}
			if got.Message != "" || got.Result != nil || got.CancelRequested {
				t.Errorf("message %q result %s cancelRequested %v, want all cleared", got.Message, got.Result, got.CancelRequested)
			}
			if !timeEq(got.StartedAt, snap.StartedAt) {
				t.Errorf("startedAt = %s, want kept %s", fmtTime(got.StartedAt), fmtTime(snap.StartedAt))
			}
			if !reflect.DeepEqual(subStatuses(got), tt.wantSubs) {
				t.Errorf("subtasks = %v, want %v", subStatuses(got), tt.wantSubs)
			}
			for i, s := range got.SubTasks {
				if i < tt.wantKept {
					if !reflect.DeepEqual(s, snap.SubTasks[i]) {
						t.Errorf("succeeded subtask %d changed: %+v, was %+v", i, s, snap.SubTasks[i])
					}
					continue
				}
				want := task.SubTask{Name: snap.SubTasks[i].Name, Description: snap.SubTasks[i].Description, Status: task.Pending}
				if !reflect.DeepEqual(s, want) {
					t.Errorf("subtask %d = %+v, want reset %+v", i, s, want)
				}
			}
			if got.Progress != tt.wantProgress {
				t.Errorf("progress = %d, want %d", got.Progress, tt.wantProgress)
			}
			if !sameErrors(got.Errors, snap.Errors) {
				t.Errorf("errors = %+v, want the history kept %+v", got.Errors, snap.Errors)
			}
			if got.Retryable() || !got.Cancellable() {
				t.Errorf("retried: Retryable %v Cancellable %v", got.Retryable(), got.Cancellable())
			}
			// A second retry of the same failure (a duplicate request) is refused.
			if _, err := got.Retry(later, true); !errors.Is(err, task.ErrNotRetryable) {
				t.Errorf("retry of the retried task: err = %v, want ErrNotRetryable", err)
			}
		})
	}
}

func TestChangeEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    task.Change
		want bool
	}{
		{"zero", task.Change{}, true},
		{"same version", task.Change{Task: task.Task{Version: 3}, FromVersion: 3}, true},
		{"next version", task.Change{Task: task.Task{Version: 4}, FromVersion: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.c.Empty(); got != tt.want {
				t.Errorf("Empty() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestExpiresAtRetention: expiresAt = finishedAt + the task's retention, 48 h when none is
// stored, for every transition that ends a run.
func TestExpiresAtRetention(t *testing.T) {
	t.Parallel()
	ends := []struct {
		name string
		in   task.Task
		do   func(task.Task, time.Time) (task.Change, error)
	}{
		{"Fail", build(R, false, S, R), func(in task.Task, now time.Time) (task.Change, error) {
			return in.Fail(task.Error{ErrorCode: "X"}, now)
		}},
		{"Succeed", build(R, false, S, S), func(in task.Task, now time.Time) (task.Change, error) { return in.Succeed(nil, "", now) }},
		{"Cancel", build(P, false, P, P), func(in task.Task, now time.Time) (task.Change, error) { return in.Cancel(now) }},
		{"ConfirmCancel", build(R, true, S, P), func(in task.Task, now time.Time) (task.Change, error) { return in.ConfirmCancel(now) }},
	}
	retentions := []struct {
		stored, want time.Duration
	}{
		{0, 48 * time.Hour},
		{-time.Second, 48 * time.Hour},
		{task.MinRetention, task.MinRetention},
		{task.MaxRetention, task.MaxRetention},
		{90 * time.Minute, 90 * time.Minute},
	}
	for _, e := range ends {
		for _, r := range retentions {
			t.Run(e.name+"/"+r.stored.String(), func(t *testing.T) {
				t.Parallel()
				in := e.in
				in.Retention = r.stored
				c, err := e.do(in, later)
				if err != nil {
					t.Fatal(err)
				}
				if c.Task.FinishedAt == nil || c.Task.ExpiresAt == nil || !c.Task.ExpiresAt.Equal(c.Task.FinishedAt.Add(r.want)) {
					t.Errorf("expiresAt = %s, finishedAt = %s, want +%v", fmtTime(c.Task.ExpiresAt), fmtTime(c.Task.FinishedAt), r.want)
				}
				if c.Task.Retention != r.stored {
					t.Errorf("retention rewritten to %v", c.Task.Retention)
				}
				// Expired exactly at expiresAt, not a moment before.
				if c.Task.Expired(c.Task.ExpiresAt.Add(-time.Millisecond)) || !c.Task.Expired(*c.Task.ExpiresAt) {
					t.Errorf("Expired boundary wrong around %v", *c.Task.ExpiresAt)
				}
			})
		}
	}
}

// TestFailWithCancelRequested: a subtask that fails after a cancel was accepted ends the
// task cancelled, as the client was told, with the failure kept in its errors and every
// subtask not started cancelled.
func TestFailWithCancelRequested(t *testing.T) {
	t.Parallel()
	in := build(R, true, S, R, P)
	snap := snapshot(in)
	c, err := in.Fail(task.Error{ErrorCode: "BOOM", Message: "m"}, later)
	if err != nil {
		t.Fatalf("Fail: %v", err)
	}
	checkChange(t, in, snap, c, later)
	got := c.Task
	if got.Status != task.Cancelled || got.Message != "cancelled at the client's request; meanwhile: m" {
		t.Errorf("task = %s message %q", got.Status, got.Message)
	}
	if want := []task.Status{S, F, C}; !reflect.DeepEqual(subStatuses(got), want) {
		t.Errorf("subtasks = %v, want %v", subStatuses(got), want)
	}
	if e := got.Errors[len(got.Errors)-1]; e.ErrorCode != "BOOM" || e.ErrorType != task.ErrorTypeError || e.SubTask != "step-1" {
		t.Errorf("error = %+v", e)
	}
	if got.FinishedAt == nil || got.ExpiresAt == nil || got.Retryable() || got.Cancellable() {
		t.Errorf("cancelled task: finishedAt %v expiresAt %v retryable %v cancellable %v", got.FinishedAt, got.ExpiresAt, got.Retryable(), got.Cancellable())
	}
}

// TestErrorHistoryIsBounded: the error history keeps the newest MaxErrors entries.
func TestErrorHistoryIsBounded(t *testing.T) {
	t.Parallel()
	cur := build(R, false, R, P)
	for n := 0; n < task.MaxErrors+5; n++ {
		c, err := cur.RetryAttempt(0, task.Error{ErrorCode: "E", Message: fmt.Sprint(n)}, later)
		if err != nil {
			t.Fatal(err)
		}
		cur = c.Task
		cur.SubTasks[0].Status = task.Processing // as StartAttempt would, for the next round
	}
	if len(cur.Errors) != task.MaxErrors {
		t.Fatalf("%d errors kept, want %d", len(cur.Errors), task.MaxErrors)
	}
	if first, last := cur.Errors[0].Message, cur.Errors[len(cur.Errors)-1].Message; last != fmt.Sprint(task.MaxErrors+4) || first != "5" {
		t.Errorf("kept %s..%s, want the newest (5..%d)", first, last, task.MaxErrors+4)
	}
}
