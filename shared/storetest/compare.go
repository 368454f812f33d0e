package storetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// canonical turns a task into what a store must preserve: every time in UTC at millisecond
// precision, raw JSON by meaning (decoded), and nil and empty lists alike. Two tasks are the
// same when their canonical forms are deeply equal. With listed true, Input and Result are
// dropped, because a store may leave them out of List pages.
func canonical(tk task.Task, listed bool) map[string]any {
	c := tk.Clone()
	ms := func(p *time.Time) {
		if !p.IsZero() {
			*p = time.UnixMilli(p.UnixMilli()).UTC()
		}
	}
	msp := func(p *time.Time) {
		if p != nil {
			ms(p)
		}
	}
	ms(&c.CreatedAt)
	ms(&c.UpdatedAt)
	msp(c.StartedAt)
	msp(c.FinishedAt)
	msp(c.ExpiresAt)
	for i := range c.SubTasks {
		msp(c.SubTasks[i].StartedAt)
		msp(c.SubTasks[i].FinishedAt)
	}
	for i := range c.Errors {
		ms(&c.Errors[i].At)
		if c.Errors[i].Causes == nil {
			c.Errors[i].Causes = []string{}
		}
	}
	if c.SubTasks == nil {
		c.SubTasks = []task.SubTask{}
	}
	if listed {
		c.Input, c.Result = nil, nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		// Raw JSON that is not JSON: compare it as text instead.
		in, res := c.Input, c.Result
		c.Input, c.Result = nil, nil
		if b, err = json.Marshal(c); err != nil {
			panic(fmt.Sprintf("storetest: encode task: %v", err))
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m["input"], m["result"] = "raw:"+string(in), "raw:"+string(res)
		return m
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("storetest: decode task: %v", err))
	}
	return m
}

// diffTask describes how got differs from want, field by field; "" when they are the same.
func diffTask(want, got task.Task, listed bool) string {
	w, g := canonical(want, listed), canonical(got, listed)
	if reflect.DeepEqual(w, g) {
		return ""
	}
	keys := map[string]bool{}
	for k := range w {
		keys[k] = true
	}
	for k := range g {
		keys[k] = true
	}
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !reflect.DeepEqual(w[k], g[k]) {
			lines = append(lines, fmt.Sprintf("  %s: got %s, want %s", k, show(g[k]), show(w[k])))
		}
	}
	return strings.Join(lines, "\n")
}

func show(v any) string {
	if v == nil {
		return "(absent)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// assertSameTask fails t when got is not want as a store must preserve it.
func assertSameTask(t *testing.T, what string, want, got task.Task) {
	t.Helper()
	if d := diffTask(want, got, false); d != "" {
		t.Errorf("%s: task %s differs from what was stored:\n%s", what, want.ID, d)
	}
}

// assertSameListed is assertSameTask for a task returned by List.
func assertSameListed(t *testing.T, what string, want, got task.Task) {
	t.Helper()
	if d := diffTask(want, got, true); d != "" {
		t.Errorf("%s: listed task %s differs from what was stored:\n%s", what, want.ID, d)
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
