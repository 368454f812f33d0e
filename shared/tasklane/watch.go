package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tasklane/tasklane/shared/client"
)

// ANSI sequences of the live table.
const (
	clearScreen = "\x1b[H\x1b[2J"
	hideCursor  = "\x1b[?25l"
	showCursor  = "\x1b[?25h"
)

func watchCmd(std stdio) *cobra.Command {
	var (
		filter   listFlags
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "A live table of your tasks",
		Long: `Show a table of your newest tasks (one page of --limit) and refresh it every --interval
until interrupted (Ctrl-C). On a terminal the table is redrawn in place; otherwise each
refresh is printed after the last, with the time. A task whose cancel was requested shows its
status with a *. If the API cannot be reached, the error is shown and the next refresh tries
again.`,
		Example: `  tasklane watch
  tasklane watch --status pending,processing --interval 500ms
  TASKLANE_TOKEN=dev:ops:admin tasklane watch --owner tenant-a`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(std)
			if err != nil {
				return err
			}
			live := isTerminal(std.out)
			if live {
				fmt.Fprint(std.out, hideCursor)
				defer fmt.Fprint(std.out, showCursor)
			}
			ctx := cmd.Context()
			tick := time.NewTicker(interval) // a refresh every interval, however long a list takes
			defer tick.Stop()
			for {
				page, err := c.ListPage(ctx, filter.options())
				if ctx.Err() != nil {
					return nil
				}
				var refused *client.Error
				if errors.As(err, &refused) && refused.Status < 500 && refused.Status != 429 {
					return err // a bad filter or token does not get better
				}
				now := time.Now()
				if live {
					fmt.Fprint(std.out, clearScreen)
				}
				fmt.Fprintf(std.out, "Tasks at %s, %s (every %v)\n\n", c.BaseURL(), now.Format("15:04:05"), interval)
				if err != nil {
					fmt.Fprintln(std.out, "tasklane:", message(err))
				} else {
					if err := printTable(std.out, page.Tasks, now); err != nil {
						return err
					}
				}
				if !live {
					fmt.Fprintln(std.out)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
				}
			}
		},
	}
	filter.add(cmd, 20)
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often to refresh")
	return cmd
}
