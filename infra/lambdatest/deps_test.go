package lambdatest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// localOnly are packages a bootstrap must not link: the embedded backends (a function would
// quietly keep tasks in its ephemeral /tmp, and bbolt costs a tenth of the size budget) and
// the SDK's config module with the credential clients LoadDefaultConfig pulls in (see
// awsbackend.EnvConfig). What a binary contains follows from its imports alone: the
// functions import shared/awsbackend, the local runner shared/embedded.
var localOnly = []string{
	"go.etcd.io/bbolt",
	"github.com/tasklane/tasklane/shared/embedded",
	"github.com/tasklane/tasklane/shared/filestore",
	"github.com/tasklane/tasklane/shared/memqueue",
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
}

// deps lists the packages each of pkgs links when built with the Makefile's Lambda
// environment and flags, by import path.
func deps(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	genv, flags, err := lambdaFlags()
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"list"}, flags...), "-f", "{{.ImportPath}} {{join .Deps \" \"}}")
	cmd := exec.Command("go", append(args, pkgs...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(append(os.Environ(), genv...), "GOARCH="+runtime.GOARCH)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, stderr.String())
	}
	got := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		got[fields[0]] = fields[1:]
	}
	return got
}

// TestBootstrapsLinkNoLocalBackends: no function links a localOnly package, and the local
// runner links them all (so that a renamed package cannot make this test pass vacuously).
func TestBootstrapsLinkNoLocalBackends(t *testing.T) {
	t.Parallel()
	const mod = "github.com/tasklane/tasklane/"
	dirs, err := os.ReadDir(filepath.Join(repoRoot, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var functions []string
	pkgs := []string{"./infra/local"}
	for _, d := range dirs {
		if d.IsDir() {
			functions = append(functions, d.Name())
			pkgs = append(pkgs, "./functions/"+d.Name())
		}
	}
	got := deps(t, pkgs...)
	for _, f := range functions {
		linked, ok := got[mod+"functions/"+f]
		if !ok {
			t.Errorf("go list did not list functions/%s", f)
			continue
		}
		for _, p := range localOnly {
			if slices.Contains(linked, p) {
				t.Errorf("functions/%s links %s", f, p)
			}
		}
		if !slices.Contains(linked, mod+"shared/awsbackend") {
			t.Errorf("functions/%s does not link shared/awsbackend", f)
		}
	}
	local := got[mod+"infra/local"]
	for _, p := range localOnly {
		if !slices.Contains(local, p) {
			t.Errorf("infra/local does not link %s: is localOnly out of date?", p)
		}
	}
}
