package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tasklane/tasklane/shared/client"
)

func waitCmd(std stdio) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait ID",
		Short: "Wait for a task to end, showing its progress",
		Long: `Wait until a task's run ends, showing its progress: on a terminal a live bar of its
subtasks, otherwise a line for each change. It then prints the task's id and how it ended.

The exit code says how it ended, for scripts:
  0  success
  1  failure (the task's message says why; tasklane retry runs it again)
  2  cancelled
  3  no outcome: the API refused (e.g. 404 TASK_NOT_FOUND), could not be reached, --timeout
     passed, or wait was interrupted; the task goes on regardless.

It asks the API to hold each poll until the task changes (Prefer: wait) and otherwise polls
as the API's Retry-After says.`,
		Example: `  tasklane wait $(tasklane create demo)
  tasklane wait --timeout 5m 01JDK6Q8W7C2N3X9RT0V5M4B1A || echo "did not succeed: $?"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(std)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			var show progress = &lines{out: std.out}
			if isTerminal(std.out) {
				show = &bar{out: std.out}
			}
			t, err := c.Wait(ctx, args[0], client.WaitOptions{Progress: show.update})
			show.end(t)
			if err != nil {
				switch {
				case cmd.Context().Err() != nil:
					return fmt.Errorf("interrupted; task %s goes on", args[0])
				case ctx.Err() != nil:
					return fmt.Errorf("the task did not end within %v; it goes on", timeout)
				}
				return err
			}
			outcome := string(t.Status)
			if t.Status != client.Success && t.Message != "" {
				outcome += ": " + t.Message
			}
			fmt.Fprintln(std.out, t.ID, outcome)
			switch t.Status {
			case client.Success:
				return nil
			case client.Cancelled:
				return exitCode(exitCancelled)
			default:
				return exitCode(exitFailure)
			}
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (e.g. 30s, 5m; default never), exit code 3")
	return cmd
}

// progress shows a task's progress as Wait reports it.
type progress interface {
	update(t *client.Task)
	end(t *client.Task) // t is nil when the wait failed
}

// lines writes a line for each change of a task's status or subtask: for logs and pipes.
type lines struct {
	out  io.Writer
	last string
}

func (l *lines) update(t *client.Task) {
	s := fmt.Sprintf("%s %d/%d", t.Status, t.Done(), len(t.SubTasks))
	if cur := t.Current(); cur != nil && !t.Status.Terminal() {
		s += " " + cur.Name
		if cur.Attempts > 1 {
			s += fmt.Sprintf(" (attempt %d)", cur.Attempts)
		}
	}
	if t.CancelRequested && !t.Status.Terminal() {
		s += " (cancel requested)"
	}
	if s != l.last {
		l.last = s
		fmt.Fprintln(l.out, s)
	}
}

func (l *lines) end(*client.Task) {}

// bar is a live progress bar of a task's subtasks on a terminal, described by the subtask
// under way.
type bar struct {
	out io.Writer
	pb  *progressbar.ProgressBar
}

func (b *bar) update(t *client.Task) {
	n := max(len(t.SubTasks), 1)
	if b.pb == nil {
		b.pb = progressbar.NewOptions(n,
			progressbar.OptionSetWriter(b.out),
			progressbar.OptionSetDescription(describe(t)),
			progressbar.OptionSetWidth(min(30, max(terminalWidth(b.out)-50, 10))),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionThrottle(0),
			progressbar.OptionUseANSICodes(true),
			progressbar.OptionSetTheme(progressbar.ThemeASCII),
		)
	}
	if b.pb.GetMax() != n {
		b.pb.ChangeMax(n)
	}
	b.pb.Describe(describe(t))
	_ = b.pb.Set(t.Done())
}

// describe is the bar's description: the subtask under way, or the status.
func describe(t *client.Task) string {
	d := string(t.Status)
	if cur := t.Current(); cur != nil && !t.Status.Terminal() {
		d = cur.Name
		if t.CancelRequested {
			d += " (cancelling)"
		}
	}
	return fmt.Sprintf("%-16s", trim(d, 16))
}

func (b *bar) end(t *client.Task) {
	if b.pb == nil {
		return
	}
	if t != nil {
		b.pb.Describe(describe(t))
		_ = b.pb.Set(t.Done())
	}
	_ = b.pb.Exit()
	fmt.Fprintln(b.out)
}
