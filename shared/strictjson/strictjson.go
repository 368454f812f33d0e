// Package strictjson decodes request documents the way the contract reads them: field names
// are exact lowerCamelCase, unknown fields are refused, and no field is given twice. It also
// writes JSON the way the project stores and serves it (Marshal: no HTML escaping).
// encoding/json alone matches names case-insensitively ({"TYPE": ...} fills Type) and lets
// a repeated key silently overwrite the first, so a client could send what the API then
// reads differently from what the client meant.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tasklane/tasklane/shared/task"
)

var rawMessage = reflect.TypeOf(json.RawMessage(nil))

// MaxDepth is how deeply a document may nest arrays and objects. encoding/json allows 10000
// levels and reports more only as a syntax error; no request document of the API needs more
// than a handful, and every level costs a recursion in whoever walks the document later.
const MaxDepth = 64

// Decode parses data, exactly one JSON value, into v (a pointer to a struct), refusing
// unknown fields, fields whose name differs from the json tag only in case, and repeated
// fields, at every depth the struct describes (json.RawMessage fields are left to their
// own decoder). It refuses what Check refuses. An integer field takes any JSON number
// without a fractional part (100, 100.0, 1e2, as the contract says), a fraction or a value
// out of the field's range being refused. Every refusal of this package is a
// *task.FieldError naming the field by its JSON path (e.g. "steps[1].durationMs"); syntax
// and type errors are returned as encoding/json reports them.
func Decode(data []byte, v any) error {
	if err := Check(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &task.FieldError{Field: "body", Reason: "must hold exactly one JSON value"}
	}
	data, err := normalize(data, reflect.TypeOf(v), "")
	if err != nil {
		return err
	}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	strict.UseNumber()
	return strict.Decode(v)
}

// Check refuses what encoding/json would let through silently or report poorly: bytes that
// are not UTF-8 and \u escapes of lone UTF-16 surrogates (both of which it replaces with
// U+FFFD, so the API would store something other than what was sent), and nesting deeper
// than MaxDepth. The error's Field is "body". Anything else, malformed JSON included, passes
// here and is left to the decoder.
func Check(data []byte) error {
	if !utf8.Valid(data) {
		return &task.FieldError{Field: "body", Reason: "is not valid UTF-8"}
	}
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '"':
				inString = false
			case '\\':
				if r, ok := escapedRune(data, i); ok && utf16.IsSurrogate(rune(r)) {
					if r < 0xdc00 {
						if lo, ok := escapedRune(data, i+6); ok && lo >= 0xdc00 && lo <= 0xdfff {
							i += 11 // a surrogate pair: one character
							continue
						}
					}
					return &task.FieldError{Field: "body", Reason: "has a \\u escape of a lone UTF-16 surrogate, which is no character"}
				}
				i++ // the escaped character
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > MaxDepth {
				return &task.FieldError{Field: "body", Reason: fmt.Sprintf("nests arrays and objects more than %d levels deep", MaxDepth)}
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// escapedRune reads the \uXXXX escape at data[i:], if there is one.
func escapedRune(data []byte, i int) (uint64, bool) {
	if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return 0, false
	}
	r, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 32)
	return r, err == nil
}

// normalize walks data against t: for a struct, every key must be one of its json names,
// once; nested structs, slices and pointers are walked too. It returns data with the values
// of integer fields written as plain integers (1e2 as 100), for the typed decode.
func normalize(data []byte, t reflect.Type, path string) ([]byte, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage || string(bytes.TrimSpace(data)) == "null" {
		return data, nil
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
			return data, err // not an object: the typed decode reports it
		}
		seen := map[string]bool{}
		out := []byte{'{'}
		for i, kv := range obj {
			p := join(path, kv.key)
			ft, known := fields[kv.key]
			switch {
			case seen[kv.key]:
				return nil, &task.FieldError{Field: p, Reason: "is given more than once"}
			case !known:
				return nil, &task.FieldError{Field: p, Reason: "is not a field of this document (names are case-sensitive)"}
			}
			seen[kv.key] = true
			v, err := normalize(kv.value, ft, p)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				out = append(out, ',')
			}
			k, _ := json.Marshal(kv.key)
			out = append(append(append(out, k...), ':'), v...)
		}
		return append(out, '}'), nil
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil {
			return data, nil // not an array: the typed decode reports it
		}
		out := []byte{'['}
		for i, it := range items {
			v, err := normalize(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, v...)
		}
		return append(out, ']'), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		lit := string(bytes.TrimSpace(data))
		if lit == "" || (lit[0] != '-' && (lit[0] < '0' || lit[0] > '9')) {
			return data, nil // not a number: the typed decode reports it
		}
		n, reason := wholeNumber(lit, t)
		if reason != "" {
			return nil, &task.FieldError{Field: path, Reason: reason}
		}
		return []byte(n), nil
	}
	return data, nil
}

// maxDigits bounds the integers wholeNumber writes out: more than any Go integer holds, and
// few enough that 1e1000000000 is refused without being expanded.
const maxDigits = 25

// wholeNumber writes a JSON number literal as a plain integer of t's kind, or says why it
// cannot: a fractional part ("must be a whole number") or a value t cannot hold.
func wholeNumber(lit string, t reflect.Type) (string, string) {
	const fraction, tooBig = "must be a whole number", "is out of range"
	neg := strings.HasPrefix(lit, "-")
	mant, exp := strings.TrimPrefix(lit, "-"), 0
	if i := strings.IndexAny(mant, "eE"); i >= 0 {
		e, err := strconv.Atoi(mant[i+1:])
		if err != nil { // beyond int: only zero survives such an exponent
			e = math.MaxInt32
			if strings.HasPrefix(mant[i+1:], "-") {
				e = math.MinInt32
			}
		}
		mant, exp = mant[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	all := intPart + frac
	digits := strings.TrimLeft(all, "0")
	if digits == "" {
		return "0", ""
	}
	// point: where the decimal point falls in digits (may be before or far after them).
	point := len(intPart) - (len(all) - len(digits))
	if exp > maxDigits || exp < -len(all)-maxDigits {
		if exp > 0 {
			return "", tooBig
		}
		return "", fraction
	}
	point += exp
	digits = strings.TrimRight(digits, "0")
	if point < len(digits) {
		return "", fraction
	}
	if point > maxDigits {
		return "", tooBig
	}
	n := digits + strings.Repeat("0", point-len(digits))
	if neg {
		n = "-" + n
	}
	var err error
	if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
		_, err = strconv.ParseUint(n, 10, t.Bits())
	} else {
		_, err = strconv.ParseInt(n, 10, t.Bits())
	}
	if err != nil {
		return "", tooBig
	}
	return n, ""
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

// Marshal is json.Marshal without HTML escaping, for every JSON document Tasklane writes: the
// API's bodies and the stored task documents. json.Marshal writes <, > and & as \u003c,
// \u003e and \u0026: harmless to a JSON parser, but a list's next link then reads
// "...?limit=2\u0026marker=..." and breaks when copied into a shell, and a field of 256 '<'
// grows sixfold (against the list page's byte cap, and DynamoDB's item size and its bill).
// Nothing written is ever embedded in HTML, so the escaping protects nothing.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
