package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/settings"
)

// TestCrashRecovery kills `make run` (this command, built for real) with SIGKILL while tasks
// are in flight and starts it again on the same data file, with the default settings: the
// in-process queue died with the process, so the restarted runner must find its active tasks
// itself, and the attempts that were under way belong to a worker that is gone, so it must not
// wait out their lease. At least 90 % of the tasks in flight must move within 10 s.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the local runner")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tasklane-local")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataFile := filepath.Join(dir, "data", "tasklane.db")
	addr := freeAddr(t)
	base := "http://" + addr

	first := start(t, bin, addr, dataFile)
	const n = 20
	steps := make([]map[string]any, 5)
	for i := range steps {
		steps[i] = map[string]any{"name": fmt.Sprintf("Step%d", i+1), "durationMs": 2000}
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = create(t, base, map[string]any{"type": "demo", "name": fmt.Sprintf("crash-%d", i), "input": map[string]any{"steps": steps}})
	}
	time.Sleep(1500 * time.Millisecond) // well into the first step of the first batch
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	// The state at the crash, read from the file itself before the restart.
	before := snapshot(t, dataFile, ids)
	inFlight := 0
	for _, id := range ids {
		if s := before[id].Status; s == "pending" || s == "processing" {
			inFlight++
		}
	}
	if inFlight < n/2 {
		t.Fatalf("only %d of %d tasks were in flight at the kill; the test proves nothing", inFlight, n)
	}

	restarted := time.Now()
	second := start(t, bin, addr, dataFile)
	defer func() { _ = second.Process.Kill(); _ = second.Wait() }()
	deadline := restarted.Add(10 * time.Second)
	moved := map[string]bool{}
	for time.Now().Before(deadline) && len(moved)*10 < inFlight*9 {
		for _, id := range ids {
			b := before[id]
			if moved[id] || (b.Status != "pending" && b.Status != "processing") {
				continue
			}
			if now, ok := get(base, id); ok && (now.Status != b.Status || now.Progress != b.Progress || !now.UpdatedAt.Equal(b.UpdatedAt)) {
				moved[id] = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d of %d in-flight tasks moved within %v of the restart", len(moved), inFlight, time.Since(restarted).Round(time.Millisecond))
	if len(moved)*10 < inFlight*9 {
		for _, id := range ids {
			if !moved[id] {
				t.Logf("not moved: %s %s progress %d updatedAt %s", id, before[id].Status, before[id].Progress, before[id].UpdatedAt)
			}
		}
		t.Fatalf("after a kill -9 and a restart only %d of %d in-flight tasks moved within 10 s, want at least 90 %%", len(moved), inFlight)
	}
}

// state is what the test compares of a task.
type state struct {
	Status    string    `json:"status"`
	Progress  int       `json:"progress"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// freeAddr is a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// start runs the local runner on addr and dataFile with the default settings (the
// environment's own Tasklane variables removed, so that it uses the embedded backends) and
// waits until it answers.
func start(t *testing.T, bin, addr, dataFile string) *exec.Cmd {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !isTasklaneVar(name) {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin, "-addr", addr)
	cmd.Env = append(env, settings.EnvDataFile+"="+dataFile, settings.EnvLogLevel+"=WARN")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	cmd.Stdout = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %s:\n%s", bin, logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/v1/task-types")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	t.Fatalf("the local runner did not answer on %s:\n%s", addr, logs.String())
	return nil
}

func isTasklaneVar(name string) bool {
	for _, v := range settings.Vars {
		if v == name {
			return true
		}
	}
	return false
}

func create(t *testing.T, base string, body map[string]any) string {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(base+"/v1/tasks", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create: %d %s", resp.StatusCode, out)
	}
	var v struct{ ID string }
	if err := json.Unmarshal(out, &v); err != nil || v.ID == "" {
		t.Fatalf("create: %v %s", err, out)
	}
	return v.ID
}

func get(base, id string) (state, bool) {
	resp, err := http.Get(base + "/v1/tasks/" + id + "?redirect=false")
	if err != nil {
		return state{}, false
	}
	defer resp.Body.Close()
	var s state
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&s) != nil {
		return state{}, false
	}
	return s, true
}

// snapshot reads the tasks from the data file while no runner holds it.
func snapshot(t *testing.T, dataFile string, ids []string) map[string]state {
	t.Helper()
	fs, err := filestore.Open(dataFile)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	out := map[string]state{}
	for _, id := range ids {
		tk, err := fs.Get(context.Background(), id, time.Now())
		if err != nil {
			t.Fatalf("task %s after the kill: %v", id, err)
		}
		// The API shows milliseconds.
		out[id] = state{Status: string(tk.Status), Progress: tk.Progress, UpdatedAt: tk.UpdatedAt.Truncate(time.Millisecond)}
	}
	return out
}
