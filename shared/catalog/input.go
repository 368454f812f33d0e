package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/tasklane/tasklane/shared/task"
)

// A schema is a compiled JSON Schema (draft 2020-12, or draft-07 when it says so) with the
// document it was compiled from, which validate reads to word its errors.
//
// The validator is github.com/google/jsonschema-go rather than santhosh-tekuri/jsonschema,
// which the tests use (and which CI checks tasktypes.json with): that one initialises its
// meta-schemas, formats and x/text printers in every binary that links it, 576 KiB, more than
// the API functions have left of their 10 MiB budget; this one costs 130 KiB.
type schema struct {
	resolved *jsonschema.Resolved
	doc      any
}

// compile compiles a JSON Schema document. Only what the document holds is used: a $ref to
// anything else fails, since a start-up must not depend on the network.
func compile(doc []byte) (*schema, error) {
	var s jsonschema.Schema
	if err := json.Unmarshal(doc, &s); err != nil {
		return nil, err
	}
	r, err := s.Resolve(nil)
	if err != nil {
		return nil, err
	}
	d, err := decode(doc)
	if err != nil {
		return nil, err
	}
	return &schema{resolved: r, doc: d}, nil
}

func decode(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// validate checks doc against s and turns the failure into a *task.FieldError naming the
// failing field below root, e.g. "input.size: must be >= 1". The validator reports where in
// the schema it failed, not where in the instance: the field is read off the schema's path
// (properties/x is .x, items is [], prefixItems/2 is [2]), as far as it maps onto the instance
// (not through $ref, allOf, anyOf, oneOf, where the field named is the enclosing one).
func (s *schema) validate(root string, doc []byte) error {
	if len(doc) == 0 {
		doc = []byte("null")
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return &task.FieldError{Field: root, Reason: "not JSON: " + err.Error()}
	}
	err := s.resolved.Validate(v)
	if err == nil {
		return nil
	}
	return s.fieldError(root, err.Error())
}

var (
	validating = regexp.MustCompile(`validating ([^:]*): `)
	quoted     = regexp.MustCompile(`\["([^"]*)"`)
	gotType    = regexp.MustCompile(`has type "([a-z]+)"`)
)

// fieldError words the validator's message msg ("validating root: validating
// /properties/pages: minimum: 0/1 is less than 1.000000").
func (s *schema) fieldError(root, msg string) *task.FieldError {
	path := ""
	for _, m := range validating.FindAllStringSubmatch(msg, -1) {
		if strings.HasPrefix(m[1], "/") {
			path = m[1]
		}
	}
	last := msg
	if i := strings.LastIndex(msg, "validating "); i >= 0 {
		if j := strings.Index(msg[i:], ": "); j >= 0 {
			last = msg[i+j+2:]
		}
	}
	sub := pointer(s.doc, path)
	field := root + instancePath(path)
	keyword, detail, _ := strings.Cut(last, ": ")
	bound := func(k string) string {
		if m, ok := sub.(map[string]any); ok {
			if n, ok := m[k].(json.Number); ok {
				return n.String()
			}
			b, _ := json.Marshal(m[k])
			return string(b)
		}
		return "?"
	}
	reason := last
	switch {
	case keyword == "required":
		if m := quoted.FindStringSubmatch(detail); m != nil {
			return &task.FieldError{Field: field + "." + m[1], Reason: "is required"}
		}
	case strings.HasPrefix(last, "unexpected additional properties"):
		if m := quoted.FindStringSubmatch(last); m != nil {
			return &task.FieldError{Field: field + "." + m[1], Reason: "is not allowed"}
		}
	case keyword == "minimum":
		reason = "must be >= " + bound("minimum")
	case keyword == "maximum":
		reason = "must be <= " + bound("maximum")
	case keyword == "exclusiveMinimum":
		reason = "must be > " + bound("exclusiveMinimum")
	case keyword == "exclusiveMaximum":
		reason = "must be < " + bound("exclusiveMaximum")
	case keyword == "minLength":
		reason = "must have at least " + bound("minLength") + " characters"
	case keyword == "maxLength":
		reason = "must have at most " + bound("maxLength") + " characters"
	case keyword == "minItems":
		reason = "must have at least " + bound("minItems") + " items"
	case keyword == "maxItems":
		reason = "must have at most " + bound("maxItems") + " items"
	case keyword == "enum":
		reason = "must be one of " + bound("enum")
	case keyword == "const":
		reason = "must be " + bound("const")
	case keyword == "pattern":
		reason = "must match " + strings.Trim(bound("pattern"), `"`)
	case keyword == "type":
		want := strings.ReplaceAll(strings.Trim(bound("type"), `[]`), `","`, " or ")
		reason = "must be " + strings.Trim(want, `"`)
		if m := gotType.FindStringSubmatch(detail); m != nil {
			reason += ", not " + m[1]
		}
	}
	return &task.FieldError{Field: field, Reason: reason}
}

// pointer is the value at the JSON pointer path within doc (nil when there is none).
func pointer(doc any, path string) any {
	cur := doc
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		switch c := cur.(type) {
		case map[string]any:
			cur = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// instancePath maps a schema path onto the instance as far as it can (see validate).
func instancePath(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var b strings.Builder
	for i := 0; i < len(segs); i++ {
		switch segs[i] {
		case "properties":
			if i+1 < len(segs) {
				i++
				b.WriteString("." + strings.NewReplacer("~1", "/", "~0", "~").Replace(segs[i]))
				continue
			}
		case "items", "additionalItems":
			b.WriteString("[]")
			continue
		case "prefixItems":
			if i+1 < len(segs) {
				i++
				b.WriteString("[" + segs[i] + "]")
				continue
			}
		case "":
			continue
		}
		return b.String()
	}
	return b.String()
}

// validateCatalog checks a catalog against the catalog's schema. Its error says what is wrong
// and where in the schema, since most of the catalog's schema is reached through $defs and
// does not map onto the catalog's own fields; the exact place in tasktypes.json is what CI's
// check names (catalog_test.go at the repository's root).
func (s *schema) validateCatalog(doc []byte) error {
	if _, err := decode(doc); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	var v any
	_ = json.Unmarshal(doc, &v)
	err := s.resolved.Validate(v)
	if err == nil {
		return nil
	}
	path := ""
	for _, m := range validating.FindAllStringSubmatch(err.Error(), -1) {
		if strings.HasPrefix(m[1], "/") {
			path = m[1]
		}
	}
	fe := s.fieldError("", err.Error())
	where := strings.TrimPrefix(fe.Field, ".")
	if where != "" {
		where += ": "
	}
	if path == "" {
		path = "/"
	}
	return fmt.Errorf("does not match its schema (shared/catalog/catalog.schema.json at %s): %s%s", path, where, fe.Reason)
}
