package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// The all-owners list (ListQuery.Owner ""): what an admin sees without an owner parameter.
// It keeps every promise of a one-owner list, over the tasks of every owner.

func testListAllOwnersEmpty(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	for _, key := range sortKeysOf(s) {
		for _, desc := range []bool{false, true} {
			q := task.ListQuery{SortKey: key, Desc: desc, Limit: 5, Now: tasktest.At(time.Hour)}
			p, err := s.List(t.Context(), q)
			if err != nil {
				t.Fatalf("List(%s): %v", describe(q), err)
			}
			if len(p.Tasks) != 0 || p.Next != nil {
				t.Errorf("List(%s) of an empty store = %v, next %q; want no tasks and no Next", describe(q), ids(p.Tasks), p.Next)
			}
		}
	}
}

// testListAllOwnersQueries walks every filter, order and several limits over the tasks of
// four owners (with ties in createdAt and updatedAt across owners, and expired tasks): each
// walk lists every matching task of every owner exactly once, in order, as stored, and a
// limit above the number of matches gives one page without Next.
func testListAllOwnersQueries(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	all := listFixture(t, s)
	filters := []struct {
		name     string
		statuses []task.Status
		typ      string
	}{
		{name: "all"},
		{name: "every status", statuses: task.Statuses},
		{name: "one status", statuses: []task.Status{task.Pending}},
		{name: "one status with expired tasks", statuses: []task.Status{task.Cancelled}},
		{name: "several statuses", statuses: []task.Status{task.Success, task.Failure, task.Cancelled}},
		{name: "type", typ: tasktest.TypeBeta},
		{name: "type and statuses", typ: tasktest.TypeAlpha, statuses: []task.Status{task.Pending, task.Processing}},
		{name: "unknown type", typ: "gamma"},
	}
	for _, f := range filters {
		for _, key := range sortKeysOf(s) {
			for _, desc := range []bool{false, true} {
				for _, limit := range []int{1, 4, 7, 100} {
					q := task.ListQuery{Statuses: f.statuses, Type: f.typ, SortKey: key, Desc: desc, Limit: limit, Now: listNow}
					want := expectedList(all, q)
					if f.name == "all" {
						owners := map[string]bool{}
						for _, tk := range want {
							owners[tk.Owner] = true
						}
						if len(owners) != 4 || len(want) == len(all) {
							t.Fatalf("fixture: %d owners and %d of %d tasks live", len(owners), len(want), len(all))
						}
					}
					seen, pages := walk(t, s, q, nil)
					if !slices.Equal(ids(seen), ids(want)) {
						t.Errorf("%s: walking List(%s) gave\n  %v\nwant\n  %v", f.name, describe(q), ids(seen), ids(want))
						continue
					}
					for i := range seen {
						assertSameListed(t, f.name, want[i], seen[i])
					}
					if limit >= len(all) && len(pages) != 1 {
						t.Errorf("%s: List(%s) took %d pages for %d tasks, want one page without Next", f.name, describe(q), len(pages), len(want))
					}
				}
			}
		}
	}
}

// testListAllOwnersExpired: expired tasks of any owner are never listed, judged by the
// query's now.
func testListAllOwnersExpired(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	var all []task.Task
	for i := range 8 {
		owner := []string{"tenant-a", "tenant-b"}[i%2]
		spec := task.Spec{Type: tasktest.TypeAlpha}
		if i%4 < 2 {
			spec.Retention = task.MinRetention
		}
		tk := tasktest.Create(t, s, tasktest.NewSpec(t, owner, spec, tasktest.At(time.Duration(i)*time.Second)))
		if i < 6 {
			tk = tasktest.Drive(t, s, tk, task.Cancelled, tasktest.At(10*time.Second))
		}
		all = append(all, tk)
	}
	expiry := tasktest.At(10*time.Second + task.MinRetention)
	for _, now := range []time.Time{expiry.Add(-time.Millisecond), expiry, tasktest.At(10*time.Second + task.DefaultRetention)} {
		for _, key := range sortKeysOf(s) {
			for _, desc := range []bool{false, true} {
				for _, statuses := range [][]task.Status{nil, {task.Cancelled}, {task.Cancelled, task.Pending}} {
					q := task.ListQuery{Statuses: statuses, SortKey: key, Desc: desc, Limit: 1, Now: now}
					want := expectedList(all, q)
					seen, _ := walk(t, s, q, nil)
					if !slices.Equal(ids(seen), ids(want)) {
						t.Errorf("walking List(%s) gave %v, want %v", describe(q), ids(seen), ids(want))
					}
				}
			}
		}
	}
}

// testListAllOwnersConcurrentWalk: in createdAt order, a walk of every owner's tasks while
// tasks are created, changed and expire between pages sees every task that exists
// throughout exactly once, never one twice, all in order.
func testListAllOwnersConcurrentWalk(t *testing.T, newStore newStoreFunc) {
	for _, desc := range []bool{false, true} {
		t.Run(map[bool]string{false: "asc", true: "desc"}[desc], func(t *testing.T) {
			t.Parallel()
			w := newConcurrentWalk(t, newStore(t))
			q := task.ListQuery{SortKey: task.SortCreated, Desc: desc, Limit: 4, Now: w.startNow}
			var end time.Time
			between := w.between(t)
			seen, _ := walk(t, w.s, q, func(page int, q *task.ListQuery) { between(page, q); end = q.Now })

			n := count(seen)
			owners := map[string]int{}
			for _, tk := range seen {
				owners[tk.Owner]++
			}
			if owners["tenant-a"] == 0 || owners["tenant-b"] < 20 {
				t.Errorf("walk saw %v tasks by owner; want tenant-a's and all 20+ of tenant-b's", owners)
			}
			for id, k := range n {
				if k > 1 {
					t.Errorf("task %s seen %d times", id, k)
				}
			}
			for i := 1; i < len(seen); i++ {
				if !inOrder(seen[i-1], seen[i], task.SortCreated, desc) {
					t.Errorf("out of order: %s (created %s) then %s (created %s)", seen[i-1].ID, seen[i-1].CreatedAt, seen[i].ID, seen[i].CreatedAt)
				}
			}
			for _, tk := range w.lasting(end) {
				if n[tk.ID] != 1 {
					t.Errorf("task %s, live throughout the walk, seen %d times", tk.ID, n[tk.ID])
				}
			}
		})
	}
}
