package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// maxPages ends a walk that does not terminate: no test here lists more than a few dozen
// tasks, so even one empty page per task stays far below it.
const maxPages = 500

// walk lists q from the first page to the last, checking what every page must hold: no more
// than q.Limit tasks, only q.Owner's (any owner's for ""), none expired at the page's Now. between, if not nil,
// runs after each page that has a Next, with the number of pages so far, and may change the
// store and q.Now. It returns the tasks in the order seen, and the pages.
func walk(t *testing.T, s task.Store, q task.ListQuery, between func(page int, q *task.ListQuery)) (seen []task.Task, pages [][]task.Task) {
	t.Helper()
	q.After = nil
	for {
		p, err := s.List(t.Context(), q)
		if err != nil {
			t.Fatalf("List(%s) page %d: %v", describe(q), len(pages)+1, err)
		}
		if len(p.Tasks) > q.Limit {
			t.Errorf("List(%s) page %d holds %d tasks, more than the limit %d", describe(q), len(pages)+1, len(p.Tasks), q.Limit)
		}
		for _, tk := range p.Tasks {
			if q.Owner != "" && tk.Owner != q.Owner {
				t.Errorf("List(%s) page %d holds task %s of owner %q", describe(q), len(pages)+1, tk.ID, tk.Owner)
			}
			if tk.Expired(q.Now) {
				t.Errorf("List(%s) page %d holds task %s, expired at %s", describe(q), len(pages)+1, tk.ID, tk.ExpiresAt.Format(time.RFC3339Nano))
			}
		}
		seen = append(seen, p.Tasks...)
		pages = append(pages, p.Tasks)
		if p.Next == nil {
			return seen, pages
		}
		if len(pages) >= maxPages {
			t.Fatalf("List(%s): still a Next after %d pages; the walk does not end", describe(q), len(pages))
		}
		q.After = slices.Clone(p.Next)
		if between != nil {
			between(len(pages), &q)
		}
	}
}

func describe(q task.ListQuery) string {
	dir := "asc"
	if q.Desc {
		dir = "desc"
	}
	return fmt.Sprintf("owner=%q sort=%s %s statuses=%v type=%q limit=%d now=%s", q.Owner, q.SortKey, dir, q.Statuses, q.Type, q.Limit, q.Now.Format(time.RFC3339Nano))
}

// sortKeysOf is the sort keys a case lists s by: both, or under RunUpdatedLists only
// updatedAt.
func sortKeysOf(s task.Store) []task.SortKey {
	if _, ok := s.(updatedOnly); ok {
		return []task.SortKey{task.SortUpdated}
	}
	return []task.SortKey{task.SortCreated, task.SortUpdated}
}

// updatedOnly is a store under RunUpdatedLists.
type updatedOnly struct{ task.Store }

func testListEmpty(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	tasktest.Create(t, s, tasktest.New(t, "tenant-b", tasktest.TypeAlpha, tasktest.At(0)))
	for _, key := range sortKeysOf(s) {
		for _, desc := range []bool{false, true} {
			for _, owner := range []string{"tenant-a", "tenant", "tenant-b2"} {
				q := task.ListQuery{Owner: owner, SortKey: key, Desc: desc, Limit: 25, Now: tasktest.At(time.Hour)}
				p, err := s.List(t.Context(), q)
				if err != nil {
					t.Fatalf("List(%s): %v", describe(q), err)
				}
				if len(p.Tasks) != 0 || p.Next != nil {
					t.Errorf("List(%s) of an owner without tasks = %v, next %q; want no tasks and no Next", describe(q), ids(p.Tasks), p.Next)
				}
			}
		}
	}
}

// testListOneOwner: owners whose names share prefixes, or differ only in case, never see
// each other's tasks; a limit above the owner's task count gives one page without Next.
func testListOneOwner(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	owners := []string{"tenant-a", "tenant-a2", "tenant", "TENANT-A", "tenant-a#1", "t"}
	var all []task.Task
	for i := range 4 {
		for j, owner := range owners {
			tk := tasktest.Create(t, s, tasktest.New(t, owner, tasktest.TypeAlpha, tasktest.At(time.Duration(i*len(owners)+j)*time.Second)))
			if i == 1 {
				tk = tasktest.Drive(t, s, tk, task.Processing, tasktest.At(time.Minute))
			}
			all = append(all, tk)
		}
	}
	now := tasktest.At(time.Hour)
	for _, owner := range owners {
		for _, key := range sortKeysOf(s) {
			for _, desc := range []bool{false, true} {
				q := task.ListQuery{Owner: owner, SortKey: key, Desc: desc, Limit: 10, Now: now}
				p, err := s.List(t.Context(), q)
				if err != nil {
					t.Fatalf("List(%s): %v", describe(q), err)
				}
				want := expectedList(all, q)
				if !slices.Equal(ids(p.Tasks), ids(want)) {
					t.Errorf("List(%s) = %v, want %v", describe(q), ids(p.Tasks), ids(want))
				}
				if p.Next != nil {
					t.Errorf("List(%s) holds all %d tasks but has a Next", describe(q), len(p.Tasks))
				}
			}
		}
	}
}

// listFixture stores tasks of several owners, types and statuses, with ties in createdAt and
// in updatedAt, createdAt order differing from updatedAt order, and two cancelled tasks of
// tenant-a that have expired by listNow (one of them its only cancelled task of type beta)
// beside one that has not. It returns every task as stored.
func listFixture(t *testing.T, s task.Store) []task.Task {
	t.Helper()
	statuses := []task.Status{task.Pending, task.Processing, task.Success, task.Failure, task.Cancelled}
	var all []task.Task
	add := func(owner string, n int) {
		for i := range n {
			typ := tasktest.TypeAlpha
			if i%3 == 2 {
				typ = tasktest.TypeBeta
			}
			spec := task.Spec{Type: typ, Name: fmt.Sprintf("%s #%d", owner, i)}
			status := statuses[i%len(statuses)]
			if status == task.Cancelled && i != 9 {
				spec.Retention = task.MinRetention // expired at listNow
			}
			tk := tasktest.Create(t, s, tasktest.NewSpec(t, owner, spec, tasktest.At(time.Duration(i/2)*time.Second)))
			// Changed in the opposite order of creation, three at a time.
			tk = tasktest.Drive(t, s, tk, status, tasktest.At(time.Hour-time.Duration(i/3)*time.Second))
			all = append(all, tk)
		}
	}
	add("tenant-a", 18)
	add("tenant-a2", 6)
	add("tenant", 6)
	add("TENANT-A", 6)
	return all
}

var listNow = tasktest.At(2 * time.Hour)

func testListQueries(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	all := listFixture(t, s)
	expired := 0
	for _, tk := range all {
		if tk.Owner == "tenant-a" && tk.Expired(listNow) {
			expired++
		}
	}
	if expired != 2 {
		t.Fatalf("fixture: %d expired tasks of tenant-a, want 2", expired)
	}

	filters := []struct {
		name     string
		statuses []task.Status
		typ      string
		empty    bool // nothing matches
	}{
		{name: "all"},
		{name: "one status", statuses: []task.Status{task.Pending}},
		{name: "one status with expired tasks", statuses: []task.Status{task.Cancelled}},
		{name: "several statuses", statuses: []task.Status{task.Success, task.Failure, task.Cancelled}},
		{name: "repeated status", statuses: []task.Status{task.Processing, task.Processing}},
		{name: "type", typ: tasktest.TypeBeta},
		{name: "type and statuses", typ: tasktest.TypeAlpha, statuses: []task.Status{task.Pending, task.Processing}},
		{name: "type and status", typ: tasktest.TypeBeta, statuses: []task.Status{task.Failure}},
		{name: "unknown type", typ: "gamma", empty: true},
		{name: "only expired tasks match", typ: tasktest.TypeBeta, statuses: []task.Status{task.Cancelled}, empty: true},
	}
	for _, f := range filters {
		for _, key := range sortKeysOf(s) {
			for _, desc := range []bool{false, true} {
				for _, limit := range []int{1, 4, 7, 100} {
					q := task.ListQuery{Owner: "tenant-a", Statuses: f.statuses, Type: f.typ, SortKey: key, Desc: desc, Limit: limit, Now: listNow}
					want := expectedList(all, q)
					if (len(want) == 0) != f.empty {
						t.Fatalf("fixture: filter %q matches %d tasks", f.name, len(want))
					}
					seen, pages := walk(t, s, q, nil)
					if !slices.Equal(ids(seen), ids(want)) {
						t.Errorf("%s: walking List(%s) gave\n  %v\nwant\n  %v", f.name, describe(q), ids(seen), ids(want))
						continue
					}
					for i := range seen {
						assertSameListed(t, f.name, want[i], seen[i])
					}
					if limit >= 18 && len(pages) != 1 {
						t.Errorf("%s: List(%s) took %d pages for at most 18 tasks, want one page without Next", f.name, describe(q), len(pages))
					}
				}
			}
		}
	}
}

func testListExpired(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	var all []task.Task
	for i := range 6 {
		spec := task.Spec{Type: tasktest.TypeAlpha}
		if i%2 == 0 {
			spec.Retention = task.MinRetention
		}
		tk := tasktest.Create(t, s, tasktest.NewSpec(t, "tenant-a", spec, tasktest.At(time.Duration(i)*time.Second)))
		if i < 4 {
			tk = tasktest.Drive(t, s, tk, task.Cancelled, tasktest.At(10*time.Second))
		}
		all = append(all, tk)
	}
	// Tasks 0 and 2 expire at 70 s; 1 and 3 two days later; 4 and 5 never (still pending).
	expiry := tasktest.At(10*time.Second + task.MinRetention)
	for _, tc := range []struct {
		now  time.Time
		want int // how many of tenant-a's tasks are live
	}{
		{expiry.Add(-time.Millisecond), 6},
		{expiry, 4},
		{expiry.Add(time.Hour), 4},
		{tasktest.At(10*time.Second + task.DefaultRetention), 2},
		{tasktest.At(365 * 24 * time.Hour), 2},
	} {
		for _, key := range sortKeysOf(s) {
			for _, desc := range []bool{false, true} {
				for _, statuses := range [][]task.Status{nil, {task.Cancelled}} {
					q := task.ListQuery{Owner: "tenant-a", Statuses: statuses, SortKey: key, Desc: desc, Limit: 1, Now: tc.now}
					want := expectedList(all, q)
					if statuses == nil && len(want) != tc.want {
						t.Fatalf("fixture: %d live tasks at %s, want %d", len(want), tc.now, tc.want)
					}
					seen, _ := walk(t, s, q, nil)
					if !slices.Equal(ids(seen), ids(want)) {
						t.Errorf("walking List(%s) gave %v, want %v", describe(q), ids(seen), ids(want))
					}
				}
			}
		}
	}
}

// concurrentWalk is the set-up of the walks during which tasks are created, changed and
// expire between pages.
type concurrentWalk struct {
	s        task.Store
	initial  []task.Task          // tenant-a's tasks before the walk
	current  map[string]task.Task // every task as last stored
	touched  map[string]bool      // tasks changed during the walk
	startNow time.Time
}

func newConcurrentWalk(t *testing.T, s task.Store) *concurrentWalk {
	t.Helper()
	w := &concurrentWalk{s: s, current: map[string]task.Task{}, touched: map[string]bool{}, startNow: tasktest.At(60 * time.Second)}
	for i := range 20 {
		spec := task.Spec{Type: tasktest.TypeAlpha}
		if i%5 == 0 {
			spec.Retention = task.MinRetention // cancelled at 30 s, gone at 90 s: mid-walk
		}
		tk := tasktest.Create(t, s, tasktest.NewSpec(t, "tenant-a", spec, tasktest.At(time.Duration(i/2)*time.Second)))
		switch {
		case i%5 == 0:
			tk = tasktest.Drive(t, s, tk, task.Cancelled, tasktest.At(30*time.Second))
		case i%5 == 1:
			tk = tasktest.Drive(t, s, tk, task.Processing, tasktest.At(time.Duration(20+i)*time.Second))
		}
		w.initial = append(w.initial, tk)
		w.current[tk.ID] = tk
		tasktest.Create(t, s, tasktest.New(t, "tenant-b", tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Second)))
	}
	return w
}

// between is the walk's hook: the clock moves on 10 s per page (so the short-lived
// cancelled tasks expire during the walk), tasks of tenant-a and tenant-b are created before
// and after the walk's position, and two of tenant-a's tasks change.
func (w *concurrentWalk) between(t *testing.T) func(page int, q *task.ListQuery) {
	return func(page int, q *task.ListQuery) {
		t.Helper()
		q.Now = q.Now.Add(10 * time.Second)
		if page > 8 {
			return
		}
		for _, created := range []time.Time{
			tasktest.At(time.Duration(page)*time.Second + 500*time.Millisecond),
			tasktest.At(time.Hour + time.Duration(page)*time.Second),
		} {
			tk := tasktest.Create(t, w.s, tasktest.New(t, "tenant-a", tasktest.TypeBeta, created))
			w.current[tk.ID] = tk
			tasktest.Create(t, w.s, tasktest.New(t, "tenant-b", tasktest.TypeBeta, created))
		}
		for _, i := range []int{(page * 3) % len(w.initial), (page*7 + 1) % len(w.initial)} {
			cur := w.current[w.initial[i].ID]
			var step func(task.Task) (task.Change, error)
			switch cur.Status {
			case task.Pending:
				step = func(x task.Task) (task.Change, error) { return x.Claim(q.Now) }
			case task.Processing:
				step = func(x task.Task) (task.Change, error) { return x.Cancel(q.Now) }
			default:
				continue
			}
			w.current[cur.ID] = tasktest.Apply(t, w.s, tasktest.Transition(t, cur, step))
			w.touched[cur.ID] = true
		}
	}
}

// lasting are the initial tasks still live at the walk's end, so live throughout it.
func (w *concurrentWalk) lasting(end time.Time) []task.Task {
	var out []task.Task
	for _, tk := range w.initial {
		if cur := w.current[tk.ID]; !cur.Expired(end) {
			out = append(out, tk)
		}
	}
	return out
}

func count(seen []task.Task) map[string]int {
	n := map[string]int{}
	for _, tk := range seen {
		n[tk.ID]++
	}
	return n
}

// testListConcurrentWalkCreated: createdAt never changes, so a walk in createdAt order
// sees every task that exists throughout exactly once, never one twice, all in order,
// whatever happens between pages.
func testListConcurrentWalkCreated(t *testing.T, newStore newStoreFunc) {
	for _, desc := range []bool{false, true} {
		t.Run(map[bool]string{false: "asc", true: "desc"}[desc], func(t *testing.T) {
			t.Parallel()
			w := newConcurrentWalk(t, newStore(t))
			q := task.ListQuery{Owner: "tenant-a", SortKey: task.SortCreated, Desc: desc, Limit: 3, Now: w.startNow}
			var end time.Time
			between := w.between(t)
			seen, _ := walk(t, w.s, q, func(page int, q *task.ListQuery) { between(page, q); end = q.Now })

			n := count(seen)
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
			lasting := w.lasting(end)
			if len(lasting) == len(w.initial) || len(lasting) == 0 {
				t.Fatalf("fixture: %d of %d tasks last the walk; some must expire during it", len(lasting), len(w.initial))
			}
			for _, tk := range lasting {
				if n[tk.ID] != 1 {
					t.Errorf("task %s, live throughout the walk, seen %d times", tk.ID, n[tk.ID])
				}
			}
			if len(w.touched) == 0 {
				t.Fatal("fixture: no task changed during the walk")
			}
		})
	}
}

// testListConcurrentWalkUpdated: in updatedAt order a changed task moves, so it may be
// missed, or (ascending) seen again at its new place. Tasks left alone are seen exactly
// once and in order; descending, a moved task jumps behind the walk and no task is seen
// twice.
func testListConcurrentWalkUpdated(t *testing.T, newStore newStoreFunc) {
	for _, desc := range []bool{false, true} {
		t.Run(map[bool]string{false: "asc", true: "desc"}[desc], func(t *testing.T) {
			t.Parallel()
			w := newConcurrentWalk(t, newStore(t))
			q := task.ListQuery{Owner: "tenant-a", SortKey: task.SortUpdated, Desc: desc, Limit: 3, Now: w.startNow}
			var end time.Time
			between := w.between(t)
			seen, pages := walk(t, w.s, q, func(page int, q *task.ListQuery) { between(page, q); end = q.Now })

			for i, p := range pages {
				for j := 1; j < len(p); j++ {
					if !inOrder(p[j-1], p[j], task.SortUpdated, desc) {
						t.Errorf("page %d out of order: %s (updated %s) then %s (updated %s)", i+1, p[j-1].ID, p[j-1].UpdatedAt, p[j].ID, p[j].UpdatedAt)
					}
				}
			}
			n := count(seen)
			for id, k := range n {
				if k > 1 && (desc || !w.touched[id]) {
					t.Errorf("task %s seen %d times", id, k)
				}
			}
			var untouched []task.Task
			for _, tk := range seen {
				if !w.touched[tk.ID] && n[tk.ID] == 1 {
					untouched = append(untouched, tk)
				}
			}
			for i := 1; i < len(untouched); i++ {
				if !inOrder(untouched[i-1], untouched[i], task.SortUpdated, desc) {
					t.Errorf("out of order: %s (updated %s) then %s (updated %s)", untouched[i-1].ID, untouched[i-1].UpdatedAt, untouched[i].ID, untouched[i].UpdatedAt)
				}
			}
			lasting := w.lasting(end)
			if len(w.touched) == 0 || len(w.touched) == len(lasting) {
				t.Fatalf("fixture: %d of %d lasting tasks changed during the walk", len(w.touched), len(lasting))
			}
			for _, tk := range lasting {
				if !w.touched[tk.ID] && n[tk.ID] != 1 {
					t.Errorf("task %s, live and unchanged throughout the walk, seen %d times", tk.ID, n[tk.ID])
				}
			}
		})
	}
}
