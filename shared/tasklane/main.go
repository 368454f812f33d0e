// Command tasklane is the command line client of the Tasklane tasks API: create, get, list,
// wait for, watch, cancel and retry tasks, and list the task types. Install it with
//
//	go install github.com/tasklane/tasklane/shared/tasklane@latest
//
// and run `tasklane --help`. It talks to TASKLANE_URL (default http://127.0.0.1:3000, where
// `make run` serves) with the bearer token TASKLANE_TOKEN, through shared/client.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}
