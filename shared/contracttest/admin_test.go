package contracttest_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestAdminListsAllTenants: an admin listing without owner sees every tenant's tasks,
// newest first, and a paging walk covers each exactly once, the last page without next;
// with owner it sees that tenant's only; a non-admin sees only its own, with or without
// owner naming itself, and a marker of the all-tenants list opens for nothing else.
func TestAdminListsAllTenants(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		a, b := as("tenant-a"), as("tenant-b")
		admin := as("root", "admin")
		var all, aIDs, bIDs []string // in creation order
		for i := range 7 {
			e.clock.Advance(time.Millisecond)
			if i%3 == 2 {
				id := e.create(nil, b...)
				bIDs, all = append(bIDs, id), append(all, id)
			} else {
				id := e.create(nil, a...)
				aIDs, all = append(aIDs, id), append(all, id)
			}
		}
		newest := slices.Clone(all)
		slices.Reverse(newest)

		p := e.getPage("/v1/tasks", admin...)
		sameIDs(t, "admin lists without owner", p.ids(), newest)
		owners := map[any]int{}
		for _, tk := range p.Tasks {
			owners[tk["owner"]]++
		}
		if owners["tenant-a"] != len(aIDs) || owners["tenant-b"] != len(bIDs) || len(owners) != 2 {
			t.Errorf("admin list without owner: tasks by owner %v", owners)
		}
		if p.HasNxt {
			t.Errorf("one page of %d tasks has next %q", len(p.Tasks), p.Next)
		}

		for _, limit := range []int{1, 2, 3, 7} {
			walked, pages := e.walkPages("/v1/tasks?limit="+itoa(limit), limit, admin...)
			sameIDs(t, "admin walk without owner, limit "+itoa(limit), walked, newest)
			if want := (len(all) + limit - 1) / limit; len(pages) != want {
				t.Errorf("limit %d: %d pages, want %d (the last one full or short, never empty)", limit, len(pages), want)
			}
		}
		walked, _ := e.walkPages("/v1/tasks?limit=2&sort_dir=asc", 2, admin...)
		sameIDs(t, "admin walk without owner, oldest first", walked, all)

		sameIDs(t, "admin lists owner=tenant-a", e.getPage("/v1/tasks?owner=tenant-a", admin...).ids(), reversed(aIDs))
		walked, _ = e.walkPages("/v1/tasks?owner=tenant-b&limit=1", 1, admin...)
		sameIDs(t, "admin walks owner=tenant-b", walked, reversed(bIDs))

		sameIDs(t, "tenant-a lists", e.getPage("/v1/tasks", a...).ids(), reversed(aIDs))
		sameIDs(t, "tenant-a lists owner=tenant-a", e.getPage("/v1/tasks?owner=tenant-a", a...).ids(), reversed(aIDs))
		sameIDs(t, "tenant-b lists", e.getPage("/v1/tasks", b...).ids(), reversed(bIDs))
		problem(t, e.do("GET", "/v1/tasks?owner=tenant-b", nil, a...), http.StatusForbidden, "FORBIDDEN")
		// Without the role, a principal named like the admin sees only its own (none).
		if p := e.getPage("/v1/tasks", as("root")...); len(p.Tasks) != 0 {
			t.Errorf("root without admin lists %v", p.ids())
		}

		// The all-tenants marker is bound to "every tenant": not to one owner, nor to another
		// principal.
		first := e.getPage("/v1/tasks?limit=2", admin...)
		if !first.HasNxt {
			t.Fatal("admin list of limit 2: no next")
		}
		q, _ := markerOf(t, first.Next)
		q.Set("owner", "tenant-a")
		problem(t, e.do("GET", "/v1/tasks?"+q.Encode(), nil, admin...), http.StatusBadRequest, "INVALID_MARKER")
		q.Del("owner")
		problem(t, e.do("GET", "/v1/tasks?"+q.Encode(), nil, a...), http.StatusBadRequest, "INVALID_MARKER")
		if got := e.getPage("/v1/tasks?"+q.Encode(), admin...); !slices.Equal(got.ids(), newest[2:4]) {
			t.Errorf("admin's own all-tenants marker: %v, want %v", got.ids(), newest[2:4])
		}
	}, noWorker)
}

func itoa(n int) string { return strconv.Itoa(n) }
