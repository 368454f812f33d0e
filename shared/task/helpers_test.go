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

// Fixed instants: every test injects its clock, none sleeps.
var (
	t0      = time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC)
	stored  = t0.Add(10 * time.Minute) // UpdatedAt of every fixture
	later   = stored.Add(time.Minute)  // a clock ahead of the stored task
	earlier = stored.Add(-time.Hour)   // a clock behind the stored task (skewed writer)
)

const (
	fixtureRetention = time.Hour
	fixtureVersion   = int64(7)
)

func tp(t time.Time) *time.Time { return &t }

// build makes a task in status st with one subtask per entry of subs, filled in as a real
// run would have left it: attempts, times, a prior warning in Errors, input and resources.
func build(st task.Status, cancelRequested bool, subs ...task.Status) task.Task {
	t := task.Task{
		ID:              "01JDK6Q8W7C2N3X9RT0V5M4B1A",
		Type:            "test",
		Name:            "fixture",
		Owner:           "tenant-a",
		Status:          st,
		CancelRequested: cancelRequested,
		Input:           json.RawMessage(`{"n":1}`),
		Resources:       []task.Resource{{ResourceID: "host-1", Type: "HOST"}},
		Errors: []task.Error{{
			ErrorCode: "TIMEOUT",
			ErrorType: task.ErrorTypeWarning,
			Message:   "timed out",
			SubTask:   "step-0",
			Causes:    []string{"dial tcp: i/o timeout"},
			At:        t0.Add(time.Minute),
		}},
		MaxAttempts: 3,
		Retention:   fixtureRetention,
		CreatedAt:   t0,
		UpdatedAt:   stored,
		Version:     fixtureVersion,
	}
	if st != task.Pending {
		t.StartedAt = tp(t0.Add(time.Minute))
	}
	done := 0
	for i, s := range subs {
		sub := task.SubTask{Name: fmt.Sprintf("step-%d", i), Description: fmt.Sprintf("step number %d", i), Status: s}
		switch s {
		case task.Success:
			done++
			sub.Attempts = 1
			sub.StartedAt = tp(t0.Add(2 * time.Minute))
			sub.FinishedAt = tp(t0.Add(3 * time.Minute))
		case task.Processing:
			sub.Attempts = 1
			sub.StartedAt = tp(t0.Add(4 * time.Minute))
		case task.Failure:
			sub.Attempts = 3
			sub.StartedAt = tp(t0.Add(4 * time.Minute))
			sub.FinishedAt = tp(stored)
		}
		t.SubTasks = append(t.SubTasks, sub)
	}
	if len(subs) > 0 {
		t.Progress = done * 100 / len(subs)
	}
	if st.Terminal() {
		t.FinishedAt = tp(stored)
		t.ExpiresAt = tp(stored.Add(fixtureRetention))
	}
	switch st {
	case task.Success:
		t.Result = json.RawMessage(`{"ok":true}`)
		t.Progress = 100
	case task.Failure:
		t.Message = "step-1 failed"
		t.Errors = append(t.Errors, task.Error{ErrorCode: "BOOM", ErrorType: task.ErrorTypeError, Message: "step-1 failed", SubTask: "step-1", Causes: []string{"boom"}, At: stored})
	case task.Cancelled:
		t.Message = "cancelled at the client's request"
	}
	return t
}

// fixture is one named starting state.
type fixture struct {
	name string
	t    task.Task
}

// fixtures covers every status, and processing in each of its shapes.
func fixtures() []fixture {
	S, P, R, F, C := task.Success, task.Pending, task.Processing, task.Failure, task.Cancelled
	return []fixture{
		{"pending", build(task.Pending, false, P, P, P)},
		{"processing/claimed", build(task.Processing, false, P, P, P)},
		{"processing/running", build(task.Processing, false, S, R, P)},
		{"processing/between", build(task.Processing, false, S, P, P)},
		{"processing/all-done", build(task.Processing, false, S, S, S)},
		{"processing/running+cancelRequested", build(task.Processing, true, S, R, P)},
		{"processing/between+cancelRequested", build(task.Processing, true, S, P, P)},
		{"success", build(task.Success, false, S, S, S)},
		{"failure", build(task.Failure, false, S, F, P)},
		{"cancelled", build(task.Cancelled, false, S, C, C)},
	}
}

// snapshot is an independent deep copy (not task.Clone, which is under test) that keeps
// nil and empty slices apart, so reflect.DeepEqual against it sees any mutation.
func snapshot(t task.Task) task.Task {
	c := t
	c.Input = dupBytes(t.Input)
	c.Result = dupBytes(t.Result)
	if t.SubTasks != nil {
		c.SubTasks = make([]task.SubTask, len(t.SubTasks))
		for i, s := range t.SubTasks {
			s.StartedAt = dupTime(s.StartedAt)
			s.FinishedAt = dupTime(s.FinishedAt)
			s.Output = dupBytes(s.Output)
			s.WaitUntil = dupTime(s.WaitUntil)
			c.SubTasks[i] = s
		}
	}
	if t.Errors != nil {
		c.Errors = make([]task.Error, len(t.Errors))
		for i, e := range t.Errors {
			if e.Causes != nil {
				e.Causes = append(make([]string, 0, len(e.Causes)), e.Causes...)
			}
			c.Errors[i] = e
		}
	}
	if t.Resources != nil {
		c.Resources = append(make([]task.Resource, 0, len(t.Resources)), t.Resources...)
	}
	c.StartedAt = dupTime(t.StartedAt)
	c.FinishedAt = dupTime(t.FinishedAt)
	c.ExpiresAt = dupTime(t.ExpiresAt)
	return c
}

func dupBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

func dupTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

// scribble mutates everything a task shares by reference: slices, their elements and the
// time pointers. Run on a Change's task, it must leave the transition's input untouched.
func scribble(t *task.Task) {
	far := 1000 * time.Hour
	for i := range t.SubTasks {
		s := &t.SubTasks[i]
		s.Name += "!"
		s.Status = "scribbled"
		s.Attempts += 100
		if s.StartedAt != nil {
			*s.StartedAt = s.StartedAt.Add(far)
		}
		if s.FinishedAt != nil {
			*s.FinishedAt = s.FinishedAt.Add(far)
		}
	}
	for i := range t.Errors {
		t.Errors[i].Message += "!"
		for j := range t.Errors[i].Causes {
			t.Errors[i].Causes[j] += "!"
		}
	}
	for i := range t.Resources {
		t.Resources[i].ResourceID += "!"
	}
	for i := range t.Input {
		t.Input[i] = 'X'
	}
	for _, p := range []*time.Time{t.StartedAt, t.FinishedAt, t.ExpiresAt} {
		if p != nil {
			*p = p.Add(far)
		}
	}
}

// checkChange asserts what every accepted, non-empty transition promises: the next version,
// the status and version it started from, an updatedAt that moved to now (or stayed put when
// now is behind the stored one), and an input left alone even when the result is mutated.
func checkChange(t *testing.T, in, snap task.Task, c task.Change, now time.Time) {
	t.Helper()
	if c.FromStatus != in.Status || c.FromVersion != in.Version {
		t.Errorf("From = %s@%d, want %s@%d", c.FromStatus, c.FromVersion, in.Status, in.Version)
	}
	if c.Task.Version != in.Version+1 {
		t.Errorf("Version = %d, want %d", c.Task.Version, in.Version+1)
	}
	if c.Empty() {
		t.Errorf("Empty() = true for a change that bumps the version")
	}
	if c.Task.WriteID == "" || c.Task.WriteID == in.WriteID {
		t.Errorf("WriteID = %q (was %q), want a fresh one: a store tells its own write from another's by it", c.Task.WriteID, in.WriteID)
	}
	want := now.UTC()
	if want.Before(in.UpdatedAt) {
		want = in.UpdatedAt
	}
	if !c.Task.UpdatedAt.Equal(want) {
		t.Errorf("UpdatedAt = %v, want %v (now %v, stored %v)", c.Task.UpdatedAt, want, now, in.UpdatedAt)
	}
	if c.Task.UpdatedAt.Before(in.UpdatedAt) {
		t.Errorf("UpdatedAt went backwards: %v < %v", c.Task.UpdatedAt, in.UpdatedAt)
	}
	if c.Task.ID != in.ID || c.Task.Owner != in.Owner || c.Task.Type != in.Type || !c.Task.CreatedAt.Equal(in.CreatedAt) {
		t.Errorf("identity changed: %s/%s/%s/%v", c.Task.ID, c.Task.Owner, c.Task.Type, c.Task.CreatedAt)
	}
	checkUntouched(t, in, snap, c.Task)
}

// checkUntouched asserts that in still equals snap, before and after the result is mutated.
func checkUntouched(t *testing.T, in, snap, result task.Task) {
	t.Helper()
	if !reflect.DeepEqual(in, snap) {
		t.Fatalf("transition mutated its input:\n got %+v\nwant %+v", in, snap)
	}
	keep := snapshot(result)
	scribble(&result)
	if !reflect.DeepEqual(in, snap) {
		t.Fatalf("the change shares memory with its input:\n got %+v\nwant %+v", in, snap)
	}
	restore(&result, keep)
}

// restore writes keep back into the memory scribble changed, so that a caller may go on
// checking the change it handed to checkChange.
func restore(dst *task.Task, keep task.Task) {
	for i := range dst.SubTasks {
		d, k := &dst.SubTasks[i], keep.SubTasks[i]
		started, finished := d.StartedAt, d.FinishedAt
		if started != nil {
			*started = *k.StartedAt
		}
		if finished != nil {
			*finished = *k.FinishedAt
		}
		*d = k
		d.StartedAt, d.FinishedAt = started, finished
	}
	for i := range dst.Errors {
		d, k := &dst.Errors[i], keep.Errors[i]
		causes := d.Causes
		copy(causes, k.Causes)
		*d = k
		d.Causes = causes
	}
	copy(dst.Resources, keep.Resources)
	copy(dst.Input, keep.Input)
	for _, p := range []struct{ d, k *time.Time }{{dst.StartedAt, keep.StartedAt}, {dst.FinishedAt, keep.FinishedAt}, {dst.ExpiresAt, keep.ExpiresAt}} {
		if p.d != nil {
			*p.d = *p.k
		}
	}
}

// checkRefused asserts a refusal: the sentinel, a *TransitionError naming the status it was
// asked from, a zero Change, and an input left alone.
func checkRefused(t *testing.T, in, snap task.Task, c task.Change, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted (status %s → %s), want %v", in.Status, c.Task.Status, want)
	}
	if !errors.Is(err, want) {
		t.Errorf("err = %v, want errors.Is %v", err, want)
	}
	var te *task.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("err = %T %v, want *task.TransitionError", err, err)
	}
	if te.From != in.Status || te.Op == "" {
		t.Errorf("TransitionError = {Op %q From %q}, want From %q and an Op", te.Op, te.From, in.Status)
	}
	if te.Error() == "" {
		t.Errorf("TransitionError.Error() is empty")
	}
	if !reflect.DeepEqual(c, task.Change{}) {
		t.Errorf("refusal returned a non-zero Change: %+v", c)
	}
	if !reflect.DeepEqual(in, snap) {
		t.Errorf("refused transition mutated its input")
	}
}

func subStatuses(t task.Task) []task.Status {
	out := make([]task.Status, len(t.SubTasks))
	for i, s := range t.SubTasks {
		out[i] = s.Status
	}
	return out
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func fmtTime(p *time.Time) string {
	if p == nil {
		return "nil"
	}
	return p.String()
}

// sameErrors compares error histories field by field; an empty and a nil Causes compare
// equal here (that difference is asserted on its own in TestCloneKeepsEmptyCauses).
func sameErrors(a, b []task.Error) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ErrorCode != y.ErrorCode || x.ErrorType != y.ErrorType || x.Message != y.Message ||
			x.SubTask != y.SubTask || !x.At.Equal(y.At) || len(x.Causes) != len(y.Causes) {
			return false
		}
		for j := range x.Causes {
			if x.Causes[j] != y.Causes[j] {
				return false
			}
		}
	}
	return true
}
