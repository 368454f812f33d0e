package lambdatest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestObservabilityUnderRIE: the real bootstraps, with the template's environment, write
// the EMF line of a create to standard output (where CloudWatch Logs reads it), log a
// refused request with its request id, task and tenant, serve the OpenAPI document, and hold
// a Prefer: wait within the get function's Timeout.
func TestObservabilityUnderRIE(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	id := s.create(t)
	s.function(t, "CreateFunction").awaitOutput(t, "the create wrote no EMF line of TasksCreated for type demo", func(out string) bool {
		return emfLine(out, "TasksCreated", "demo")
	})

	if r := s.call(t, apiEvent(t, "apigw/get-other-tenant.json", id)); r.StatusCode != http.StatusNotFound {
		t.Fatalf("another tenant's get: %d %s", r.StatusCode, r.Body)
	}
	s.function(t, "GetFunction").awaitOutput(t, "no log line of the refused get with its task and tenant", func(out string) bool {
		return logLine(out, "request refused", map[string]string{"taskId": id, "tenant": "tenant-b"})
	})

	ev := apiEvent(t, "apigw/get.json", id)
	ev.Headers["prefer"] = "wait=2"
	start := time.Now()
	r := s.call(t, ev)
	if took := time.Since(start); r.StatusCode != http.StatusOK || r.Headers["Preference-Applied"] != "wait=2" || took < 2*time.Second {
		t.Errorf("get with Prefer: wait=2 on a pending task: %d, Preference-Applied %q, after %v", r.StatusCode, r.Headers["Preference-Applied"], took)
	}

	r = s.call(t, apiEvent(t, "apigw/openapi.json", ""))
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal([]byte(r.Body), &doc); err != nil || r.StatusCode != http.StatusOK || doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi.json: %d %.200s (%v)", r.StatusCode, r.Body, err)
	}
}

// emfLine reports whether out holds an EMF document recording metric with dimension Type.
func emfLine(out, metric, typ string) bool {
	for _, l := range strings.Split(out, "\n") {
		var doc map[string]any
		if json.Unmarshal([]byte(l), &doc) != nil || doc["_aws"] == nil {
			continue
		}
		if doc[metric] == 1.0 && doc["Type"] == typ {
			return true
		}
	}
	return false
}

// logLine reports whether out holds a JSON log line msg with the attributes want and a
// requestId.
func logLine(out, msg string, want map[string]string) bool {
	for _, l := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil || m["msg"] != msg || m["requestId"] == nil || m["requestId"] == "" {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && m[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}
