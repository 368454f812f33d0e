package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tasklane/tasklane/shared/client"
)

func cancelCmd(std stdio) *cobra.Command {
	return actionCmd(std, "cancel ID", "Cancel a task",
		`Cancel a task. A pending task is cancelled at once; a processing one is marked "cancel
requested" and ends cancelled before its next subtask starts (follow it with tasklane wait,
which then exits 2). A task that has ended cannot be cancelled (409 TASK_NOT_CANCELLABLE).`,
		`  tasklane cancel 01JDK6Q8W7C2N3X9RT0V5M4B1A
  tasklane cancel 01JDK6Q8W7C2N3X9RT0V5M4B1A && tasklane wait 01JDK6Q8W7C2N3X9RT0V5M4B1A`,
		(*client.Client).Cancel)
}

func retryCmd(std stdio) *cobra.Command {
	return actionCmd(std, "retry ID", "Retry a failed task",
		`Retry a failed task: it goes back to pending and runs again from its failed subtask; the
subtasks that succeeded are not run again. Only a failed task whose type allows retries can
be retried (else 409 TASK_NOT_RETRYABLE).`,
		`  tasklane retry 01JDK6Q8W7C2N3X9RT0V5M4B1A
  tasklane list --status failure --json | jq -r '.[].id' | xargs -n1 tasklane retry`,
		(*client.Client).Retry)
}

// actionCmd is a command that changes one task and prints its id and new status.
func actionCmd(std stdio, use, short, long, example string, act func(*client.Client, context.Context, string) (*client.Task, error)) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(std)
			if err != nil {
				return err
			}
			t, err := act(c, cmd.Context(), args[0])
			if err != nil {
				return err
			}
			status := string(t.Status)
			if t.CancelRequested && !t.Status.Terminal() {
				status += " (cancel requested)"
			}
			_, err = fmt.Fprintln(std.out, t.ID, status)
			return err
		},
	}
}

func typesCmd(std stdio) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "types",
		Short: "List the task types",
		Long: `List the task types this deployment runs: each one's default subtasks, its attempt budget
(how often a failing step is tried) and whether a failed task of it may be retried.`,
		Example: `  tasklane types
  tasklane types --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(std)
			if err != nil {
				return err
			}
			types, err := c.TaskTypes(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(std.out, types)
			}
			w := newTable(std.out)
			fmt.Fprintln(w, "NAME\tSUBTASKS\tATTEMPTS\tRETRY\tDESCRIPTION")
			for _, t := range types {
				retry := "no"
				if t.Retryable {
					retry = "yes"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", t.Name, joinNames(t.SubTasks), t.MaxAttempts, retry, trim(t.Description, 60))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the types as JSON")
	return cmd
}
