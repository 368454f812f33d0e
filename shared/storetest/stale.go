package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// active are the statuses Stale accepts.
var active = []task.Status{task.Pending, task.Processing}

// staleFixture stores tasks on both sides of cutoff, in every status, for two owners. It
// returns, per active status, the ids Stale(status, cutoff, n) must return (for n large
// enough), every task as it ended (for other cutoffs), and cutoff.
func staleFixture(t *testing.T, s task.Store) (want map[task.Status][]string, all []task.Task, cutoff time.Time) {
	t.Helper()
	cutoff = tasktest.At(10 * time.Minute)
	want = map[task.Status][]string{}
	add := func(owner string, created time.Time, to task.Status, changed time.Time) task.Task {
		t.Helper()
		tk := tasktest.Create(t, s, tasktest.New(t, owner, tasktest.TypeAlpha, created))
		return tasktest.Drive(t, s, tk, to, changed)
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
		changed := tasktest.At(tc.changed)
		if tc.status == task.Pending {
			changed = tasktest.At(tc.created)
		}
		tk := add(tc.owner, tasktest.At(tc.created), tc.status, changed)
		if tc.stale {
			want[tc.status] = append(want[tc.status], tk.ID)
		}
		all = append(all, tk)
	}

	// Old tasks that changed recently, or ended, through Apply: they leave the stale set of
	// their old status, and a claimed one is not stale in its new one either.
	claimed := add("tenant-a", tasktest.At(time.Minute), task.Pending, tasktest.At(time.Minute))
	claimed = tasktest.Apply(t, s, tasktest.Transition(t, claimed, func(x task.Task) (task.Change, error) { return x.Claim(tasktest.At(30 * time.Minute)) }))
	cancelled := add("tenant-b", tasktest.At(time.Minute), task.Pending, tasktest.At(time.Minute))
	cancelled = tasktest.Apply(t, s, tasktest.Transition(t, cancelled, func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(2 * time.Minute)) }))
	processing := add("tenant-a", tasktest.At(time.Minute), task.Processing, tasktest.At(2*time.Minute))
	processing = tasktest.Apply(t, s, tasktest.Transition(t, processing, func(x task.Task) (task.Change, error) {
		c, _, err := x.StartAttempt(tasktest.At(11 * time.Minute))
		return c, err
	}))
	// An old task whose retry made it active again: stale, as pending.
	retried := add("tenant-b", tasktest.At(time.Minute), task.Failure, tasktest.At(2*time.Minute))
	retried = tasktest.Apply(t, s, tasktest.Transition(t, retried, func(x task.Task) (task.Change, error) { return x.Retry(tasktest.At(3*time.Minute), true) }))
	want[task.Pending] = append(want[task.Pending], retried.ID)
	all = append(all, claimed, cancelled, processing, retried)
	return want, all, cutoff
}

// staleIn is what Stale(status, cutoff, n) must return for n large enough, from the tasks
// as they ended.
func staleIn(all []task.Task, status task.Status, cutoff time.Time) []string {
	var ids []string
	for _, tk := range all {
		if tk.Status == status && tk.UpdatedAt.Before(cutoff) {
			ids = append(ids, tk.ID)
		}
	}
	return ids
}

// checkStale checks and returns one answer of Stale(status, cutoff, limit): at most limit
// ids, each once, each one of want (the ids of the tasks in status that are stale at cutoff),
// oldest first, and the oldest of want: a task of want left out is not older than one
// returned. When exact, the answer must hold all of want. Ties within a millisecond may come
// in any order, because the DynamoDB store's index keeps milliseconds only.
func checkStale(t *testing.T, s task.Store, status task.Status, cutoff time.Time, limit int, want []string, exact bool) []string {
	t.Helper()
	call := fmt.Sprintf("Stale(%s, %s, %d)", status, cutoff.Format(time.RFC3339Nano), limit)
	got, err := s.Stale(t.Context(), status, cutoff, limit)
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
	if exact && !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("%s = %v, want (oldest first) %v", call, got, want)
	}
	if len(got) > limit {
		t.Errorf("%s returned %d ids", call, len(got))
	}
	// The order is judged by updatedAt as the store keeps it, to the millisecond.
	updated := map[string]time.Time{}
	for _, id := range want {
		updated[id] = mustGet(t, s, id, cutoff).UpdatedAt.Truncate(time.Millisecond)
	}
	seen := map[string]bool{}
	var last time.Time
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s returned %s twice", call, id)
		}
		seen[id] = true
		u, ok := updated[id]
		if !ok {
			tk := mustGet(t, s, id, cutoff)
			t.Errorf("%s returned %s, which is %s and was updated at %s", call, id, tk.Status, tk.UpdatedAt.Format(time.RFC3339Nano))
			continue
		}
		if u.Before(last) {
			t.Errorf("%s = %v: not oldest first (%s after %s)", call, got, u.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano))
		}
		last = u
	}
	for _, id := range want {
		if !seen[id] && len(got) > 0 && updated[id].Before(last) {
			t.Errorf("%s = %v left out %s, older than the last returned", call, got, id)
		}
	}
	return got
}

// testStaleSelects: each active status separately, every stale task of that status and no
// other: a processing task is never returned for pending, nor a pending one for processing,
// however old.
func testStaleSelects(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	want, all, cutoff := staleFixture(t, s)
	for _, status := range active {
		if len(want[status]) < 2 {
			t.Fatalf("the fixture has %d stale %s tasks; the test wants several", len(want[status]), status)
		}
		if got := staleIn(all, status, cutoff); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want[status]))) {
			t.Fatalf("fixture: stale %s tasks %v, the table says %v", status, got, want[status])
		}
		for _, limit := range []int{len(want[status]), len(want[status]) + 1, 100} {
			checkStale(t, s, status, cutoff, limit, want[status], true)
		}
		// Long after every update: every task of the status, none of the other.
		late := tasktest.At(time.Hour)
		checkStale(t, s, status, late, 100, staleIn(all, status, late), true)
		// Before every update: nothing is stale.
		checkStale(t, s, status, tasktest.At(0), 100, nil, true)
		// A limit of 0 asks for nothing.
		checkStale(t, s, status, late, 0, nil, true)
	}
}

// testStaleLimit: a limit below the number of stale tasks returns the oldest of them.
func testStaleLimit(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	want, _, cutoff := staleFixture(t, s)
	for _, status := range active {
		for _, limit := range []int{1, 2, len(want[status]) - 1} {
			if got := checkStale(t, s, status, cutoff, limit, want[status], false); len(got) == 0 {
				t.Errorf("Stale(%s, %s, %d) returned nothing", status, cutoff, limit)
			}
		}
	}
}

// testStaleStarvation: the sweeper's case that made Stale take a status. Processing tasks
// waiting out a retry backoff are older than a pending task whose message was lost, and
// outnumber the limit; asked for pending tasks, Stale still returns the pending one, because
// processing tasks are not in its answer at all.
func testStaleStarvation(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	var processing []string
	for i := range 5 {
		tk := tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Second)))
		processing = append(processing, tasktest.Drive(t, s, tk, task.Processing, tasktest.At(time.Duration(i+1)*time.Minute)).ID)
	}
	pending := tasktest.Create(t, s, tasktest.New(t, "tenant-b", tasktest.TypeAlpha, tasktest.At(6*time.Minute)))
	cutoff := tasktest.At(10 * time.Minute)
	const limit = 2
	got, err := s.Stale(t.Context(), task.Pending, cutoff, limit)
	if err != nil {
		t.Fatalf("Stale(pending): %v", err)
	}
	if !slices.Equal(got, []string{pending.ID}) {
		t.Errorf("Stale(pending, %s, %d) = %v, want only the pending task %s (the processing tasks %v are older but not pending)",
			cutoff, limit, got, pending.ID, processing)
	}
	// Asked for processing tasks: the oldest two of the five, and not the pending one.
	if got := checkStale(t, s, task.Processing, cutoff, limit, processing, false); !slices.Equal(got, processing[:limit]) {
		t.Errorf("Stale(processing, %s, %d) = %v, want %v", cutoff, limit, got, processing[:limit])
	}
}

// testStaleNotActive: a terminal or unknown status is an error, not an empty answer, so that
// a caller's mistake is not mistaken for "nothing to do".
func testStaleNotActive(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	for _, st := range []task.Status{task.Success, task.Failure, task.Cancelled} {
		tk := tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0)))
		tasktest.Drive(t, s, tk, st, tasktest.At(time.Minute))
	}
	for _, st := range []task.Status{task.Success, task.Failure, task.Cancelled, "", "bogus"} {
		if got, err := s.Stale(t.Context(), st, tasktest.At(time.Hour), 10); err == nil {
			t.Errorf("Stale(%q) = %v, nil; want an error", st, got)
		}
	}
}
