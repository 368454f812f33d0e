// Package strictjson decodes request documents the way the contract reads them: field names
// are exact lowerCamelCase, unknown fields are refused, and no field is given twice.
// encoding/json alone matches names case-insensitively ({"TYPE": ...} fills Type) and lets
// a repeated key silently overwrite the first, so a client could send what the API then
// reads differently from what the client meant.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Error names the offending field by its JSON path (e.g. "input.steps[1].name").
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

var rawMessage = reflect.TypeOf(json.RawMessage(nil))

// Decode parses data, exactly one JSON value, into v (a pointer to a struct), refusing
// unknown fields, fields whose name differs from the json tag only in case, and repeated
// fields, at every depth the struct describes (json.RawMessage fields are left to their
// own decoder). Syntax and type errors are returned as encoding/json reports them.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Field: "body", Reason: "must hold exactly one JSON value"}
	}
	if err := checkKeys(data, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	strict.UseNumber()
	return strict.Decode(v)
}

// checkKeys walks data against t: for a struct, every key must be one of its json names,
// once; nested structs, slices and pointers are walked too.
func checkKeys(data []byte, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
		obj, ok, err := object(data)
		if err != nil || !ok {
			return err // not an object: the typed decode reports it
		}
		seen := map[string]bool{}
		for _, kv := range obj {
			p := join(path, kv.key)
			ft, known := fields[kv.key]
			switch {
			case seen[kv.key]:
				return &Error{Field: p, Reason: "is given more than once"}
			case !known:
				return &Error{Field: p, Reason: "is not a field of this document (names are case-sensitive)"}
			}
			seen[kv.key] = true
			if err := checkKeys(kv.value, ft, p); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil {
			return nil
		}
		for i, it := range items {
			if err := checkKeys(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

type member struct {
	key   string
	value json.RawMessage
}

// object reads a JSON object's members in order, repeated keys included (a map would
// hide them).
func object(data []byte) ([]member, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, false, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, false, nil
	}
	var out []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, false, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false, err
		}
		out = append(out, member{key: k.(string), value: v})
	}
	return out, true, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
