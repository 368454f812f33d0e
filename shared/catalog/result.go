package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
)

// A type's result is its last step's output, or, when the catalog gives "result", that JSON
// with each string that is exactly "{{Step}}" or "{{Step.field.sub}}" replaced by the
// output of step Step (or the value at field.sub within it; null when absent). Nothing else
// is interpreted: no expressions, no partial substitution within a longer string. This keeps
// the result a template a deployer reads at a glance; anything more belongs in a last step.
type result struct {
	tmpl any // the parsed template; nil: the last step's output
}

var placeholder = regexp.MustCompile(`^\{\{([^.{}]+)((?:\.[^.{}]+)*)\}\}$`)

// parseResult reads a type's result template and checks that it names only its steps.
func parseResult(raw json.RawMessage, steps map[string]int) (result, error) {
	if len(raw) == 0 {
		return result{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return result{}, err
	}
	var bad error
	walk(v, func(s string) any {
		if m := placeholder.FindStringSubmatch(s); m != nil {
			if _, ok := steps[m[1]]; !ok && bad == nil {
				bad = fmt.Errorf("result: %q names no step of the type", s)
			}
		}
		return s
	})
	return result{tmpl: v}, bad
}

// build is the result of t, whose steps have all succeeded.
func (r result) build(t *task.Task) (json.RawMessage, error) {
	outputs := make(map[string]any, len(t.SubTasks))
	for _, s := range t.SubTasks {
		if s.Output == nil {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(s.Output))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("output of %s: %w", s.Name, err)
		}
		outputs[s.Name] = v
	}
	if r.tmpl == nil {
		if n := len(t.SubTasks); n > 0 && t.SubTasks[n-1].Output != nil {
			return t.SubTasks[n-1].Output, nil
		}
		return json.RawMessage("{}"), nil
	}
	v := walk(r.tmpl, func(s string) any {
		m := placeholder.FindStringSubmatch(s)
		if m == nil {
			return s
		}
		cur := outputs[m[1]]
		for _, f := range strings.Split(strings.TrimPrefix(m[2], "."), ".") {
			if f == "" {
				continue
			}
			obj, _ := cur.(map[string]any)
			cur = obj[f]
		}
		return cur
	})
	return strictjson.Marshal(v)
}

// walk copies v with every string replaced by what f makes of it.
func walk(v any, f func(string) any) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = walk(e, f)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = walk(e, f)
		}
		return out
	}
	return v
}
