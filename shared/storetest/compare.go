package storetest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tasklane/tasklane/shared/task"
)

// taskOptions say what a store must preserve of a task: every time to the millisecond (in
// any location), raw JSON by meaning, and nil and empty lists alike.
var taskOptions = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.UnixMilli() == b.UnixMilli() }),
	cmpopts.EquateEmpty(),
	// Raw JSON that is not JSON is compared as text. (Two empty values are EquateEmpty's.)
	cmp.FilterValues(func(a, b json.RawMessage) bool { return len(a) > 0 || len(b) > 0 },
		cmp.Comparer(func(a, b json.RawMessage) bool {
			var va, vb any
			if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
				return bytes.Equal(a, b)
			}
			return reflect.DeepEqual(va, vb)
		})),
}

// listedOptions are taskOptions for a task returned by List, which may leave out Input and
// Result (the API omits them from lists).
var listedOptions = cmp.Options{taskOptions, cmpopts.IgnoreFields(task.Task{}, "Input", "Result")}

// assertSameTask fails t when got is not want as a store must preserve it.
func assertSameTask(t *testing.T, what string, want, got task.Task) {
	t.Helper()
	if d := cmp.Diff(want, got, taskOptions); d != "" {
		t.Errorf("%s: task %s differs from what was stored (-stored +got):\n%s", what, want.ID, d)
	}
}

// assertSameListed is assertSameTask for a task returned by List.
func assertSameListed(t *testing.T, what string, want, got task.Task) {
	t.Helper()
	if d := cmp.Diff(want, got, listedOptions); d != "" {
		t.Errorf("%s: listed task %s differs from what was stored (-stored +got):\n%s", what, want.ID, d)
	}
}

// listKey is a task's position in a list sorted by key: milliseconds, then id.
type listKey struct {
	ms int64
	id string
}

func keyOf(tk task.Task, key task.SortKey) listKey {
	if key == task.SortUpdated {
		return listKey{tk.UpdatedAt.UnixMilli(), tk.ID}
	}
	return listKey{tk.CreatedAt.UnixMilli(), tk.ID}
}

func (a listKey) less(b listKey) bool {
	if a.ms != b.ms {
		return a.ms < b.ms
	}
	return a.id < b.id
}

// inOrder reports whether a comes strictly before b in the query's order.
func inOrder(a, b task.Task, key task.SortKey, desc bool) bool {
	ka, kb := keyOf(a, key), keyOf(b, key)
	if desc {
		return kb.less(ka)
	}
	return ka.less(kb)
}

// expectedList is what walking q over all (the final state of every task ever stored)
// must return: q.Owner's tasks live at q.Now that pass the filters, in q's order.
func expectedList(all []task.Task, q task.ListQuery) []task.Task {
	var out []task.Task
	for _, tk := range all {
		if (q.Owner != "" && tk.Owner != q.Owner) || tk.Expired(q.Now) {
			continue
		}
		if q.Type != "" && tk.Type != q.Type {
			continue
		}
		if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, tk.Status) {
			continue
		}
		out = append(out, tk)
	}
	key := q.SortKey
	if key == "" {
		key = task.SortCreated
	}
	sort.Slice(out, func(i, j int) bool { return inOrder(out[i], out[j], key, q.Desc) })
	return out
}

func ids(ts []task.Task) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.ID
	}
	return out
}
