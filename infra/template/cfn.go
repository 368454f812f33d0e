package template

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file is the CloudFormation reading that both the drift test (this package's tests)
// and the Lambda harness (infra/lambdatest) need: the template as plain values, and a
// function's logical id, properties and environment as SAM resolves Globals.

// ParseTemplate reads template.yaml's text; see parseTemplate.
func ParseTemplate(data []byte) (map[string]any, error) { return parseTemplate(data) }

// FunctionIDs are tpl's AWS::Serverless::Function logical ids, sorted.
func FunctionIDs(tpl map[string]any) []string {
	var out []string
	for id, r := range mapAt(tpl, "Resources") {
		if strAt(r, "Type") == "AWS::Serverless::Function" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// FunctionName is the directory under functions/ that a logical id builds: the id without
// "Function", lower case (DeadLetterFunction → deadletter), the naming rule of package function's
// function names and the Makefile's targets.
func FunctionName(id string) string {
	return strings.ToLower(strings.TrimSuffix(id, "Function"))
}

// FunctionProp is a function's property with Globals applied, as SAM applies them (the
// function's own value wins; Environment variables are merged separately by FunctionEnv).
func FunctionProp(tpl map[string]any, id, prop string) any {
	own, hasOwn := mapAt(tpl, "Resources", id, "Properties")[prop]
	global := mapAt(tpl, "Globals", "Function")[prop]
	ownMap, ownIsMap := own.(map[string]any)
	globalMap, globalIsMap := global.(map[string]any)
	switch {
	case hasOwn && ownIsMap && globalIsMap:
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

// FunctionEnv is a function's environment as the template writes it (values may be
// intrinsics such as {"Ref": "TasksTable"}): Globals' variables merged with its own, as SAM
// merges them.
func FunctionEnv(tpl map[string]any, id string) map[string]any {
	out := map[string]any{}
	for k, v := range mapAt(tpl, "Globals", "Function", "Environment", "Variables") {
		out[k] = v
	}
	for k, v := range mapAt(tpl, "Resources", id, "Properties", "Environment", "Variables") {
		out[k] = v
	}
	return out
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
