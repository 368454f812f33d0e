package client_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/tasklane/tasklane/shared/client"
	"github.com/tasklane/tasklane/shared/client/clienttest"
)

// TestMain serves one Tasklane for the examples, which have no *testing.T, and points
// TASKLANE_URL at it, so that they run as written, with client.FromEnv, against the real
// handlers. The tests serve their own (setup).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tasklane-client-examples")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv, err := clienttest.Start(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(client.EnvURL, srv.URL)
	os.Unsetenv(client.EnvToken)
	code := m.Run()
	srv.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}
