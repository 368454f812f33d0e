package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tasklane/tasklane/shared/task"
)

// compile compiles a JSON Schema document (draft 2020-12 unless it says otherwise) named url.
// Only what the document holds is used: a $ref to anything else fails to compile, since a
// start-up must not depend on the network.
func compile(url string, doc []byte) (*jsonschema.Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource(url, v); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: schemas here refer to nothing outside themselves", url)
}

// validate checks doc against s and turns the first failure into a *task.FieldError naming
// the failing field below root, e.g. "input.size: must be >= 1".
func validate(s *jsonschema.Schema, root string, doc []byte) error {
	if len(doc) == 0 {
		doc = []byte("null")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return &task.FieldError{Field: root, Reason: "not JSON: " + err.Error()}
	}
	err = s.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return &task.FieldError{Field: root, Reason: err.Error()}
	}
	return fieldError(root, leaf(ve))
}

// leaf follows the first cause down to the failure that has no causes: the most specific.
func leaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	return e
}

func fieldError(root string, e *jsonschema.ValidationError) *task.FieldError {
	field := root + path(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return &task.FieldError{Field: field + path(k.Missing[:1]), Reason: "is required"}
	case *kind.AdditionalProperties:
		return &task.FieldError{Field: field + path(k.Properties[:1]), Reason: "is not allowed"}
	}
	return &task.FieldError{Field: field, Reason: reason(e.ErrorKind)}
}

// path writes an instance location as the API names fields: ".name" and "[3]".
func path(loc []string) string {
	var b strings.Builder
	for _, seg := range loc {
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			b.WriteString("[" + seg + "]")
		} else {
			b.WriteString("." + seg)
		}
	}
	return b.String()
}

var printer = message.NewPrinter(language.English)

// reason says what a failure wants, in the words of the API's other field errors.
func reason(k jsonschema.ErrorKind) string {
	num := func(r *big.Rat) string { return r.FloatString(0) }
	switch k := k.(type) {
	case *kind.Minimum:
		return "must be >= " + ratString(k.Want, num)
	case *kind.Maximum:
		return "must be <= " + ratString(k.Want, num)
	case *kind.ExclusiveMinimum:
		return "must be > " + ratString(k.Want, num)
	case *kind.ExclusiveMaximum:
		return "must be < " + ratString(k.Want, num)
	case *kind.MinLength:
		return fmt.Sprintf("must have at least %d characters", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("must have at most %d characters", k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.Type:
		return fmt.Sprintf("must be %s, not %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Enum:
		want, _ := json.Marshal(k.Want)
		return "must be one of " + string(want)
	case *kind.Const:
		want, _ := json.Marshal(k.Want)
		return "must be " + string(want)
	case *kind.Pattern:
		return "must match " + k.Want
	case *kind.Format:
		return "must be a valid " + k.Want
	case *kind.FalseSchema:
		return "is not allowed"
	}
	return k.LocalizedString(printer)
}

// ratString writes a bound as an integer when it is one, else as a decimal.
func ratString(r *big.Rat, integer func(*big.Rat) string) string {
	if r.IsInt() {
		return integer(r)
	}
	f, _ := r.Float64()
	return fmt.Sprint(f)
}
