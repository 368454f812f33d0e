package template

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// repoRoot is the repository root, two levels above this package.
var repoRoot = filepath.Join("..", "..")

// project is what the checks read: the template (as plain values), the Makefile's text, the
// directories under functions/, and localstack/env.json.
type project struct {
	tpl          map[string]any
	makefile     string
	functionDirs []string
	envJSON      map[string]map[string]string
}

// sources are the raw files a project is parsed from; the self-check mutates them.
type sources struct {
	template, makefile, envJSON string
	functionDirs                []string
}

func readSources() (sources, error) {
	var s sources
	for _, f := range []struct {
		dst  *string
		path string
	}{
		{&s.template, "template.yaml"},
		{&s.makefile, "Makefile"},
		{&s.envJSON, filepath.Join("localstack", "env.json")},
	} {
		b, err := os.ReadFile(filepath.Join(repoRoot, f.path))
		if err != nil {
			return s, err
		}
		*f.dst = string(b)
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot, "functions"))
	if err != nil {
		return s, err
	}
	for _, e := range entries {
		if e.IsDir() {
			s.functionDirs = append(s.functionDirs, e.Name())
		}
	}
	return s, nil
}

func (s sources) parse() (*project, error) {
	tpl, err := parseTemplate([]byte(s.template))
	if err != nil {
		return nil, fmt.Errorf("template.yaml: %w", err)
	}
	p := &project{tpl: tpl, makefile: s.makefile, functionDirs: s.functionDirs}
	if err := json.Unmarshal([]byte(s.envJSON), &p.envJSON); err != nil {
		return nil, fmt.Errorf("localstack/env.json: %w", err)
	}
	return p, nil
}

// ---- access to plain values (at, mapAt and strAt are in cfn.go)

func listAt(v any, path ...string) []any {
	l, _ := at(v, path...).([]any)
	return l
}

// intAt reads a number written as a number or a string ("5"); ok is false otherwise.
func intAt(v any, path ...string) (int, bool) {
	switch x := at(v, path...).(type) {
	case int:
		return x, true
	case float64:
		return int(x), x == float64(int(x))
	case string:
		n, err := strconv.Atoi(x)
		return n, err == nil
	}
	return 0, false
}

func boolAt(v any, path ...string) bool {
	switch x := at(v, path...).(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// isRef reports whether v is {"Ref": name}.
func isRef(v any, name string) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["Ref"] == name
}

// isGetAtt reports whether v is {"Fn::GetAtt": [resource, attr]} (short or long form).
func isGetAtt(v any, resource, attr string) bool {
	l := listAt(v, "Fn::GetAtt")
	if len(l) == 1 {
		if s, ok := l[0].(string); ok {
			r, a, _ := strings.Cut(s, ".")
			return r == resource && a == attr
		}
	}
	return len(l) == 2 && l[0] == resource && l[1] == attr
}

// mentions reports whether a value (an ARN expression) refers to resource: a Ref, a
// GetAtt, or a ${resource...} in a Sub.
func mentions(v any, resource string) bool {
	switch x := v.(type) {
	case map[string]any:
		if isRef(x, resource) {
			return true
		}
		if l := listAt(x, "Fn::GetAtt"); len(l) > 0 && (l[0] == resource || strings.HasPrefix(fmt.Sprint(l[0]), resource+".")) {
			return true
		}
		if s, ok := x["Fn::Sub"].(string); ok {
			return strings.Contains(s, "${"+resource+"}") || strings.Contains(s, "${"+resource+".")
		}
		for _, e := range x {
			if mentions(e, resource) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if mentions(e, resource) {
				return true
			}
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- the template's parts

func (p *project) resources() map[string]any { return mapAt(p.tpl, "Resources") }

func (p *project) resource(id string) map[string]any { return mapAt(p.resources(), id) }

// resourcesOfType returns the logical ids of one resource type, sorted.
func (p *project) resourcesOfType(typ string) []string {
	var out []string
	for id, r := range p.resources() {
		if strAt(r, "Type") == typ {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// functionIDs are the AWS::Serverless::Function logical ids, sorted.
func (p *project) functionIDs() []string { return p.resourcesOfType("AWS::Serverless::Function") }

// functionName, functionProp and env are FunctionName, FunctionProp and FunctionEnv (cfn.go),
// which infra/lambdatest shares.
func functionName(id string) string { return FunctionName(id) }

func (p *project) functionProp(id, prop string) any { return FunctionProp(p.tpl, id, prop) }

func (p *project) env(id string) map[string]any { return FunctionEnv(p.tpl, id) }

// timeout is a function's Timeout in seconds (SAM's default is 3).
func (p *project) timeout(id string) int {
	if n, ok := intAt(map[string]any{"t": p.functionProp(id, "Timeout")}, "t"); ok {
		return n
	}
	return 3
}

// events returns a function's events of one type (HttpApi, SQS, Schedule), by name.
func (p *project) events(id, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, ev := range mapAt(p.resource(id), "Properties", "Events") {
		if strAt(ev, "Type") == typ {
			out[name] = mapAt(ev, "Properties")
		}
	}
	return out
}
