package apigw

import (
	"reflect"
	"testing"
)

// TestIntakeBodyHasCreateFields: an intake message is a create body plus tenant and
// idempotencyKey, field for field, so a field added to the create body must be added there.
func TestIntakeBodyHasCreateFields(t *testing.T) {
	t.Parallel()
	tags := func(v any) map[string]reflect.Type {
		out := map[string]reflect.Type{}
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			out[rt.Field(i).Tag.Get("json")] = rt.Field(i).Type
		}
		return out
	}
	create, intake := tags(createBody{}), tags(intakeBody{})
	for k, typ := range create {
		if intake[k] != typ {
			t.Errorf("intakeBody lacks create field %q (%v)", k, typ)
		}
	}
	if len(intake) != len(create)+2 || intake["tenant"] == nil || intake["idempotencyKey"] == nil {
		t.Errorf("intakeBody has %d fields; want the create body's %d plus tenant and idempotencyKey", len(intake), len(create))
	}
}
