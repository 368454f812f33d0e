package apigw

import (
	"reflect"
	"testing"
)

// TestIntakeBodyHasCreateFields: an intake message is a create body plus tenant and
// idempotencyKey, field for field, so a field added to the create body must be added there.
// The service-task fields are the exception: a service task needs a service principal, and
// the intake's tenant is trusted, not a principal with roles (intake messages create the
// tenant's own tasks).
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
	for _, serviceOnly := range []string{"owner", "serviceNamespace", "subTasks"} {
		if _, ok := create[serviceOnly]; !ok {
			t.Errorf("createBody has no %q: update this test's service-only fields", serviceOnly)
		}
		if _, ok := intake[serviceOnly]; ok {
			t.Errorf("intakeBody has the service-only field %q", serviceOnly)
		}
		delete(create, serviceOnly)
	}
	for k, typ := range create {
		if intake[k] != typ {
			t.Errorf("intakeBody lacks create field %q (%v)", k, typ)
		}
	}
	if len(intake) != len(create)+2 || intake["tenant"] == nil || intake["idempotencyKey"] == nil {
		t.Errorf("intakeBody has %d fields; want the create body's %d plus tenant and idempotencyKey", len(intake), len(create))
	}
}
