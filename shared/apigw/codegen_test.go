package apigw_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasklane/tasklane/shared/apigw"
)

// codegen is the outside generator the document must satisfy, at a pinned version, and the
// runtime its clients import.
const (
	codegen        = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"
	codegenRuntime = "github.com/oapi-codegen/runtime@v1.9.0"
)

// TestOpenAPIGeneratesAClient: oapi-codegen, which reads OpenAPI through kin-openapi (not
// the library the document is validated with), generates the types and a client from the
// served document, and the client compiles in a module of its own. It needs the Go module
// proxy (the first run downloads and builds the generator, about a minute).
func TestOpenAPIGeneratesAClient(t *testing.T) {
	t.Parallel()
	doc, err := apigw.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/tasklaneclient\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", codegen, "-generate", "types,client", "-package", "tasklaneclient", "-o", "client.go", "openapi.json"},
		{"get", codegenRuntime},
		{"mod", "tidy"},
		{"build", "./..."},
		{"vet", "./..."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// The generated module stands alone: no workspace, no flags of the outer build.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	gen, err := os.ReadFile(filepath.Join(dir, "client.go"))
	if err != nil {
		t.Fatal(err)
	}
	// The operations are there under their ids.
	for _, want := range []string{"func (c *Client) CreateTask(", "func (c *Client) GetTask(", "func (c *Client) ListTasks(", "type Task struct"} {
		if !strings.Contains(string(gen), want) {
			t.Errorf("the generated client lacks %q", want)
		}
	}
}
