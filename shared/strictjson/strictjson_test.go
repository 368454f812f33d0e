package strictjson_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tasklane/tasklane/shared/strictjson"
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
			var se *strictjson.Error
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
					t.Fatalf("Decode(%s) = %v, want a strictjson.Error on %s", c.in, err, c.field)
				}
			}
		})
	}
}
