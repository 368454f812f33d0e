package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tasklane/tasklane/shared/client"
)

func createCmd(std stdio) *cobra.Command {
	var (
		req      client.CreateRequest
		input    string
		asJSON   bool
		resource []string
	)
	cmd := &cobra.Command{
		Use:   "create TYPE",
		Short: "Create a task and print its id",
		Long: `Create a task of TYPE (see ` + "`tasklane types`" + `) and print its id, so that another command
can take it: tasklane wait $(tasklane create demo).

--input is the type's input document, as JSON, or @FILE to read it from a file (@- for
standard input). --idempotency-key names this create: the same key with the same body within
24 hours answers the task it created instead of a new one (without it, tasklane makes a key
of its own, which its retries reuse).`,
		Example: `  tasklane create demo
  tasklane create demo --name "Provision web-01" \
    --input '{"steps":[{"name":"Validate","durationMs":500},{"name":"Allocate","durationMs":2000}]}'
  tasklane create demo --input @steps.json --idempotency-key deploy-42
  tasklane wait $(tasklane create demo)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Type = args[0]
			if input != "" {
				b, err := readInput(input, std.in)
				if err != nil {
					return err
				}
				req.Input = b
			}
			for _, r := range resource {
				typ, id, ok := strings.Cut(r, ":")
				if !ok {
					return fmt.Errorf("--resource %q: want TYPE:ID", r)
				}
				req.Resources = append(req.Resources, client.Resource{Type: typ, ResourceID: id})
			}
			c, err := newClient(std)
			if err != nil {
				return err
			}
			created, err := c.Create(cmd.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(std.out, created.Task)
			}
			_, err = fmt.Fprintln(std.out, created.ID)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "a name for the task")
	f.StringVar(&input, "input", "", "the input document: JSON, or @FILE (@- for standard input)")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "the Idempotency-Key (1 to 255 printable ASCII characters)")
	f.StringArrayVar(&resource, "resource", nil, "a resource the task works on, TYPE:ID (repeatable)")
	f.Int64Var(&req.RetentionSeconds, "retention", 0, "seconds to keep the task once it ended (60 to 2592000; default 48 h)")
	f.BoolVar(&asJSON, "json", false, "print the created task as JSON instead of its id")
	return cmd
}

// readInput reads --input: JSON as given, or @FILE, or @- for in. It must be JSON.
func readInput(v string, in io.Reader) (json.RawMessage, error) {
	var b []byte
	var err error
	switch {
	case v == "@-":
		b, err = io.ReadAll(in)
	case strings.HasPrefix(v, "@"):
		b, err = os.ReadFile(v[1:])
	default:
		b = []byte(v)
	}
	if err != nil {
		return nil, fmt.Errorf("--input: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--input is not valid JSON")
	}
	return json.RawMessage(b), nil
}
