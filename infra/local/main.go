// Command local is Tasklane's local runner (`make run`): the API on 127.0.0.1:3000 (SAM's
// default port) through the very handlers Lambda runs, with the worker, the dead-letter
// handler and the sweeper in the same process. With TABLE_NAME set it runs on DynamoDB and
// SQS (TABLE_NAME, QUEUE_URL, DEAD_LETTER_QUEUE_URL and the SDK's usual configuration,
// endpoint variables included: see shared/awsbackend); without it on an embedded file store
// (DATA_FILE) and an in-process queue (shared/embedded).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/embedded"
	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/lambdainvoke"
	"github.com/tasklane/tasklane/shared/localrun"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to serve the API on")
	flag.Parse()
	cfg, err := settings.FromEnv()
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	deps, err := newApp(ctx, cfg, os.Stderr)
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
		runWorkers(ctx, deps)
	}()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	store, queue := "file "+cfg.DataFile, "in-process"
	if cfg.TableName != "" {
		store, queue = "DynamoDB table "+cfg.TableName, "SQS "+cfg.QueueURL
	}
	deps.Log.Info("Tasklane is serving", "url", "http://"+*addr+"/v1/tasks", "store", store, "queue", queue)
	if err := srv.Serve(localrun.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-done
}

// newApp builds the Tasklane of `make run` on the backends cfg names, logging to out.
func newApp(ctx context.Context, cfg settings.Settings, out io.Writer) (*app.App, error) {
	b, err := open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	closeBackends := func() {
		if b.Closer != nil {
			_ = b.Closer.Close()
		}
	}
	rt, err := stepRuntime(ctx, cfg)
	if err != nil {
		closeBackends()
		return nil, err
	}
	types, err := tasktypes.RegistryWith(rt)
	if err != nil {
		closeBackends()
		return nil, err
	}
	deps, err := app.New(cfg, b, types, localrun.Logger(cfg.LogLevel, out))
	if err != nil {
		closeBackends()
		return nil, err
	}
	return deps, nil
}

// stepRuntime is what the catalog's steps run with locally: http steps reach any address,
// this machine's included; lambda steps have a client only when AWS_ENDPOINT_URL_LAMBDA names
// a local stand-in (with the SDK's usual region and credentials, any values for a stand-in).
func stepRuntime(ctx context.Context, s settings.Settings) (catalog.Runtime, error) {
	rt := catalog.Runtime{HTTPClient: executor.NewHTTPClient(true), SigningSecret: s.StepSigningSecret}
	if settings.LambdaEndpoint() == "" {
		return rt, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return rt, fmt.Errorf("aws config for lambda steps: %w", err)
	}
	rt.Lambda = lambdainvoke.FromConfig(cfg)
	return rt, nil
}

// runWorkers runs the worker, the dead-letter handler and the sweeper of `make run` until ctx
// ends.
func runWorkers(ctx context.Context, deps *app.App) {
	// The in-process queue died with the previous process, if any: re-queue what it held.
	localrun.RunWorkers(ctx, deps, localrun.Options{SweepEvery: deps.Settings.SweepInterval,
		Concurrency: localrun.RunConcurrency, Recover: deps.Settings.TableName == ""})
}

// open opens the backends the environment names: DynamoDB and SQS with TABLE_NAME (through
// the SDK's LoadDefaultConfig: profiles, SSO and the rest a developer may use, which the
// Lambda functions leave out), else the embedded ones.
func open(ctx context.Context, s settings.Settings) (app.Backends, error) {
	if s.TableName == "" {
		return embedded.Open(s)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return app.Backends{}, fmt.Errorf("aws config: %w", err)
	}
	return awsbackend.Open(cfg, s, settings.Uses{Queue: true})
}
