package template

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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

// parseTemplate reads a CloudFormation / SAM template in YAML into plain values
// (map[string]any, []any, string, int, float64, bool, nil). The short forms of intrinsic
// functions become their long forms, as CloudFormation reads them: !Ref X is {"Ref": X},
// !GetAtt A.B is {"Fn::GetAtt": [A, B]}, !Sub s is {"Fn::Sub": s}, !If [...] is
// {"Fn::If": [...]}, and so on. Duplicate keys are an error, as they are for CloudFormation.
func parseTemplate(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	v, err := convert(&doc)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template is not a mapping")
	}
	return m, nil
}

func convert(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return convert(n.Content[0])
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", n.Content[i].Line, k)
			}
			val, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			val, err := convert(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		if isIntrinsic(n.Tag) {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	if !isIntrinsic(n.Tag) {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
	}
	return map[string]any{"Fn::" + name: v}, nil
}

// isIntrinsic tells a CloudFormation short-form tag (!Ref) from YAML's own (!!str).
func isIntrinsic(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// ---- access to plain values

// at walks nested mappings; nil when a key is missing.
func at(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func mapAt(v any, path ...string) map[string]any {
	m, _ := at(v, path...).(map[string]any)
	return m
}

func listAt(v any, path ...string) []any {
	l, _ := at(v, path...).([]any)
	return l
}

func strAt(v any, path ...string) string {
	switch x := at(v, path...).(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
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

// functionName is the directory under functions/ that a logical id builds: the id without
// "Function", lower case (DeadLetterFunction → deadletter), the naming rule of apigw's
// function names and the Makefile's targets.
func functionName(id string) string {
	return strings.ToLower(strings.TrimSuffix(id, "Function"))
}

// functionProp is a function's property with Globals applied, as SAM applies them (the
// function's own value wins, maps are merged key by key; Environment variables are merged
// separately by env).
func (p *project) functionProp(id, prop string) any {
	own, hasOwn := mapAt(p.resource(id), "Properties")[prop]
	global, hasGlobal := mapAt(p.tpl, "Globals", "Function")[prop]
	ownMap, ownIsMap := own.(map[string]any)
	globalMap, globalIsMap := global.(map[string]any)
	switch {
	case hasOwn && hasGlobal && ownIsMap && globalIsMap:
		// SAM merges maps: the function's keys win, Globals' other keys stay.
		merged := map[string]any{}
		for k, v := range globalMap {
			merged[k] = v
		}
		for k, v := range ownMap {
			merged[k] = v
		}
		return merged
	case hasOwn:
		return own
	}
	return global
}

// env is a function's environment: Globals' variables merged with its own, as SAM merges them.
func (p *project) env(id string) map[string]any {
	out := map[string]any{}
	for k, v := range mapAt(p.tpl, "Globals", "Function", "Environment", "Variables") {
		out[k] = v
	}
	for k, v := range mapAt(p.resource(id), "Properties", "Environment", "Variables") {
		out[k] = v
	}
	return out
}

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
