package strictjson_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
)

type step struct {
	Name       string `json:"name"`
	DurationMs int    `json:"durationMs"`
}

type doc struct {
	Type  *string         `json:"type"`
	Input json.RawMessage `json:"input"`
	Steps []step          `json:"steps"`
	Inner *struct {
		ID string `json:"resourceId"`
	} `json:"inner"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, field string // field: the refused field; "" when accepted
		syntax          bool   // refused by encoding/json itself
	}{
		{"exact names", `{"type":"demo","steps":[{"name":"a","durationMs":1}],"inner":{"resourceId":"x"},"input":{"ANY":1,"ANY":2}}`, "", false},
		{"case-folded top-level name", `{"TYPE":"demo"}`, "TYPE", false},
		{"case-folded nested name", `{"steps":[{"name":"a"},{"Name":"b"}]}`, "steps[1].Name", false},
		{"case-folded name in a pointer struct", `{"inner":{"ResourceId":"x"}}`, "inner.ResourceId", false},
		{"repeated key", `{"type":"a","type":"b"}`, "type", false},
		{"repeated nested key", `{"steps":[{"name":"a","name":"b"}]}`, "steps[0].name", false},
		{"unknown field", `{"extra":1}`, "extra", false},
		{"two documents", `{} {}`, "body", false},
		{"malformed", `{"type":`, "", true},
		{"wrong type", `{"steps":"x"}`, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var d doc
			err := strictjson.Decode([]byte(c.in), &d)
			var se *task.FieldError
			switch {
			case c.syntax:
				if err == nil || errors.As(err, &se) {
					t.Fatalf("Decode(%s) = %v, want encoding/json's error", c.in, err)
				}
			case c.field == "":
				if err != nil {
					t.Fatalf("Decode(%s) = %v", c.in, err)
				}
				if d.Type == nil || *d.Type != "demo" || len(d.Steps) != 1 || d.Inner.ID != "x" {
					t.Errorf("decoded %+v", d)
				}
			default:
				if !errors.As(err, &se) || se.Field != c.field {
					t.Fatalf("Decode(%s) = %v, want a task.FieldError on %s", c.in, err, c.field)
				}
			}
		})
	}
}

// TestIntegers: an integer field takes any JSON number without a fractional part, as the
// contract says; a fraction or a value the field cannot hold names the field.
func TestIntegers(t *testing.T) {
	t.Parallel()
	type ints struct {
		N  int    `json:"n"`
		P  *int64 `json:"p"`
		U8 uint8  `json:"u8"`
		L  []int  `json:"l"`
	}
	ok := map[string]ints{
		`{"n":100}`:                       {N: 100},
		`{"n":100.0}`:                     {N: 100},
		`{"n":1e2}`:                       {N: 100},
		`{"n":1E+2}`:                      {N: 100},
		`{"n":10000e-2}`:                  {N: 100},
		`{"n":0.1e3}`:                     {N: 100},
		`{"n":-2.50e1}`:                   {N: -25},
		`{"n":0e999999999999999999}`:      {},
		`{"n":-0.0}`:                      {},
		`{"u8":2.55e2}`:                   {U8: 255},
		`{"l":[1.0,2e0,3]}`:               {L: []int{1, 2, 3}},
		`{"n":9223372036854775807}`:       {N: 9223372036854775807},
		`{"n":0.00000000000000000001e20}`: {N: 1},
	}
	for in, want := range ok {
		var got ints
		if err := strictjson.Decode([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got.P != nil || got.N != want.N || got.U8 != want.U8 || len(got.L) != len(want.L) {
			t.Errorf("%s: %+v, want %+v", in, got, want)
		}
	}
	var p ints
	if err := strictjson.Decode([]byte(`{"p":3.6e3}`), &p); err != nil || p.P == nil || *p.P != 3600 {
		t.Errorf("pointer field: %v %v", p.P, err)
	}
	bad := map[string]string{
		`{"n":100.5}`:                 "n",
		`{"n":1e-1}`:                  "n",
		`{"n":1.5e0}`:                 "n",
		`{"n":1e-999999999999999999}`: "n",
		`{"n":1e999999999}`:           "n",
		`{"n":9223372036854775808}`:   "n",
		`{"n":1e19}`:                  "n",
		`{"u8":256}`:                  "u8",
		`{"u8":-1}`:                   "u8",
		`{"l":[1,2.5]}`:               "l[1]",
	}
	for in, field := range bad {
		var got ints
		err := strictjson.Decode([]byte(in), &got)
		var se *task.FieldError
		if !errors.As(err, &se) || se.Field != field {
			t.Errorf("%s: %v, want a task.FieldError naming %s", in, err, field)
		}
	}
}

// TestCheck: bytes that are not UTF-8, escapes of lone surrogates (which encoding/json
// would turn into U+FFFD) and deep nesting are refused with a reason saying so.
func TestCheck(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cases := map[string]string{
		"{\"type\":\"d\xffemo\"}":        "UTF-8",
		"{\"type\":\"\xc3\x28\"}":        "UTF-8",
		`{"type":"\ud800"}`:              "surrogate",
		`{"type":"\udc00\ud800"}`:        "surrogate",
		`{"type":"\ud800x"}`:             "surrogate",
		`{"type":"\ud800\u0041"}`:        "surrogate",
		`{"input":` + deep(65) + `}`:     "64 levels",
		`{"input":` + deep(100000) + `}`: "64 levels",
	}
	for in, want := range cases {
		var d doc
		err := strictjson.Decode([]byte(in), &d)
		var se *task.FieldError
		if !errors.As(err, &se) || se.Field != "body" || !strings.Contains(se.Reason, want) {
			t.Errorf("%.60q: %v, want a body error about %s", in, err, want)
		}
	}
	for _, in := range []string{
		`{"type":"\ud83d\ude00 é \\ud800 \" ["}`, // a pair, a literal backslash-u, brackets in a string
		`{"input":` + deep(63) + `}`,
	} {
		var d doc
		if err := strictjson.Decode([]byte(in), &d); err != nil {
			t.Errorf("%.60q: %v", in, err)
		}
	}
}

func TestMarshalWithoutHTMLEscaping(t *testing.T) {
	b, err := strictjson.Marshal(map[string]string{"next": "/v1/tasks?limit=2&marker=<x>"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"next":"/v1/tasks?limit=2&marker=<x>"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s (no \\u escapes, no trailing newline)", b, want)
	}
}
