package apigw

import "testing"

// TestBodyHash: the Idempotency-Key comparison treats equivalent bodies as one request and
// different ones as different.
func TestBodyHash(t *testing.T) {
	t.Parallel()
	hash := func(body string) string {
		t.Helper()
		var b createBody
		if err := decodeStrict([]byte(body), &b); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return b.hash()
	}
	same := [][2]string{
		{`{"type":"demo","input":{"a":1,"b":2}}`, `{ "input": {"b":2, "a":1}, "type": "demo" }`},
		{`{"type":"demo"}`, `{"type":"demo","input":null,"resources":[],"retentionSeconds":null,"name":null}`},
	}
	for _, p := range same {
		if hash(p[0]) != hash(p[1]) {
			t.Errorf("%s and %s hash differently", p[0], p[1])
		}
	}
	different := [][2]string{
		{`{"type":"demo","input":{"n":9007199254740993}}`, `{"type":"demo","input":{"n":9007199254740992}}`},
		{`{"type":"demo","name":"a"}`, `{"type":"demo","name":"b"}`},
		{`{"type":"demo","retentionSeconds":60}`, `{"type":"demo","retentionSeconds":61}`},
		{`{"type":"demo","resources":[{"resourceId":"h","type":"HOST"}]}`, `{"type":"demo"}`},
	}
	for _, p := range different {
		if hash(p[0]) == hash(p[1]) {
			t.Errorf("%s and %s hash the same", p[0], p[1])
		}
	}
}
