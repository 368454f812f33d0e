package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/metric"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// TestMetricsAreWired: the use cases' stored changes reach the metric hook, and the worker
// counts the messages it hands back, both through the App's Recorder.
func TestMetricsAreWired(t *testing.T) {
	t.Parallel()
	a := apptest.OpenEmbedded(t)
	var out bytes.Buffer
	a.Metrics = metric.New(&out, nil)
	ctx := context.Background()
	if _, err := a.Service().Create(ctx, usecase.Principal{Tenant: "tenant-a"}, usecase.CreateRequest{Spec: task.Spec{Type: "demo"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := a.Worker().Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: "not a message"}}})
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("a poison message: %v %v", resp, err)
	}
	got := out.String()
	for _, want := range []string{`"TasksCreated":1`, `"Type":"demo"`, `"MessagesFailed":1`} {
		if !strings.Contains(got, want) {
			t.Errorf("the metrics lack %s:\n%s", want, got)
		}
	}
}
