package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/client"
	"github.com/tasklane/tasklane/shared/client/clienttest"
)

// bundle is one test's Tasklane (the local runner's server on a free loopback port, with its
// worker) and the environment the command runs with.
type bundle struct {
	t   *testing.T
	srv *clienttest.Server
	env map[string]string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	t.Parallel()
	srv := clienttest.Serve(t)
	return &bundle{t: t, srv: srv, env: map[string]string{
		client.EnvURL:   srv.URL,
		client.EnvToken: "dev:tenant-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), "")),
	}}
}

// result is what a run of the command left.
type result struct {
	code        int
	out, stderr string
}

// run runs the command with args in process, its output to buffers (not a terminal).
func (b *bundle) run(args ...string) result {
	b.t.Helper()
	return b.runIn("", args...)
}

func (b *bundle) runIn(stdin string, args ...string) result {
	b.t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, stdio{in: strings.NewReader(stdin), out: &out, err: &errOut, getenv: b.getenv})
	return result{code: code, out: out.String(), stderr: errOut.String()}
}

func (b *bundle) getenv(k string) string { return b.env[k] }

// ok runs args and fails the test unless it exits 0; it returns the standard output.
func (b *bundle) ok(args ...string) string {
	b.t.Helper()
	r := b.run(args...)
	if r.code != 0 {
		b.t.Fatalf("tasklane %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.stderr)
	}
	return r.out
}

// create creates a demo task with input and returns its id.
func (b *bundle) create(input string, args ...string) string {
	b.t.Helper()
	args = append([]string{"create", "demo"}, args...)
	if input != "" {
		args = append(args, "--input", input)
	}
	id := strings.TrimSpace(b.ok(args...))
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`).MatchString(id) {
		b.t.Fatalf("create printed %q, want a ULID", id)
	}
	return id
}

// onTerminal runs the command with a pseudo-terminal as its standard output until ctx ends
// or it exits, and returns its exit code and what the terminal showed.
func (b *bundle) onTerminal(ctx context.Context, args ...string) (int, string) {
	b.t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		b.t.Fatal(err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		b.t.Fatal(err)
	}
	var shown bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		_, _ = io.Copy(&shown, ptmx) // ends with EIO once the terminal is closed
	}()
	var errOut bytes.Buffer
	code := run(ctx, args, stdio{in: strings.NewReader(""), out: tty, err: &errOut, getenv: b.getenv})
	tty.Close()
	<-read
	if errOut.Len() > 0 {
		b.t.Logf("stderr: %s", errOut.String())
	}
	return code, shown.String()
}

func steps(durations ...int) string {
	var s []map[string]any
	for i, d := range durations {
		s = append(s, map[string]any{"name": "Step" + string(rune('A'+i)), "durationMs": d})
	}
	j, _ := json.Marshal(map[string]any{"steps": s})
	return string(j)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestCreateThenWaitSucceeds(t *testing.T) {
	b := setup(t)
	// Steps longer than the 1 s the API's Retry-After asks a poller to wait (until it
	// honours Prefer: wait), so that wait sees each.
	id := b.create(steps(1200, 1200, 1200), "--name", "web-01")
	r := b.run("wait", id)
	if r.code != exitOK {
		t.Fatalf("wait: exit %d, stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.out, "\n"), "\n")
	if lines[0] != "pending 0/3 StepA" && !strings.HasPrefix(lines[0], "processing") {
		t.Errorf("first line %q", lines[0])
	}
	if got := lastLine(r.out); got != id+" success" {
		t.Errorf("last line %q, want %q", got, id+" success")
	}
	// Not a terminal: plain lines, one for each change, no bar.
	if strings.ContainsAny(r.out, "\r\x1b") || !regexp.MustCompile(`(?m)^processing [12]/3 Step[BC]$`).MatchString(r.out) {
		t.Errorf("plain output:\n%s", r.out)
	}
}

func TestWaitExitCodes(t *testing.T) {
	b := setup(t)
	failing := b.create(`{"steps":[{"name":"A"},{"name":"B","failUntilRetry":1}]}`)
	r := b.run("wait", failing)
	if r.code != exitFailure || !strings.HasPrefix(lastLine(r.out), failing+" failure: ") {
		t.Errorf("failing task: exit %d, output %q", r.code, r.out)
	}
	if got := b.ok("retry", failing); got != failing+" pending\n" {
		t.Errorf("retry printed %q", got)
	}
	if r := b.run("wait", failing); r.code != exitOK {
		t.Errorf("retried task: exit %d, %q", r.code, r.out)
	}

	slow := b.create(steps(400, 0))
	if out := b.ok("cancel", slow); !strings.HasPrefix(out, slow+" ") {
		t.Errorf("cancel printed %q", out)
	}
	if r := b.run("wait", slow); r.code != exitCancelled || !strings.HasPrefix(lastLine(r.out), slow+" cancelled") {
		t.Errorf("cancelled task: exit %d, output %q", r.code, r.out)
	}

	r = b.run("wait", "01JDK6Q8W7C2N3X9RT0V5M4B1A")
	if r.code != exitWaitError || !strings.Contains(r.stderr, "404 TASK_NOT_FOUND") {
		t.Errorf("unknown task: exit %d, stderr %q", r.code, r.stderr)
	}
	long := b.create(steps(20000))
	r = b.run("wait", "--timeout", "300ms", long)
	if r.code != exitWaitError || !strings.Contains(r.stderr, "did not end within 300ms") {
		t.Errorf("--timeout: exit %d, stderr %q", r.code, r.stderr)
	}
	b.ok("cancel", long)
}

// TestWaitDrawsABarOnATerminal: on a terminal wait draws a progress bar of the subtasks,
// redrawn in place, that ends full.
func TestWaitDrawsABarOnATerminal(t *testing.T) {
	b := setup(t)
	id := b.create(steps(1200, 1200, 1200)) // see TestCreateThenWaitSucceeds
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, shown := b.onTerminal(ctx, "wait", id)
	if code != exitOK {
		t.Fatalf("exit %d; terminal:\n%q", code, shown)
	}
	if !regexp.MustCompile(`Step[BC] +[36][36]% \[=+>?\.+\] \([12]/3`).MatchString(shown) {
		t.Errorf("no bar of a subtask under way:\n%q", shown)
	}
	for _, want := range []string{"\r", "(3/3", "100%", id + " success"} {
		if !strings.Contains(shown, want) {
			t.Errorf("terminal lacks %q:\n%q", want, shown)
		}
	}
	if strings.Contains(shown, "pending 0/3") {
		t.Errorf("plain lines on a terminal:\n%q", shown)
	}
}

func TestCreateInput(t *testing.T) {
	b := setup(t)
	file := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(file, []byte(`{"steps":[{"name":"FromFile"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	id := b.create("@" + file)
	var task client.Task
	if err := json.Unmarshal([]byte(b.ok("get", "--json", id)), &task); err != nil {
		t.Fatal(err)
	}
	if len(task.SubTasks) != 1 || task.SubTasks[0].Name != "FromFile" {
		t.Errorf("subtasks %+v", task.SubTasks)
	}
	r := b.runIn(`{"steps":[{"name":"FromStdin"}]}`, "create", "demo", "--input", "@-", "--json")
	if err := json.Unmarshal([]byte(r.out), &task); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v: %s", r.code, err, r.out)
	}
	if task.Status != client.Pending || task.SubTasks[0].Name != "FromStdin" {
		t.Errorf("created %+v", task)
	}
	// The same key and body: the same task.
	first := b.create("", "--idempotency-key", "k-1")
	if again := b.create("", "--idempotency-key", "k-1"); again != first {
		t.Errorf("same key: %s, then %s", first, again)
	}
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"create", "demo", "--input", "{nope"}, "--input is not valid JSON"},
		{[]string{"create", "no-such-type"}, "400 UNKNOWN_TASK_TYPE"},
		{[]string{"create"}, "accepts 1 arg(s)"},
		{[]string{"create", "demo", "--input", `{"steps":[{"name":"A","durationMs":-1}]}`}, "400 VALIDATION_FAILED"},
	} {
		r := b.run(c.args...)
		if r.code != exitError || !strings.Contains(r.stderr, c.stderr) || r.out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q, want %q", c.args, r.code, r.out, r.stderr, c.stderr)
		}
	}
}

func TestGet(t *testing.T) {
	b := setup(t)
	id := b.create("", "--name", "Provision web-01")
	b.ok("wait", id)
	out := b.ok("get", id)
	for _, want := range []string{"ID        " + id, "Name      Provision web-01", "Status    success", "Progress  100% (3 of 3 subtasks)",
		`Result    {"steps":3}`, "Subtasks\n  Validate   success  1 attempt\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("get lacks %q:\n%s", want, out)
		}
	}
	r := b.run("get", "nope")
	if r.code != exitError || !strings.Contains(r.stderr, "404 TASK_NOT_FOUND") {
		t.Errorf("get nope: %+v", r)
	}
}

func TestList(t *testing.T) {
	b := setup(t)
	var ids []string
	for _, input := range []string{steps(20000), steps(20000), ""} {
		ids = append([]string{b.create(input)}, ids...) // newest first
	}
	defer b.ok("cancel", ids[1])
	defer b.ok("cancel", ids[2])
	b.ok("wait", ids[0])
	table := b.ok("list")
	rows := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(rows) != 4 || !strings.HasPrefix(rows[0], "ID ") || !strings.Contains(rows[0], "STATUS") {
		t.Fatalf("table:\n%s", table)
	}
	for i, id := range ids {
		if !strings.HasPrefix(rows[i+1], id+"  demo  ") {
			t.Errorf("row %d %q, want task %s", i+1, rows[i+1], id)
		}
	}
	listed := func(args ...string) []string {
		t.Helper()
		var tasks []client.Task
		if err := json.Unmarshal([]byte(b.ok(append([]string{"list", "--json"}, args...)...)), &tasks); err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, task := range tasks {
			out = append(out, task.ID)
		}
		return out
	}
	if diff := cmp.Diff(ids[:2], listed("--limit", "2")); diff != "" {
		t.Errorf("--limit 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids, listed("--limit", "2", "--all")); diff != "" {
		t.Errorf("--limit 2 --all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids[:1], listed("--status", "success")); diff != "" {
		t.Errorf("--status success (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{}, listed("--type", "other")); diff != "" {
		t.Errorf("--type other (-want +got):\n%s", diff)
	}
	r := b.run("list", "--status", "bogus")
	if r.code != exitError || !strings.Contains(r.stderr, "400 INVALID_PARAMETER") {
		t.Errorf("bad status: %+v", r)
	}
	// An admin lists another tenant's tasks; anyone else is refused.
	tenant := strings.TrimPrefix(b.env[client.EnvToken], "dev:")
	r = b.run("list", "--owner", "someone-else")
	if r.code != exitError || !strings.Contains(r.stderr, "403 FORBIDDEN") {
		t.Errorf("--owner of another tenant: %+v", r)
	}
	b.env[client.EnvToken] = "dev:ops:admin"
	if diff := cmp.Diff(ids, listed("--owner", tenant)); diff != "" {
		t.Errorf("admin --owner %s (-want +got):\n%s", tenant, diff)
	}
	b.env[client.EnvToken] = "dev:" + tenant // for the deferred cancels
}

func TestTypes(t *testing.T) {
	b := setup(t)
	out := b.ok("types")
	if !regexp.MustCompile(`(?m)^demo\s+Validate,Allocate,Configure\s+3\s+yes\s+`).MatchString(out) {
		t.Errorf("types:\n%s", out)
	}
}

// TestWatch: watch redraws a table of the tenant's tasks in place on a terminal, and prints
// refresh after refresh otherwise, until interrupted (exit 0).
func TestWatch(t *testing.T) {
	b := setup(t)
	id := b.create(steps(300, 300))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	code, shown := b.onTerminal(ctx, "watch", "--interval", "100ms")
	if code != exitOK {
		t.Fatalf("exit %d:\n%q", code, shown)
	}
	if n := strings.Count(shown, clearScreen); n < 3 {
		t.Errorf("%d redraws in 1.5 s, want several", n)
	}
	if !strings.Contains(shown, id) || !strings.Contains(shown, "processing") || !strings.Contains(shown, "success") {
		t.Errorf("watch did not show the task run and end:\n%q", shown)
	}
	if !strings.HasPrefix(shown, hideCursor) || !strings.HasSuffix(shown, showCursor) {
		t.Errorf("cursor not hidden and shown again:\n%q", shown)
	}

	var out bytes.Buffer
	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	code = run(ctx, []string{"watch", "--interval", "100ms"}, stdio{in: strings.NewReader(""), out: &out, err: io.Discard, getenv: b.getenv})
	if code != exitOK || strings.Contains(out.String(), "\x1b") || strings.Count(out.String(), "Tasks at ") < 2 {
		t.Errorf("watch to a pipe: exit %d\n%s", code, out.String())
	}
	if r := b.run("watch", "--status", "bogus"); r.code != exitError || !strings.Contains(r.stderr, "INVALID_PARAMETER") {
		t.Errorf("watch with a bad filter: %+v", r)
	}
}

func TestHelpExplainsEveryCommand(t *testing.T) {
	b := setup(t)
	root := newRoot(stdio{})
	for _, cmd := range root.Commands() {
		if cmd.Name() == "help" {
			continue
		}
		out := b.ok(cmd.Name(), "--help")
		if !strings.Contains(out, "Examples:") || !strings.Contains(out, "tasklane "+cmd.Name()) || len(cmd.Long) < 80 {
			t.Errorf("%s --help:\n%s", cmd.Name(), out)
		}
	}
	if out := b.ok("--help"); !strings.Contains(out, "TASKLANE_URL") || !strings.Contains(out, "TASKLANE_TOKEN") {
		t.Errorf("--help:\n%s", out)
	}
}

// TestUnreachable: a create against an API that is not there fails with exit 1 and a
// sentence, after its retries.
func TestUnreachable(t *testing.T) {
	b := setup(t)
	b.env[client.EnvURL] = "http://127.0.0.1:1"
	r := b.run("types")
	if r.code != exitError || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("%+v", r)
	}
}

// TestInstalledPipeline builds the command as `go install` would and runs the README's
// walk-through through a shell on a terminal: `tasklane wait $(tasklane create demo)` shows
// the bar and exits 0.
func TestInstalledPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	b := setup(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "tasklane"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sh := exec.Command("sh", "-c", "tasklane wait $(tasklane create demo)")
	sh.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		client.EnvURL+"="+b.env[client.EnvURL], client.EnvToken+"="+b.env[client.EnvToken])
	ptmx, err := pty.StartWithSize(sh, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var shown bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&shown, ptmx) // ends with EIO once the shell and its children exited
	}()
	err = sh.Wait()
	<-done
	if err != nil {
		t.Fatalf("exit: %v; terminal:\n%q", err, shown.String())
	}
	if !strings.Contains(shown.String(), "(3/3") || !regexp.MustCompile(`[0-9A-Z]{26} success`).MatchString(shown.String()) {
		t.Errorf("terminal:\n%q", shown.String())
	}
}
