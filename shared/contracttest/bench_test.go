package contracttest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/localrun"
)

// BenchmarkCreateAndGet measures the API's own cost of a create and a poll through the
// local runner (HTTP → API Gateway v2 event → handler → embedded store → response): what a
// function adds on top of DynamoDB's latency. Run with `make bench`.
func BenchmarkCreateAndGet(b *testing.B) {
	deps := apptest.OpenEmbedded(b)
	srv := httptest.NewServer(localrun.NewServer(deps))
	b.Cleanup(srv.Close)
	body := []byte(`{"type":"demo","name":"bench","input":{"steps":[{"name":"A"},{"name":"B"}]}}`)
	client := srv.Client()
	for b.Loop() {
		resp, err := client.Post(srv.URL+"/v1/tasks", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var created struct{ ID string }
		err = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("create: %d %v", resp.StatusCode, err)
		}
		resp, err = client.Get(srv.URL + "/v1/tasks/" + created.ID)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("get: %d", resp.StatusCode)
		}
	}
}
