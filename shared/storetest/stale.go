package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// staleFixture stores tasks on both sides of cutoff, in every status, for two owners; it
// returns the ids Stale(cutoff, n) must return (for n large enough) and cutoff.
func staleFixture(t *testing.T, s task.Store) (want []string, cutoff time.Time) {
	t.Helper()
	cutoff = at(10 * time.Minute)
	add := func(owner string, created time.Time, to task.Status, changed time.Time, stale bool) task.Task {
		t.Helper()
		tk := mustCreate(t, s, newTask(t, owner, typeAlpha, created))
		tk = drive(t, s, tk, to, changed)
		if stale {
			want = append(want, tk.ID)
		}
		return tk
	}
	tests := []struct {
		owner   string
		created time.Duration
		status  task.Status
		changed time.Duration // when driven to status; a pending task is never changed
		stale   bool
	}{
		{"tenant-a", time.Minute, task.Pending, 0, true},
		{"tenant-a", time.Minute, task.Processing, 2 * time.Minute, true},
		{"tenant-b", 3 * time.Minute, task.Pending, 0, true},
		{"tenant-b", 3 * time.Minute, task.Processing, 10*time.Minute - time.Millisecond, true},
		{"tenant-a", 10*time.Minute - time.Millisecond, task.Pending, 0, true},
		// At or after the cutoff: fresh.
		{"tenant-a", 10 * time.Minute, task.Pending, 0, false},
		{"tenant-a", 10*time.Minute + time.Millisecond, task.Pending, 0, false},
		{"tenant-b", time.Minute, task.Processing, 10 * time.Minute, false},
		{"tenant-b", time.Minute, task.Processing, 20 * time.Minute, false},
		// Terminal, however old.
		{"tenant-a", time.Minute, task.Success, 2 * time.Minute, false},
		{"tenant-a", time.Minute, task.Failure, 2 * time.Minute, false},
		{"tenant-b", time.Minute, task.Cancelled, 2 * time.Minute, false},
	}
	for _, tc := range tests {
		changed := at(tc.changed)
		if tc.status == task.Pending {
			changed = at(tc.created)
		}
		add(tc.owner, at(tc.created), tc.status, changed, tc.stale)
	}

	// Old tasks that changed recently, or ended, through Apply: they leave the stale set.
	claimed := add("tenant-a", at(time.Minute), task.Pending, at(time.Minute), false)
	mustApply(t, s, transition(t, claimed, func(x task.Task) (task.Change, error) { return x.Claim(at(30 * time.Minute)) }))
	cancelled := add("tenant-b", at(time.Minute), task.Pending, at(time.Minute), false)
	mustApply(t, s, transition(t, cancelled, func(x task.Task) (task.Change, error) { return x.Cancel(at(2 * time.Minute)) }))
	processing := add("tenant-a", at(time.Minute), task.Processing, at(2*time.Minute), false)
	p := transition(t, processing, func(x task.Task) (task.Change, error) {
		c, _, err := x.StartAttempt(at(11 * time.Minute))
		return c, err
	})
	mustApply(t, s, p)
	// An old task whose retry made it active again: stale.
	retried := add("tenant-b", at(time.Minute), task.Failure, at(2*time.Minute), false)
	retried = mustApply(t, s, transition(t, retried, func(x task.Task) (task.Change, error) { return x.Retry(at(3*time.Minute), true) }))
	want = append(want, retried.ID)
	return want, cutoff
}

func testStaleSelects(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	want, cutoff := staleFixture(t, s)
	for _, limit := range []int{len(want), len(want) + 1, 100} {
		got, err := s.Stale(t.Context(), cutoff, limit)
		if err != nil {
			t.Fatalf("Stale(%s, %d): %v", cutoff, limit, err)
		}
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("Stale(%s, %d) = %v, want (in any order) %v", cutoff, limit, got, want)
		}
	}
	// Before every update: nothing is stale.
	got, err := s.Stale(t.Context(), at(0), 100)
	if err != nil {
		t.Fatalf("Stale: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("Stale(%s, 100) = %v, want none", at(0), got)
	}
}

func testStaleLimit(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	want, cutoff := staleFixture(t, s)
	for _, limit := range []int{1, 2, len(want) - 1} {
		got, err := s.Stale(t.Context(), cutoff, limit)
		if err != nil {
			t.Fatalf("Stale(%s, %d): %v", cutoff, limit, err)
		}
		if len(got) == 0 || len(got) > limit {
			t.Errorf("Stale(%s, %d) returned %d ids, want 1 to %d", cutoff, limit, len(got), limit)
		}
		seen := map[string]bool{}
		for _, id := range got {
			if !slices.Contains(want, id) {
				t.Errorf("Stale(%s, %d) returned %s, which is not stale", cutoff, limit, id)
			}
			if seen[id] {
				t.Errorf("Stale(%s, %d) returned %s twice", cutoff, limit, id)
			}
			seen[id] = true
		}
	}
}
