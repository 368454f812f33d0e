// Command local is Tasklane's local runner (`make run`): the API on 127.0.0.1:3000 (SAM's
// default port) through the very handlers Lambda runs, with the worker, the dead-letter
// handler and the sweeper in the same process. Backends follow the environment (see package
// config): by default an embedded file store and an in-process queue; with TABLE_NAME and
// QUEUE_URL (and the SDK's endpoint variables), DynamoDB and SQS.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tasklane/tasklane/shared/config"
	"github.com/tasklane/tasklane/shared/localrun"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to serve the API on")
	flag.Parse()
	cfg, err := config.FromEnv()
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	deps, err := config.Open(ctx, cfg, localrun.Logger(cfg.LogLevel, os.Stderr))
	if err != nil {
		log.Fatal(err)
	}
	defer deps.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := localrun.HTTPServer(localrun.NewServer(deps))
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The in-process queue died with the previous process, if any: re-queue what it held.
		localrun.RunWorkers(ctx, deps, localrun.Options{SweepEvery: cfg.SweepInterval,
			Concurrency: localrun.RunConcurrency, Recover: cfg.QueueURL == ""})
	}()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	store, queue := "file "+cfg.DataFile, "in-process"
	if cfg.TableName != "" {
		store = "DynamoDB table " + cfg.TableName
	}
	if cfg.QueueURL != "" {
		queue = "SQS " + cfg.QueueURL
	}
	deps.Log.Info("Tasklane is serving", "url", "http://"+*addr+"/v1/tasks", "store", store, "queue", queue)
	if err := srv.Serve(localrun.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-done
}
