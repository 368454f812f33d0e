// Package metric writes CloudWatch metrics as Embedded Metric Format (EMF) lines: JSON
// documents on a function's standard output that CloudWatch Logs turns into metrics, with no
// API call and no agent (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
// There is no official Go EMF library, and the format is small: one "_aws" member whose
// CloudWatchMetrics directives name the namespace, the dimension sets and each metric with
// its unit, and the dimensions' and metrics' values as members of the same document.
//
// Tasklane's metrics (namespace Tasklane): what the hook (Hook) sees in every stored change,
// tasks created by type, finished by type and status, each finished subtask's duration and
// attempts, failed attempts; and what other parts report through the Recorder's methods:
// webhook and event delivery failures and how late the work queue's messages are taken.
package metric

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of Tasklane's metrics (template.yaml's dashboard
// reads it).
const Namespace = "Tasklane"

// Unit is a CloudWatch unit, as EMF spells it.
type Unit string

// The units Tasklane uses.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
)

// The metric names, each with one home: what it counts.
const (
	TasksCreated     = "TasksCreated"     // Count by Type
	TasksFinished    = "TasksFinished"    // Count by Type, Status (success, failure, cancelled)
	StepDuration     = "StepDuration"     // Milliseconds by Type: a finished subtask's first start to its end
	StepAttempts     = "StepAttempts"     // Count by Type: the attempts a finished subtask took
	AttemptsFailed   = "AttemptsFailed"   // Count by Type: failed attempts that will be retried
	WebhookFailures  = "WebhookFailures"  // Count by Reason
	EventFailures    = "EventFailures"    // Count by Reason
	OldestMessageAge = "OldestMessageAge" // Seconds: how late a worker batch's most overdue message was taken (shared/worker's lateness)
	MessagesFailed   = "MessagesFailed"   // Count: work-queue messages the worker gave back to SQS
)

// Names lists every metric, for the template's dashboard check.
var Names = []string{TasksCreated, TasksFinished, StepDuration, StepAttempts, AttemptsFailed, WebhookFailures, EventFailures, OldestMessageAge, MessagesFailed}

// Value is one metric value with its unit.
type Value struct {
	Name  string
	Unit  Unit
	Value float64
}

// Recorder writes EMF documents to an output, one JSON line each. It is safe for concurrent
// use; a nil *Recorder records nothing.
type Recorder struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// New makes a Recorder writing to w (a Lambda function's standard output). now may be nil
// (the wall clock).
func New(w io.Writer, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{w: w, now: now}
}

// Discard is a Recorder that writes nothing (the local runner, tests).
func Discard() *Recorder { return New(io.Discard, nil) }

// Record writes one document: the values under one dimension set made of dims (name to
// value; none for a metric without dimensions). A write error is dropped: a lost metric must
// never fail the work it measures.
func (r *Recorder) Record(dims map[string]string, values ...Value) {
	if r == nil || len(values) == 0 {
		return
	}
	doc := map[string]any{}
	names := slices.Sorted(maps.Keys(dims))
	for _, k := range names {
		doc[k] = dims[k]
	}
	defs := make([]map[string]any, 0, len(values))
	for _, v := range values {
		defs = append(defs, map[string]any{"Name": v.Name, "Unit": v.Unit})
		doc[v.Name] = v.Value
	}
	if names == nil {
		names = []string{}
	}
	doc["_aws"] = map[string]any{
		"Timestamp": r.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{names},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	line = append(line, '\n')
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.w.Write(line)
}

// WebhookFailure counts a webhook delivery that failed (reason: "timeout", "status 500",
// ...; keep it to a few values, each is a dimension value).
func (r *Recorder) WebhookFailure(reason string) {
	r.Record(map[string]string{"Reason": reason}, Value{WebhookFailures, Count, 1})
}

// EventFailure counts an event that could not be published.
func (r *Recorder) EventFailure(reason string) {
	r.Record(map[string]string{"Reason": reason}, Value{EventFailures, Count, 1})
}

// QueueAge records how late past its due time a worker took the most overdue message of a
// batch: the work queue's backlog, as the worker sees it.
func (r *Recorder) QueueAge(age time.Duration) {
	r.Record(nil, Value{OldestMessageAge, Seconds, age.Seconds()})
}

// MessagesFailed counts work-queue messages a worker batch handed back for redelivery.
func (r *Recorder) MessagesFailed(n int) {
	if n > 0 {
		r.Record(nil, Value{MessagesFailed, Count, float64(n)})
	}
}
