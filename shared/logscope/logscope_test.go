package logscope_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/logscope"
)

// bundle is a logger wrapped in logscope.Handler, writing JSON to a buffer.
type bundle struct {
	out *bytes.Buffer
	log *slog.Logger
}

func setup(t *testing.T) *bundle {
	t.Helper()
	out := &bytes.Buffer{}
	return &bundle{out: out, log: slog.New(logscope.Handler(slog.NewJSONHandler(out, nil)))}
}

func (b *bundle) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		delete(m, "time")
		out = append(out, m)
	}
	return out
}

// TestScope: lines logged with a scoped context carry its attributes, including those added
// after the logger was made and deep below; a child scope keeps its parent's and adds its
// own without changing the parent's; a context without a scope logs as before.
func TestScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := logscope.Start(context.Background(), logscope.RequestID, "r1")
	log := b.log.With("fn", "get")
	log.InfoContext(ctx, "start")
	logscope.Add(ctx, logscope.Tenant, "tenant-a", logscope.TaskID, "t1")
	child := logscope.Start(ctx, "messageId", "m1")
	logscope.Add(child, logscope.TaskID, "t2")
	log.WarnContext(child, "child")
	log.InfoContext(ctx, "parent")
	log.Info("no context")
	want := []map[string]any{
		{"level": "INFO", "msg": "start", "fn": "get", "requestId": "r1"},
		{"level": "WARN", "msg": "child", "fn": "get", "requestId": "r1", "tenant": "tenant-a", "taskId": "t2", "messageId": "m1"},
		{"level": "INFO", "msg": "parent", "fn": "get", "requestId": "r1", "tenant": "tenant-a", "taskId": "t1"},
		{"level": "INFO", "msg": "no context", "fn": "get"},
	}
	if diff := cmp.Diff(want, b.lines(t)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}
