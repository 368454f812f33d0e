package costmodel

import (
	"reflect"
	"strings"
	"unicode/utf8"
)

// Value is one DynamoDB attribute value as the JSON protocol carries it ({"S": "x"},
// {"N": "12"}, {"M": {...}}, ...): exactly one field is set. B and BS are base64 on the
// wire; encoding/json decodes them into their raw bytes, which is what DynamoDB counts.
type Value struct {
	S    *string          `json:"S,omitempty"`
	N    *string          `json:"N,omitempty"`
	B    []byte           `json:"B,omitempty"`
	BOOL *bool            `json:"BOOL,omitempty"`
	NULL *bool            `json:"NULL,omitempty"`
	L    []Value          `json:"L,omitempty"`
	M    map[string]Value `json:"M,omitempty"`
	SS   []string         `json:"SS,omitempty"`
	NS   []string         `json:"NS,omitempty"`
	BS   [][]byte         `json:"BS,omitempty"`
}

// Item is an item (or an index entry, or a key) as the JSON protocol carries it.
type Item map[string]Value

// Str is a string Value, for building items by hand.
func Str(s string) Value { return Value{S: &s} }

// Num is a number Value (its decimal text), for building items by hand.
func Num(n string) Value { return Value{N: &n} }

// Size is the item's size in bytes by DynamoDB's rules (see "DynamoDB item sizes and
// formats", docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
// the sum over its attributes of the UTF-8 length of the name plus the size of the value.
// A nil or empty item has size 0.
func (it Item) Size() int {
	n := 0
	for name, v := range it {
		n += len(name) + v.size()
	}
	return n
}

// size is the value's size by the same rules: a string its UTF-8 length; a number about one
// byte per two significant digits plus one (leading and trailing zeros trimmed); a binary its
// raw length; a bool or null 1; a list or map 3 bytes plus, per element, 1 byte and the
// element's size (and, in a map, its name's length); a set the sum of its elements' sizes
// (the page gives no overhead for sets).
func (v Value) size() int {
	switch {
	case v.S != nil:
		return len(*v.S)
	case v.N != nil:
		return numberSize(*v.N)
	case v.B != nil:
		return len(v.B)
	case v.BOOL != nil, v.NULL != nil:
		return 1
	case v.L != nil:
		n := 3
		for _, e := range v.L {
			n += 1 + e.size()
		}
		return n
	case v.M != nil:
		n := 3
		for name, e := range v.M {
			n += 1 + len(name) + e.size()
		}
		return n
	case v.SS != nil:
		n := 0
		for _, s := range v.SS {
			n += len(s)
		}
		return n
	case v.NS != nil:
		n := 0
		for _, s := range v.NS {
			n += numberSize(s)
		}
		return n
	case v.BS != nil:
		n := 0
		for _, b := range v.BS {
			n += len(b)
		}
		return n
	}
	return 0
}

// numberSize is a number's size: (significant digits + 1) / 2 + 1, its digits without sign,
// decimal point, exponent, and leading and trailing zeros. The page calls it approximate;
// for the integers the store writes it is what DynamoDB reports.
func numberSize(s string) int {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.Replace(s, ".", "", 1)
	s = strings.TrimRight(strings.TrimLeft(s, "0"), "0")
	digits := utf8.RuneCountInString(s)
	return (digits+1)/2 + 1
}

// equal reports whether two values are the same value (numbers compared as written, which
// is how the store writes them: integers without padding).
func (v Value) equal(w Value) bool { return reflect.DeepEqual(v, w) }

// project is the attributes of it named in names that it has (nil when none).
func (it Item) project(names []string) Item {
	out := Item{}
	for _, n := range names {
		if v, ok := it[n]; ok {
			out[n] = v
		}
	}
	return out
}
