package lambdatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBadCatalogStopsStartUp: a function built with a bad tasktypes.json (embedded, as a
// deployer's edit would be: the build reads it through -overlay) does not start under RIE,
// and its output says what is wrong with the catalog.
func TestBadCatalogStopsStartUp(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	for _, c := range []struct{ name, catalog, reason string }{
		{"schema", `{"taskTypes": [{"name": "broken", "description": "d", "steps": [{"name": "S", "wait": {"seconds": 0}}]}]}`,
			"task type catalog: does not match its schema (shared/catalog/catalog.schema.json at /$defs/step/properties/wait/properties/seconds): must be >= 1"},
		{"clash", `{"taskTypes": [{"name": "demo", "description": "d", "steps": [{"name": "S", "wait": {"seconds": 1}}]}]}`,
			`task type catalog: "demo" is the name of a type registered in Go`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			boot := buildWithCatalog(t, "create", c.catalog)
			f := startFunction(t, rie(t), boot, "CreateFunction", s.environment(t, "CreateFunction"))
			body, _ := json.Marshal(apiEvent(t, "apigw/create.json", ""))
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(f.url, "application/json", bytes.NewReader(body))
			if err == nil {
				var answer struct {
					ErrorType string `json:"errorType"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&answer)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && answer.ErrorType == "" { // RIE answers 502 when the start-up failed
					t.Errorf("the invocation succeeded (%d): a bad catalog must stop the start-up", resp.StatusCode)
				}
			}
			f.awaitOutput(t, fmt.Sprintf("the output does not give the reason %q", c.reason), func(out string) bool {
				return strings.Contains(out, c.reason)
			})
		})
	}
}

// buildWithCatalog builds functions/<name> with the Makefile's flags and catalog as the
// tasktypes.json it embeds.
func buildWithCatalog(t *testing.T, name, catalog string) string {
	t.Helper()
	genv, flags, err := lambdaFlags()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "tasktypes.json")
	if err := os.WriteFile(bad, []byte(catalog), 0o644); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.Abs(filepath.Join(repoRoot, "tasktypes.json"))
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{real: bad}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bootstrap")
	args := append(append([]string{"build"}, flags...), "-overlay", ov, "-o", out, "./functions/"+name)
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	cmd.Env = append(append(os.Environ(), genv...), "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}
