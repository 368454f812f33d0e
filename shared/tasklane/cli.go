package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tasklane/tasklane/shared/client"
)

// stdio is what a run of the command works with: its streams and environment (so that tests
// run it in process, many at once, each with its own server and terminal).
type stdio struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	getenv func(string) string
}

// Exit codes. Wait's say how the task ended; any command that could not do what it was asked
// exits exitError (wait: exitWaitError, since 1 and 2 are outcomes there).
const (
	exitOK        = 0
	exitError     = 1
	exitFailure   = 1 // wait: the task failed
	exitCancelled = 2 // wait: the task was cancelled
	exitWaitError = 3 // wait: no outcome (the API refused, unreachable, --timeout, interrupted)
)

// exitCode ends a command with a code and no message (it printed what it had to say).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// run runs the command line args and returns the process's exit code.
func run(ctx context.Context, args []string, std stdio) int {
	root := newRoot(std)
	root.SetArgs(args)
	root.SetIn(std.in)
	root.SetOut(std.out)
	root.SetErr(std.err)
	err := root.ExecuteContext(ctx)
	var code exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	default:
		fmt.Fprintln(std.err, "tasklane:", message(err))
		if cmd, _, ferr := root.Find(args); ferr == nil && cmd.Name() == "wait" {
			return exitWaitError
		}
		return exitError
	}
}

// message is an error as the user reads it: an API problem as its errorCode and detail.
func message(err error) string {
	var e *client.Error
	if errors.As(err, &e) {
		s := fmt.Sprintf("%d %s", e.Status, e.ErrorCode)
		if e.ErrorCode == "" {
			s = fmt.Sprintf("%d %s", e.Status, e.Title)
		}
		if e.Detail != "" {
			s += ": " + e.Detail
		}
		return s
	}
	return err.Error()
}

const rootHelp = `tasklane is the command line client of Tasklane, an asynchronous tasks API: a client asks
for slow work, gets a task at once, and follows it while workers advance its subtasks.

It talks to the API at $TASKLANE_URL (default ` + client.DefaultURL + `, where ` + "`make run`" + `
serves it) as the bearer token $TASKLANE_TOKEN. Locally, without a token, you act as tenant
"local"; TASKLANE_TOKEN=dev:<tenant> acts as another tenant, dev:<tenant>:admin as an admin.
Deployed, TASKLANE_TOKEN is a JWT of the deployment's identity provider.

Calls are retried on 429, 5xx and network errors; a create carries an Idempotency-Key, so a
retried create never makes a second task.`

const rootExample = `  tasklane types                              # what can run
  tasklane wait $(tasklane create demo)       # create a demo task, show its progress, exit 0
  tasklane list --status failure              # what failed
  tasklane retry 01JDK6Q8W7C2N3X9RT0V5M4B1A   # run it again from its failed step
  tasklane watch                              # a live table of your tasks`

func newRoot(std stdio) *cobra.Command {
	root := &cobra.Command{
		Use:           "tasklane",
		Short:         "The command line client of the Tasklane tasks API",
		Long:          rootHelp,
		Example:       rootExample,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(createCmd(std), getCmd(std), listCmd(std), waitCmd(std), watchCmd(std),
		cancelCmd(std), retryCmd(std), typesCmd(std))
	return root
}

// newClient is the client of TASKLANE_URL as TASKLANE_TOKEN.
func newClient(std stdio) (*client.Client, error) {
	base := std.getenv(client.EnvURL)
	if base == "" {
		base = client.DefaultURL
	}
	return client.New(base, client.Options{Token: std.getenv(client.EnvToken), UserAgent: "tasklane-cli"})
}

// isTerminal reports whether w is a terminal (a live bar or table is drawn only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth is w's width in columns, or 80.
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 80
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// statusList reads --status values, repeated or comma-separated.
func statusList(values []string) []client.Status {
	var out []client.Status
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, client.Status(s))
			}
		}
	}
	return out
}

// newTable is the tab-aligned writer of every table the commands print.
func newTable(out io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(out, 0, 4, 2, ' ', 0) }

func joinNames(names []string) string { return trim(strings.Join(names, ","), 40) }
