package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/tasklane/tasklane/shared/client"
)

// listFlags are the filters list and watch share.
type listFlags struct {
	status []string
	typ    string
	owner  string
	limit  int
}

func (f *listFlags) add(cmd *cobra.Command, limit int) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.status, "status", nil, "only tasks of these statuses: pending, processing, success, failure, cancelled (repeatable or comma-separated)")
	fl.StringVar(&f.typ, "type", "", "only tasks of this type")
	fl.StringVar(&f.owner, "owner", "", "an admin: list this tenant's tasks")
	fl.IntVar(&f.limit, "limit", limit, "tasks per page (1 to 100)")
}

func (f *listFlags) options() client.ListOptions {
	return client.ListOptions{Status: statusList(f.status), Type: f.typ, Owner: f.owner, Limit: f.limit}
}

func listCmd(std stdio) *cobra.Command {
	var (
		filter listFlags
		all    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tasks, newest first",
		Long: `List your tasks, newest first: one page of --limit tasks, or with --all every page. As a
table, or with --json as a JSON array of the listed tasks (which carry no input or result).`,
		Example: `  tasklane list
  tasklane list --status failure --type demo
  tasklane list --status pending,processing --all --json | jq -r '.[].id'
  TASKLANE_TOKEN=dev:ops:admin tasklane list --owner tenant-a`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(std)
			if err != nil {
				return err
			}
			tasks := []client.Task{}
			for p, err := range c.Pages(cmd.Context(), filter.options()) {
				if err != nil {
					return err
				}
				tasks = append(tasks, p.Tasks...)
				if !all {
					break
				}
			}
			if asJSON {
				return printJSON(std.out, tasks)
			}
			return printTable(std.out, tasks, time.Now())
		},
	}
	filter.add(cmd, 25)
	cmd.Flags().BoolVar(&all, "all", false, "every page, not only the first")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of the tasks")
	return cmd
}

// printTable writes tasks as a table.
func printTable(out io.Writer, tasks []client.Task, now time.Time) error {
	w := newTable(out)
	fmt.Fprintln(w, "ID\tTYPE\tSTATUS\tSUBTASKS\tAGE\tNAME")
	for _, t := range tasks {
		status := string(t.Status)
		if t.CancelRequested && !t.Status.Terminal() {
			status += "*"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", t.ID, t.Type, status, t.Done(), len(t.SubTasks),
			ago(t.CreatedAt, now), trim(t.Name, 40))
	}
	return w.Flush()
}
