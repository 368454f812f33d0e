package apigw

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// TestBodyHash: the Idempotency-Key comparison treats equivalent bodies as one request and
// different ones as different. "demo" has a Canonical input (defaults filled in); "free"
// has none, so its inputs are compared as parsed JSON.
func TestBodyHash(t *testing.T) {
	t.Parallel()
	free := task.Type{
		Name: "free",
		Plan: func(json.RawMessage) ([]task.Step, error) { return []task.Step{{Name: "x"}}, nil },
		Run:  func(context.Context, task.Attempt) error { return nil },
	}
	reg, err := task.NewRegistry(demo.Type(), free)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{svc: &usecase.Service{Types: reg}}
	hash := func(body string) string {
		t.Helper()
		var b createBody
		if err := decodeStrict([]byte(body), &b); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		spec, err := b.spec()
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return h.specHash(spec, "")
	}
	defaults := `{"steps":[{"name":"Validate"},{"name":"Allocate","durationMs":0},{"name":"Configure","durationMs":0.0,"transientFailures":0e5,"failUntilRetry":0}]}`
	same := [][2]string{
		{`{"type":"free","input":{"a":1,"b":2}}`, `{ "input": {"b":2, "a":1}, "type": "free" }`},
		{`{"type":"free"}`, `{"type":"free","input":null,"resources":[],"retentionSeconds":null,"name":null}`},
		{`{"type":"free"}`, `{"type":"free","input":{}}`},
		{`{"type":"demo"}`, `{"type":"demo","input":null,"resources":[],"retentionSeconds":null,"name":null}`},
		// Omitted fields and their defaults are the same body (the contract).
		{`{"type":"demo"}`, `{"type":"demo","name":"","input":` + defaults + `,"retentionSeconds":172800,"resources":[]}`},
		{`{"type":"demo"}`, `{"type":"demo","input":{}}`},
		{`{"type":"demo"}`, `{"type":"demo","input":{"steps":null}}`},
		{`{"type":"demo","retentionSeconds":3600}`, `{"type":"demo","retentionSeconds":3.6e3}`},
		{`{"type":"demo","input":{"steps":[{"name":"A","durationMs":100}]}}`, `{"type":"demo","input":{"steps":[{"durationMs":1e2,"name":"A","failUntilRetry":0}]}}`},
	}
	for _, p := range same {
		if hash(p[0]) != hash(p[1]) {
			t.Errorf("%s and %s hash differently", p[0], p[1])
		}
	}
	different := [][2]string{
		{`{"type":"free","input":{"n":9007199254740993}}`, `{"type":"free","input":{"n":9007199254740992}}`},
		{`{"type":"demo","name":"a"}`, `{"type":"demo","name":"b"}`},
		{`{"type":"demo","retentionSeconds":60}`, `{"type":"demo","retentionSeconds":61}`},
		{`{"type":"demo","resources":[{"resourceId":"h","type":"HOST"}]}`, `{"type":"demo"}`},
		{`{"type":"demo"}`, `{"type":"free"}`},
		{`{"type":"demo"}`, `{"type":"demo","input":{"steps":[{"name":"Validate"}]}}`},
		{`{"type":"demo","input":{"steps":[{"name":"A","durationMs":100}]}}`, `{"type":"demo","input":{"steps":[{"name":"A","durationMs":101}]}}`},
	}
	for _, p := range different {
		if hash(p[0]) == hash(p[1]) {
			t.Errorf("%s and %s hash the same", p[0], p[1])
		}
	}
}
