package contracttest_test

import (
	"net/http"
	"testing"
)

// TestFieldNamesAreExact: field names are lowerCamelCase exactly; a name in another case or
// a field given twice is a 400, never silently read as something else.
func TestFieldNamesAreExact(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		for _, body := range []string{
			`{"TYPE":"demo"}`,
			`{"type":"demo","Name":"x"}`,
			`{"type":"demo","type":"demo"}`,
			`{"type":"demo","resources":[{"ResourceId":"h","type":"HOST"}]}`,
			`{"type":"demo","input":{"steps":[{"NAME":"A"}]}}`,
			`{"type":"demo","input":{"Steps":[{"name":"A"}]}}`,
		} {
			r := e.do("POST", "/v1/tasks", body, "Content-Type", "application/json")
			problem(t, r, http.StatusBadRequest, "VALIDATION_FAILED")
		}
		if r := e.do("GET", "/v1/tasks", nil); len(r.json(t)["tasks"].([]any)) != 0 {
			t.Errorf("a refused create made a task: %s", r.body)
		}
	}, noWorker)
}
