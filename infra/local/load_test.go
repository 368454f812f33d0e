package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/localrun"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/task"
)

// BenchmarkSteadyLoad is issue #9's bar for the embedded mode: 16 clients create demo tasks of
// three 0 ms steps against `make run` (newApp and runWorkers on the default settings, a fresh
// data file, the HTTP server on loopback) for loadFor. It reports what the runner accepted and
// completed per second once warm (completed: tasks that left pending and processing), the
// backlog when the load stopped, and how long the backlog took to drain after it.
func BenchmarkSteadyLoad(b *testing.B) {
	const (
		clients = 16
		warmup  = 2 * time.Second
		loadFor = 8 * time.Second
	)
	for range b.N {
		r := steadyLoad(b, loadOptions{clients: clients, warmup: warmup, loadFor: loadFor, drainWithin: 2 * time.Minute})
		b.ReportMetric(r.acceptedPerSec, "accepted/s")
		b.ReportMetric(r.completedPerSec, "completed/s")
		b.ReportMetric(float64(r.backlogAtStop), "backlog")
		b.ReportMetric(r.drain.Seconds(), "drain-s")
		b.Logf("accepted %d, %.0f/s; completed %.0f/s once warm; backlog %d at the stop, drained in %v",
			r.accepted, r.acceptedPerSec, r.completedPerSec, r.backlogAtStop, r.drain.Round(time.Millisecond))
	}
}

// TestSteadyLoadDrains runs a short load like BenchmarkSteadyLoad's and asserts what does not
// depend on the machine's speed: every task created succeeds, and the backlog drains (within a
// bound far above the bar's 10 s, so that a busy machine does not fail it).
func TestSteadyLoadDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the local runner under load")
	}
	r := steadyLoad(t, loadOptions{clients: 16, maxTasks: 320, drainWithin: time.Minute})
	t.Logf("accepted %d, %.0f/s; backlog %d at the stop, drained in %v", r.accepted, r.acceptedPerSec, r.backlogAtStop, r.drain.Round(time.Millisecond))
	for _, id := range r.ids {
		got, err := r.deps.Store.Get(context.Background(), id, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != task.Success {
			t.Errorf("task %s is %s after the drain, want %s", id, got.Status, task.Success)
		}
	}
}

type loadOptions struct {
	clients int
	// The load stops after loadFor or once maxTasks were accepted, whichever comes first
	// (0: no bound of that kind).
	loadFor  time.Duration
	maxTasks int
	// warmup is left out of the rates.
	warmup time.Duration
	// drainWithin fails the run whose backlog is not gone this long after the load stopped.
	drainWithin time.Duration
}

type loadResult struct {
	deps                            *app.App
	ids                             []string
	accepted                        int
	acceptedPerSec, completedPerSec float64
	backlogAtStop                   int
	drain                           time.Duration
}

// demoTask is the body each client sends: three steps of 0 ms.
const demoTask = `{"type":"demo","name":"load","input":{"steps":[{"name":"A","durationMs":0},{"name":"B","durationMs":0},{"name":"C","durationMs":0}]}}`

// steadyLoad starts the local runner as main does, drives it, waits for the backlog to drain
// and stops the runner (its store stays open for the caller until the test ends).
func steadyLoad(tb testing.TB, o loadOptions) loadResult {
	tb.Helper()
	for _, v := range settings.Vars {
		tb.Setenv(v, "") // the defaults, as a plain `make run`
	}
	tb.Setenv(settings.EnvDataFile, filepath.Join(tb.TempDir(), "tasklane.db"))
	cfg, err := settings.FromEnv()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	deps, err := newApp(ctx, cfg, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = deps.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := localrun.HTTPServer(localrun.NewServer(deps))
	var running sync.WaitGroup
	running.Go(func() { runWorkers(ctx, deps) })
	running.Go(func() {
		if err := srv.Serve(localrun.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.Error(err)
		}
	})
	defer func() {
		_ = srv.Shutdown(context.Background())
		stop()
		running.Wait()
	}()

	url := "http://" + ln.Addr().String() + "/v1/tasks"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var (
		accepted atomic.Int64
		mu       sync.Mutex
		ids      []string
		failure  error
	)
	begin := time.Now()
	end := time.Time{}
	if o.loadFor > 0 {
		end = begin.Add(o.loadFor)
	}
	loadCtx, cancelLoad := context.WithCancel(ctx)
	var clients sync.WaitGroup
	for range o.clients {
		clients.Go(func() {
			for loadCtx.Err() == nil && (end.IsZero() || time.Now().Before(end)) {
				if o.maxTasks > 0 && accepted.Add(1) > int64(o.maxTasks) {
					return
				}
				id, err := post(loadCtx, client, url)
				if err != nil {
					mu.Lock()
					failure = errors.Join(failure, err)
					mu.Unlock()
					cancelLoad()
					return
				}
				if o.maxTasks == 0 {
					accepted.Add(1)
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}

	// Once warm, note what was accepted and what waits, to rate the window up to the stop.
	var warmAccepted, warmBacklog int
	warmAt := begin
	if o.warmup > 0 {
		select {
		case <-time.After(o.warmup):
		case <-loadCtx.Done():
		}
		warmAt = time.Now()
		mu.Lock()
		warmAccepted = len(ids)
		mu.Unlock()
		warmBacklog = backlog(tb, deps)
	}
	clients.Wait()
	cancelLoad()
	stopped := time.Now()
	if failure != nil {
		tb.Fatal(failure)
	}
	r := loadResult{deps: deps, ids: ids, accepted: len(ids), backlogAtStop: backlog(tb, deps)}
	window := stopped.Sub(warmAt).Seconds()
	r.acceptedPerSec = float64(r.accepted-warmAccepted) / window
	r.completedPerSec = float64((r.accepted-r.backlogAtStop)-(warmAccepted-warmBacklog)) / window

	for n := r.backlogAtStop; n > 0; n = backlog(tb, deps) {
		if time.Since(stopped) > o.drainWithin {
			tb.Fatalf("%d of %d tasks still pending or processing %v after the load stopped", n, r.accepted, o.drainWithin)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.drain = time.Since(stopped)
	return r
}

// post creates one demo task and returns its id.
func post(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(demoTask)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("create: %d %s", resp.StatusCode, body)
	}
	var v struct{ ID string }
	if err := json.Unmarshal(body, &v); err != nil || v.ID == "" {
		return "", fmt.Errorf("create: %v %s", err, body)
	}
	return v.ID, nil
}

// backlog is how many tasks are pending or processing, read from the embedded store's active
// index.
func backlog(tb testing.TB, deps *app.App) int {
	tb.Helper()
	ids, err := deps.Store.(*filestore.Store).Active(context.Background(), time.Now().Add(time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	return len(ids)
}
