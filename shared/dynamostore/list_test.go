package dynamostore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// walk follows Next from the first page to the last and returns every task listed, checking
// that no page exceeds the limit and that listed tasks carry no input or result.
func walk(t *testing.T, s task.Store, q task.ListQuery) []task.Task {
	t.Helper()
	var all []task.Task
	q.After = nil
	for pages := 0; ; pages++ {
		if pages > 500 {
			t.Fatalf("List %+v: no end after %d pages", q, pages)
		}
		p, err := s.List(t.Context(), q)
		if err != nil {
			t.Fatalf("List %+v: %v", q, err)
		}
		if len(p.Tasks) > q.Limit {
			t.Fatalf("List %+v: a page of %d tasks", q, len(p.Tasks))
		}
		for _, tk := range p.Tasks {
			if tk.Input != nil || tk.Result != nil {
				t.Errorf("listed task %s carries input or result", tk.ID)
			}
		}
		all = append(all, p.Tasks...)
		if p.Next == nil {
			return all
		}
		if string(p.Next) == string(q.After) {
			t.Fatalf("List %+v: Next did not move", q)
		}
		q.After = p.Next
	}
}

func ids(ts []task.Task) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// expected is what a list must return over the whole walk, computed in Go from the stored
// tasks: the owner's (every owner's for ""), matching, unexpired, ordered by (time to the millisecond, id).
func expected(stored []task.Task, q task.ListQuery) []task.Task {
	var out []task.Task
	for _, t := range stored {
		if (q.Owner != "" && t.Owner != q.Owner) || t.Expired(q.Now) || (q.Type != "" && t.Type != q.Type) ||
			(len(q.Statuses) > 0 && !slices.Contains(q.Statuses, t.Status)) {
			continue
		}
		out = append(out, t)
	}
	key := func(t task.Task) string {
		if q.SortKey == task.SortUpdated {
			return sortValue(t.UpdatedAt, t.ID)
		}
		return sortValue(t.CreatedAt, t.ID)
	}
	sort.Slice(out, func(i, j int) bool {
		if q.Desc {
			return key(out[i]) > key(out[j])
		}
		return key(out[i]) < key(out[j])
	})
	return out
}

// TestListWalks walks every kind of list (sort key, direction, no/one/several/all statuses,
// type filter, several limits) over tasks whose statuses, types and times are mixed so that
// filters shorten pages and partitions of a merge stop at different places; each walk must
// return exactly the expected tasks, in order, each as stored (less input and result).
func TestListWalks(t *testing.T) {
	t.Parallel()
	s := setup(t).store()
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []task.Status{task.Pending, task.Pending, task.Processing, task.Success, task.Failure, task.Cancelled}
	var stored []task.Task
	for i := range 40 {
		owner := "o"
		if i%7 == 3 {
			owner = "other"
		}
		typ := tasktest.TypeAlpha
		if rng.IntN(4) == 0 {
			typ = tasktest.TypeBeta
		}
		created := tasktest.At(time.Duration(i/2) * time.Second) // pairs share a millisecond: ties by id
		spec := task.Spec{Type: typ, Name: fmt.Sprint("t", i), Retention: time.Duration(1+rng.IntN(3)) * time.Hour}
		tk := tasktest.Create(t, s, tasktest.NewSpec(t, owner, spec, created))
		tk = tasktest.Drive(t, s, tk, statuses[rng.IntN(len(statuses))], tasktest.At(time.Duration(rng.IntN(40))*time.Second))
		tk.Input, tk.Result = nil, nil
		stored = append(stored, tk)
	}
	now := tasktest.At(90 * time.Minute) // some terminal tasks have expired (1 h retention), some not
	expiredSome := false
	for _, tk := range stored {
		expiredSome = expiredSome || tk.Expired(now)
	}
	if !expiredSome {
		t.Fatal("the data has no expired task")
	}
	byID := map[string]task.Task{}
	for _, tk := range stored {
		byID[tk.ID] = tk
	}

	if got := walk(t, s, task.ListQuery{Owner: "nobody", Limit: 5, Now: now}); len(got) != 0 {
		t.Errorf("an unknown owner listed %v", ids(got))
	}
	filters := [][]task.Status{
		nil,
		{task.Pending},
		{task.Failure, task.Pending},
		{task.Pending, task.Processing, task.Success},
		task.Statuses,
	}
	for _, sk := range []task.SortKey{task.SortCreated, task.SortUpdated} {
		for _, desc := range []bool{false, true} {
			for _, st := range filters {
				for _, typ := range []string{"", tasktest.TypeBeta} {
					for _, owner := range []string{"o", ""} {
						q := task.ListQuery{Owner: owner, Statuses: st, Type: typ, SortKey: sk, Desc: desc, Now: now}
						t.Run(fmt.Sprintf("%s/desc=%v/%v/type=%q/owner=%q", sk, desc, st, typ, owner), func(t *testing.T) {
							t.Parallel()
							for _, limit := range []int{2, 5, 100} {
								q.Limit = limit
								got := walk(t, s, q)
								want := expected(stored, q)
								if !slices.Equal(ids(got), ids(want)) {
									t.Errorf("limit %d:\n got %v\nwant %v", limit, ids(got), ids(want))
									continue
								}
								for _, g := range got {
									if a, b := asJSON(t, g), asJSON(t, byID[g.ID]); a != b {
										t.Errorf("listed %s\nstored %s", a, b)
									}
								}
							}
						})
					}
				}
			}
		}
	}
}

// TestListMergeFrontier: a status filter over the byType index, where the matching tasks are
// interleaved with others of the type; the walk misses nothing, in both directions, and the
// first page still fills its limit.
func TestListMergeFrontier(t *testing.T) {
	t.Parallel()
	s := setup(t).store()
	var want []string
	for i := range 10 {
		// pending: alpha tasks at even seconds, with one beta at the end
		typ := tasktest.TypeAlpha
		if i == 9 {
			typ = tasktest.TypeBeta
		}
		p := tasktest.Create(t, s, tasktest.New(t, "o", typ, tasktest.At(time.Duration(2*i)*time.Second)))
		// failure: beta tasks at odd seconds
		f := tasktest.Create(t, s, tasktest.New(t, "o", tasktest.TypeBeta, tasktest.At(time.Duration(2*i+1)*time.Second)))
		tasktest.Drive(t, s, f, task.Failure, tasktest.At(time.Hour))
		want = append(want, f.ID)
		if i == 9 {
			want = append(want[:len(want)-1], p.ID, f.ID)
		}
	}
	q := task.ListQuery{Owner: "o", Statuses: []task.Status{task.Pending, task.Failure}, Type: tasktest.TypeBeta, Limit: 3, Now: tasktest.At(time.Hour)}
	p, err := s.List(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(p.Tasks); !slices.Equal(got, want[:3]) || p.Next == nil {
		t.Errorf("first page %v (next %q), want %v and a next", got, p.Next, want[:3])
	}
	if got := ids(walk(t, s, q)); !slices.Equal(got, want) {
		t.Errorf("walk %v\nwant %v", got, want)
	}
	q.Desc = true
	slices.Reverse(want)
	if got := ids(walk(t, s, q)); !slices.Equal(got, want) {
		t.Errorf("desc walk %v\nwant %v", got, want)
	}
}

// TestListChangesDuringWalk: tasks created, cancelled and moved between pages; every task that
// exists and matches throughout is listed exactly once, in order.
func TestListChangesDuringWalk(t *testing.T) {
	t.Parallel()
	s := setup(t).store()
	var tasks []task.Task
	for i := range 12 {
		tasks = append(tasks, tasktest.Create(t, s, tasktest.New(t, "o", tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Second))))
	}
	for _, desc := range []bool{false, true} {
		q := task.ListQuery{Owner: "o", Statuses: []task.Status{task.Pending, task.Cancelled}, Limit: 2, Desc: desc, Now: tasktest.At(time.Hour)}
		seen := map[string]int{}
		var order []string
		for page := 0; ; page++ {
			p, err := s.List(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range p.Tasks {
				seen[tk.ID]++
				order = append(order, sortValue(tk.CreatedAt, tk.ID))
			}
			// Between pages: a new task, and a pending task cancelled (it moves partition).
			tasktest.Create(t, s, tasktest.New(t, "o", tasktest.TypeAlpha, tasktest.At(time.Duration(100+page)*time.Second)))
			i := page * 3 % len(tasks)
			if cur, err := s.Get(t.Context(), tasks[i].ID, tasktest.At(time.Hour)); err == nil && cur.Status == task.Pending {
				tasktest.Drive(t, s, cur, task.Cancelled, tasktest.At(time.Minute))
			}
			if p.Next == nil {
				break
			}
			q.After = p.Next
		}
		for _, tk := range tasks {
			if seen[tk.ID] != 1 {
				t.Errorf("desc=%v: task %s listed %d times", desc, tk.ID, seen[tk.ID])
			}
		}
		if !sort.SliceIsSorted(order, func(i, j int) bool {
			if desc {
				return order[i] > order[j]
			}
			return order[i] < order[j]
		}) {
			t.Errorf("desc=%v: out of order: %v", desc, order)
		}
	}
}

// TestListStatusFilterBounded: a status that matches one task of a tenant's 40, the oldest,
// is found by a walk of short pages (some empty, each with a Next) that never reads more than
// its first read plus ScanFactor × (limit+1) candidates, and is listed exactly once.
func TestListStatusFilterBounded(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rec := &recorder{api: e.client}
	s := New(rec, e.table)
	var failed task.Task
	for i := range 40 {
		tk := tasktest.Create(t, s, tasktest.New(t, "o", tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Second)))
		if i == 0 {
			failed = tasktest.Drive(t, s, tk, task.Failure, tasktest.At(time.Minute))
		}
	}
	const limit = 2
	q := task.ListQuery{Owner: "o", Statuses: []task.Status{task.Failure}, Desc: true, Limit: limit, Now: tasktest.At(time.Hour)}
	var seen []string
	pages, short := 0, 0
	for {
		rec.reset()
		p, err := s.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		keys := 0
		for _, c := range rec.reset() {
			keys += c.keys
		}
		if max := limit + ScanFactor*(limit+1); keys > max {
			t.Errorf("page %d read %d candidates, more than %d", pages, keys, max)
		}
		if len(p.Tasks) < limit && p.Next != nil {
			short++
		}
		seen = append(seen, ids(p.Tasks)...)
		if p.Next == nil || pages > 40 {
			break
		}
		q.After = p.Next
	}
	if !slices.Equal(seen, []string{failed.ID}) {
		t.Errorf("walk listed %v, want only %s", seen, failed.ID)
	}
	if short == 0 {
		t.Errorf("no short page with a Next in %d pages: the bound was never reached", pages)
	}
}

func TestListRefusesBadQueries(t *testing.T) {
	t.Parallel()
	s := setup(t).store()
	for _, q := range []task.ListQuery{
		{Owner: "o", Limit: math.MaxInt32},
		{Owner: "o", Limit: 0},
		{Owner: "o", Limit: 1, After: []byte("garbage")},
		{Owner: "o", Limit: 1, Statuses: []task.Status{"nope"}},
		{Owner: "o", Limit: 1, SortKey: "name"},
	} {
		if _, err := s.List(t.Context(), q); err == nil {
			t.Errorf("List %+v succeeded", q)
		}
	}
}

// expectWalk checks that walking q on s lists the tasks of stored that q selects, in q's
// order.
func expectWalk(t *testing.T, what string, s task.Store, stored []task.Task, q task.ListQuery) {
	t.Helper()
	if got, want := ids(walk(t, s, q)), ids(expected(stored, q)); !slices.Equal(got, want) {
		t.Errorf("%s of %+v: %v, want %v", what, q, got, want)
	}
}

// TestListUpdatedAtIndex: with IndexByUpdated (the deployment's opt-in) a tenant's page in
// updatedAt order is one Query of that index and one BatchGetItem, whatever the tenant's
// size; without it the page reads every candidate (here 40 tasks for a page of 5), and both
// walks list the same tasks in the same order.
func TestListUpdatedAtIndex(t *testing.T) {
	t.Parallel()
	e := setup(t, UpdatedAtIndex)
	rec := &recorder{api: e.client}
	indexed, plain := New(rec, e.table, WithUpdatedAtIndex()), New(rec, e.table)
	var stored []task.Task
	for i := range 40 {
		tk := tasktest.Create(t, indexed, tasktest.New(t, "big", tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Second)))
		if i%3 == 0 { // updated later, out of created order
			tk = tasktest.Drive(t, indexed, tk, task.Cancelled, tasktest.At(time.Hour-time.Duration(i)*time.Second))
		}
		stored = append(stored, tk)
	}
	now := tasktest.At(2 * time.Hour)
	for _, desc := range []bool{false, true} {
		q := task.ListQuery{Owner: "big", SortKey: task.SortUpdated, Desc: desc, Limit: 5, Now: now}
		expectWalk(t, "the index's walk", indexed, stored, q)
		expectWalk(t, "the full read's walk", plain, stored, q)
		rec.reset()
		if _, err := indexed.List(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		var shape []string
		for _, c := range rec.reset() {
			shape = append(shape, c.op+" "+c.index)
		}
		if want := []string{OpQuery + " " + IndexByUpdated, OpBatchGetItem + " "}; !slices.Equal(shape, want) {
			t.Errorf("desc %v: a page from the index made %q, want %q", desc, shape, want)
		}
		if _, err := plain.List(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		keys := 0
		for _, c := range rec.reset() {
			keys += c.keys
		}
		if keys != len(stored) {
			t.Errorf("desc %v: a page without the index fetched %d items, want all %d candidates", desc, keys, len(stored))
		}
	}
}

// TestListAdminUpdatedAtIndex: with IndexAllUpdated (the deployment's opt-in) an admin's page
// in updatedAt order reads only that index, a few keys of each shard, and the page's items,
// where without it the page reads every shard whole (here all 128 tasks of 4 tenants for a
// page of 5); both walks list the same tasks in the same order, a status filter included.
func TestListAdminUpdatedAtIndex(t *testing.T) {
	t.Parallel()
	e := setup(t, AdminUpdatedAtIndex)
	rec := &recorder{api: e.client}
	indexed, plain := New(rec, e.table, WithAdminUpdatedAtIndex()), New(rec, e.table)
	var stored []task.Task
	for i := range 128 {
		owner := fmt.Sprintf("tenant-%d", i%4)
		tk := tasktest.Create(t, indexed, tasktest.New(t, owner, tasktest.TypeAlpha, tasktest.At(time.Duration(i)*time.Second)))
		if i%3 == 0 { // updated later, out of created order
			tk = tasktest.Drive(t, indexed, tk, task.Cancelled, tasktest.At(time.Hour-time.Duration(i)*time.Second))
		}
		stored = append(stored, tk)
	}
	now := tasktest.At(2 * time.Hour)
	for _, q := range []task.ListQuery{
		{SortKey: task.SortUpdated, Limit: 5, Now: now},
		{SortKey: task.SortUpdated, Desc: true, Limit: 5, Now: now},
		{SortKey: task.SortUpdated, Desc: true, Limit: 5, Now: now, Statuses: []task.Status{task.Cancelled}},
	} {
		expectWalk(t, "the index's walk", indexed, stored, q)
		expectWalk(t, "the full read's walk", plain, stored, q)
		rec.reset()
		if _, err := indexed.List(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		fetched := 0
		for _, c := range rec.reset() {
			switch {
			case c.op == OpQuery && c.index == IndexAllUpdated:
			case c.op == OpBatchGetItem:
				fetched += c.keys
			default:
				t.Errorf("%+v: a page from the index made %s on %q", q, c.op, c.index)
			}
		}
		if q.Statuses == nil && (fetched == 0 || fetched > len(stored)/2) {
			t.Errorf("%+v: a page from the index fetched %d items, want a few of each shard", q, fetched)
		}
		if _, err := plain.List(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		for _, c := range rec.reset() {
			if c.op == OpQuery && c.index != "" {
				t.Errorf("%+v: the store without the index queried %s", q, c.index)
			}
		}
	}
}
