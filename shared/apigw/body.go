package apigw

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"reflect"
	"strings"
	"time"

	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
)

// jsonContent refuses bodies that are not JSON (415) before reading them.
func jsonContent(r *request) error {
	ct := header(r.ev, "Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errMediaType
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return errMediaType
	}
	return nil
}

// decodeStrict parses exactly one JSON object with no unknown fields.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &task.FieldError{Field: "body", Reason: "is empty; a JSON object is required"}
	}
	err := strictjson.Decode(body, v)
	if err == nil {
		return nil
	}
	var field *task.FieldError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &field):
		return field
	case errors.As(err, &syn):
		return &task.FieldError{Field: "body", Reason: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.As(err, &typ) && typ.Field == "":
		return &task.FieldError{Field: "body", Reason: "must be a JSON object"}
	case errors.As(err, &typ):
		return &task.FieldError{Field: typ.Field, Reason: "must be " + jsonKind(typ.Type)}
	default:
		return &task.FieldError{Field: "body", Reason: "malformed JSON"}
	}
}

// jsonKind names a Go type the way a client knows it: as a JSON kind.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// emptyBody accepts no body, or an empty JSON object, for retry and cancel.
func emptyBody(r *request) error {
	b := bytes.TrimSpace(r.body)
	if len(b) == 0 || string(b) == "{}" {
		return nil
	}
	return &task.FieldError{Field: "body", Reason: "must be empty"}
}

// specHash identifies a create for Idempotency-Key by what it asks for, not by how it is
// written: the validated spec with every default applied (no name is "", no resources are
// [], no retention is the default's seconds, and the input is as the type reads it, see
// canonicalInput), encoded. So whitespace, key order, number spelling (100.0 for 100) and
// omitted fields versus their defaults do not matter, as the contract says ("Omitted fields
// and their defaults are the same body"); anything that makes another task does.
func (h *Handler) specHash(s task.Spec, owner string) string {
	retention := s.Retention
	if retention == 0 {
		retention = task.DefaultRetention
	}
	resources := s.Resources
	if resources == nil {
		resources = []task.Resource{}
	}
	canon := struct {
		Type             string          `json:"type"`
		Name             string          `json:"name"`
		Input            json.RawMessage `json:"input"`
		Resources        []task.Resource `json:"resources"`
		RetentionSeconds int64           `json:"retentionSeconds"`
		// A service task's (absent for every other, so their hashes are as they were).
		Owner            string      `json:"owner,omitempty"`
		ServiceNamespace string      `json:"serviceNamespace,omitempty"`
		SubTasks         []task.Step `json:"subTasks,omitempty"`
		// omitempty: a body without callbackUrl hashes as it did before the field existed.
		CallbackURL string `json:"callbackUrl,omitempty"`
	}{s.Type, s.Name, h.canonicalInput(s.Type, s.Input), resources, int64(retention / time.Second), owner, s.ServiceNamespace, s.SubTasks, s.CallbackURL}
	raw, _ := json.Marshal(canon)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// canonicalInput is the input as its type reads it (Type.Canonical), defaults filled in; for
// a type without Canonical, the input as parsed, keys sorted and whitespace dropped, numbers
// kept as written (UseNumber) so that inputs differing beyond float64 precision stay
// different. Absent, null and {} are one input for such a type. An input the type refuses is
// hashed as written: its create fails anyway.
func (h *Handler) canonicalInput(typeName string, input json.RawMessage) json.RawMessage {
	if string(input) == "null" || len(input) == 0 {
		input = nil
	}
	if typ, ok := h.svc.Types.Lookup(typeName); ok && typ.Canonical != nil {
		if c, err := typ.Canonical(input); err == nil {
			return c
		}
	}
	if input == nil {
		return json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return input
	}
	out, _ := json.Marshal(v)
	return out
}
