package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tasklane/tasklane/shared/client"
)

func getCmd(std stdio) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a task",
		Long: `Show a task: its status, progress, subtasks, errors and result. --json prints the task
document as the API answers it.`,
		Example: `  tasklane get 01JDK6Q8W7C2N3X9RT0V5M4B1A
  tasklane get --json 01JDK6Q8W7C2N3X9RT0V5M4B1A | jq .subTasks`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(std)
			if err != nil {
				return err
			}
			t, err := c.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(std.out, t)
			}
			return printTask(std.out, t)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the task document as JSON")
	return cmd
}

// printTask writes a task for people to read.
func printTask(out io.Writer, t *client.Task) error {
	w := newTable(out)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s\t%s\n", k, v)
		}
	}
	status := string(t.Status)
	if t.CancelRequested && !t.Status.Terminal() {
		status += " (cancel requested)"
	}
	row("ID", t.ID)
	row("Type", t.Type)
	row("Name", t.Name)
	row("Status", status)
	row("Progress", fmt.Sprintf("%d%% (%d of %d subtasks)", t.Progress, t.Done(), len(t.SubTasks)))
	row("Message", t.Message)
	row("Owner", t.Owner)
	if t.RetryCount > 0 {
		row("Retries", fmt.Sprint(t.RetryCount))
	}
	row("Created", stamp(&t.CreatedAt))
	row("Finished", stamp(t.FinishedAt))
	row("Expires", stamp(t.ExpiresAt))
	if len(t.Result) > 0 && string(t.Result) != "null" {
		row("Result", string(t.Result))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(t.SubTasks) > 0 {
		fmt.Fprintln(out, "\nSubtasks")
		w = newTable(out)
		for _, s := range t.SubTasks {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", s.Name, s.Status, plural(s.Attempts, "attempt"))
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if len(t.Errors) > 0 {
		fmt.Fprintln(out, "\nErrors")
		for _, e := range t.Errors {
			where := ""
			if e.SubTask != "" {
				where = " (" + e.SubTask + ")"
			}
			fmt.Fprintf(out, "  %s %s%s: %s\n", e.ErrorType, e.ErrorCode, where, e.Message)
		}
	}
	return nil
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// ago is how long before now t was, briefly ("3s", "5m", "2h", "4d").
func ago(t time.Time, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(max(d, 0).Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// trim shortens s to n runes.
func trim(s string, n int) string {
	r := []rune(strings.ReplaceAll(s, "\n", " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}
