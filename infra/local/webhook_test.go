package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/localrun"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/webhook"
)

// TestRunDeliversWebhooks: `make run` (its app, workers and events relay, in process, on the
// embedded backends) POSTs a task's events to its http://127.0.0.1 callbackUrl, signed with
// WEBHOOK_SECRET: created, processing and success (each delivery on its own, so they may
// arrive in any order).
func TestRunDeliversWebhooks(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	var (
		mu   sync.Mutex
		got  []event.Event
		errs []string
	)
	sec, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		var ev event.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			errs = append(errs, err.Error())
		}
		n, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		ts := time.Unix(n, 0)
		if want := sec.Sign(r.Header.Get("webhook-id"), ts, body); r.Header.Get("webhook-signature") != want || r.Header.Get("webhook-id") != ev.ID {
			errs = append(errs, "bad signature or id: "+r.Header.Get("webhook-id"))
		}
		got = append(got, ev)
	}))
	t.Cleanup(receiver.Close)

	cfg := settings.Settings{DataFile: filepath.Join(t.TempDir(), "tasklane.db"), Local: true,
		Webhooks: settings.Webhooks{Secret: secret, Timeout: 2 * time.Second}}
	ctx, cancel := context.WithCancel(context.Background())
	deps, err := newApp(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	runEvents, err := startEvents(ctx, deps, webhookSinks(deps)...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		localrun.RunWorkers(ctx, deps, localrun.Options{Wait: 100 * time.Millisecond})
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		runEvents(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done; <-done; _ = deps.Close() })
	api := httptest.NewServer(localrun.NewServer(deps))
	t.Cleanup(api.Close)

	id := create(t, api.URL, map[string]any{"type": "demo", "callbackUrl": receiver.URL + "/hooks",
		"input": map[string]any{"steps": []map[string]any{{"name": "Validate"}}}})
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var types []string
	for _, ev := range got {
		if ev.Subject != id {
			t.Errorf("event of %s, want %s", ev.Subject, id)
		}
		types = append(types, strings.TrimPrefix(ev.Type, "tasklane.task."))
	}
	slices.Sort(types) // the deliveries of one task may overtake each other
	if diff := cmp.Diff([]string{"created", "processing", "success"}, types); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
	if len(errs) > 0 {
		t.Errorf("receiver: %v", errs)
	}
}
