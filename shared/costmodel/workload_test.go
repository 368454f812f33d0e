package costmodel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/infra/template"
	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/costmodel"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/worker"
)

// The reference lifecycle's counts, as TestReferenceLifecycle measures them on today's
// design. They are what CI holds: a change that makes a task dearer fails that test, and one
// that makes it cheaper updates these numbers (and the README's table) on purpose.
//
// Where they come from, on this design (shared/dynamostore's package comment): the worker
// folds its writes (the claim with the first subtask's start, each finish with the next
// start, the last finish with the success), the item is a compact document under 1 KB, and
// the two indexes (byOwner, byType) are KEYS_ONLY on keys that never change, so a task's
// entries are put once, at its create, and no later write touches them. Index entries are
// billed as AWS documents them (the keys, plus 100 bytes of overhead). The design before
// this one counted 57 WRU and 3.5 RRU (seven indexes projecting the document, three of them
// keyed on updatedAt); the first, 145.
//   - writes: 5 item writes (create; claim + start 1; finish 1 + start 2; finish 2 + start 3;
//     finish 3 + success) on an item that grows from 649 to 851 bytes: the table 5 WRU,
//     byOwner and byType 1 each (the create's puts);
//   - reads: 3 strongly consistent GetItems of 1 RRU (the worker's one read of the task and
//     the 2 polls), and the list's page: one eventually consistent Query of byOwner's keys
//     (0.5 RRU) and one BatchGetItem of the page's item (0.5 RRU: each item by itself,
//     rounded up to 4 KB, halved);
//   - SQS: the create's SendMessage, the event source mapping's ReceiveMessage and
//     DeleteMessage, as the issue.
const (
	wantWRU         = 7
	wantRRU         = 4
	wantSQSRequests = 3
)

// modelOverhead is the fixed time the cost test bills each Lambda invocation besides the
// steps it runs, so that its Lambda cost is a number, not a measurement: a warm invocation's
// decoding, encoding and few DynamoDB and SQS round trips (a few ms each in the region).
// The benchmark bills measured durations instead.
const modelOverhead = 20 * time.Millisecond

// stepMs is each of the reference task's 3 subtasks' duration (the demo type's durationMs).
const stepMs = 100

// TestReferenceLifecycle runs the reference workload once through the real API handler and
// worker on the emulators and holds its DynamoDB and SQS counts (see wantWRU).
func TestReferenceLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inv := b.lifecycle(t, false)
	u := costmodel.Usage{Calls: b.rec.Calls(), Invocations: inv}
	for _, c := range u.Calls {
		t.Logf("%-4s %-20s %-16s ok=%-5v wru=%-4v rru=%-4v writes=%+v reads=%v", c.Service, c.Op, c.Index, c.OK, c.WRU(), c.RRU, c.Writes, c.ReadBytes)
	}
	t.Logf("the reference task, billed with a modelled %v per invocation:\n%s", modelOverhead, costmodel.Table(u, 1))
	if un := u.Unbilled(); len(un) > 0 {
		t.Errorf("calls the model cannot bill: %v", un)
	}
	if got := u.WRU(); got != wantWRU {
		t.Errorf("WRU = %v, want %v (by place: %v)", got, wantWRU, u.WRUBy())
	}
	if got := u.RRU(); got != wantRRU {
		t.Errorf("RRU = %v, want %v", got, wantRRU)
	}
	if got := u.SQSRequests(); got != wantSQSRequests {
		t.Errorf("SQS requests = %v, want %v", got, wantSQSRequests)
	}
	if got := len(u.Invocations); got != 5 {
		t.Errorf("Lambda invocations = %d, want 5 (create, 2 polls, list, worker)", got)
	}
}

// updatedAtIndexWRU is what each opt-in index keyed on updatedAt adds to a task (the
// template's UpdatedAtIndex and AdminUpdatedAtIndex, off by default): its key u changes on
// every write, so the create puts an entry and each of the worker's 4 writes moves it, a
// delete and a put (shared/dynamostore's "Indexes"): 1 + 4 × 2.
const updatedAtIndexWRU = 9

// TestReferenceLifecycleUpdatedAtIndexes holds the opt-ins' price: the reference lifecycle
// on a table with byUpdated, allUpdated or both costs updatedAtIndexWRU more for each, all of
// it on that index, and nothing else changes.
func TestReferenceLifecycleUpdatedAtIndexes(t *testing.T) {
	t.Parallel()
	for _, o := range []optIns{{UpdatedAt: true}, {AdminUpdatedAt: true}, {UpdatedAt: true, AdminUpdatedAt: true}} {
		t.Run(o.String(), func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, o)
			inv := b.lifecycle(t, false)
			u := costmodel.Usage{Calls: b.rec.Calls(), Invocations: inv}
			indexes := o.indexes()
			if got, want := u.WRU(), wantWRU+float64(len(indexes)*updatedAtIndexWRU); got != want {
				t.Errorf("WRU = %v, want %v (by place: %v)", got, want, u.WRUBy())
			}
			for _, index := range indexes {
				if got := u.WRUBy()[index]; got != updatedAtIndexWRU {
					t.Errorf("%s WRU = %v, want %v (by place: %v)", index, got, updatedAtIndexWRU, u.WRUBy())
				}
			}
			if got := u.RRU(); got != wantRRU {
				t.Errorf("RRU = %v, want %v", got, wantRRU)
			}
			if got := u.SQSRequests(); got != wantSQSRequests {
				t.Errorf("SQS requests = %v, want %v", got, wantSQSRequests)
			}
		})
	}
}

// optIns are the deployment's opt-in indexes, with the names the cost model bills them by.
type optIns dynamostore.OptIns

func (o optIns) String() string {
	return fmt.Sprintf("UpdatedAtIndex=%t,AdminUpdatedAtIndex=%t", o.UpdatedAt, o.AdminUpdatedAt)
}

func (o optIns) indexes() []string {
	var out []string
	if o.UpdatedAt {
		out = append(out, dynamostore.IndexByUpdated)
	}
	if o.AdminUpdatedAt {
		out = append(out, dynamostore.IndexAllUpdated)
	}
	return out
}

// BenchmarkReferenceLifecycle runs the reference workload b.N times, bills the measured
// handler durations and reports the dollars per million tasks by component as metrics; it
// logs the cost table once. Run with `make bench`.
func BenchmarkReferenceLifecycle(b *testing.B) {
	bb := setup(b)
	var inv []costmodel.Invocation
	tasks := 0
	bb.rec.Reset()
	for b.Loop() {
		inv = append(inv, bb.lifecycle(b, true)...)
		tasks++
	}
	u := costmodel.Usage{Calls: bb.rec.Calls(), Invocations: inv}
	if un := u.Unbilled(); len(un) > 0 {
		b.Fatalf("calls the model cannot bill: %v", un)
	}
	c := u.Price(tasks)
	b.ReportMetric(c.Total()*1e6, "$/Mtasks")
	b.ReportMetric(c.DynamoDBWrites*1e6, "ddb-write-$/Mtasks")
	b.ReportMetric(c.DynamoDBReads*1e6, "ddb-read-$/Mtasks")
	b.ReportMetric(c.SQS*1e6, "sqs-$/Mtasks")
	b.ReportMetric(c.Lambda()*1e6, "lambda-$/Mtasks")
	b.ReportMetric(u.WRU()/float64(tasks), "WRU/task")
	b.ReportMetric(u.RRU()/float64(tasks), "RRU/task")
	b.Logf("the reference task, measured over %d tasks (handler durations measured on this machine):\n%s", tasks, costmodel.Table(u, tasks))
}

// bundle is a Tasklane on the emulators whose DynamoDB and SQS calls the recorder sees.
type bundle struct {
	rec     *costmodel.Recorder
	api     *apigw.Handler
	worker  *worker.Worker
	queue   queue.Queue
	arn     string
	region  string
	memory  map[string]int // MemorySize by function name (create, get, ...)
	started func() int     // how many successful PutItems the recorder has seen
	table   string         // the table, whose stream events_test.go reads
}

func setup(t testing.TB) *bundle { return setupWith(t, optIns{}) }

// setupWith is setup on a table with the opt-in indexes o, and functions that read them.
func setupWith(t testing.TB, o optIns) *bundle {
	t.Helper()
	ctx := context.Background()
	cfg := awstest.Config(t, "DYNAMODB", "SQS")
	name := awstest.Name("cost")
	admin := dynamodb.NewFromConfig(cfg)
	opts := dynamostore.OptIns(o).TableOptions()
	if err := dynamostore.CreateTable(ctx, admin, name, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	sqsAdmin := sqs.NewFromConfig(cfg)
	queueURL, dlqURL, err := sqsqueue.CreateDeployedQueues(ctx, sqsAdmin, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, u := range []string{queueURL, dlqURL} {
			_, _ = sqsAdmin.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	arn, err := sqsqueue.QueueARN(ctx, sqsAdmin, queueURL)
	if err != nil {
		t.Fatal(err)
	}
	rec := costmodel.NewRecorder(cfg, nil, dynamostore.TableInput(name, opts...))
	b := &bundle{rec: rec, arn: arn, region: cfg.Region, memory: memorySizes(t), table: name}
	b.api, b.worker, b.queue = wire(t, cfg, &http.Client{Transport: rec}, name, queueURL, o)
	b.started = func() int {
		n := 0
		for _, c := range rec.Calls() {
			if c.Op == "PutItem" && c.OK {
				n++
			}
		}
		return n
	}
	return b
}

// wire builds the handler of every route and the worker over DynamoDB and SQS, exactly as a
// Lambda function's start-up does (awsbackend.Open, tasktypes.Registry, app.New), with the
// SDK clients' HTTP going through httpc (the recorder).
func wire(t testing.TB, cfg aws.Config, httpc *http.Client, table, queueURL string, o optIns) (*apigw.Handler, *worker.Worker, queue.Queue) {
	t.Helper()
	s := settings.Settings{
		TableName:           table,
		QueueURL:            queueURL,
		MarkerSecret:        []byte(apptest.MarkerSecret),
		BackoffBase:         settings.DefaultBackoffBase,
		WorkerReserve:       settings.DefaultWorkerReserve,
		UpdatedAtIndex:      o.UpdatedAt,
		AdminUpdatedAtIndex: o.AdminUpdatedAt,
	}
	cfg.HTTPClient = httpc
	backends, err := awsbackend.Open(cfg, s, settings.Uses{API: true, Queue: true, Markers: true})
	if err != nil {
		t.Fatal(err)
	}
	a := apptest.Build(t, s, backends, apptest.QuietLogger(t))
	a.Now = fullLengthNow
	return a.Handler(""), a.Worker(), a.Queue
}

// fullLengthNow is the real time in UTC at millisecond precision plus 1 ns, so that every
// timestamp the task's JSON holds (RFC 3339 with nanoseconds, trailing zeros trimmed) has all
// 9 fractional digits: the item sizes, and so the counts, are the same on every run, and are
// those of the common case (a real clock's nanoseconds end in 0 one time in ten).
func fullLengthNow() time.Time {
	return time.Now().UTC().Truncate(time.Millisecond).Add(time.Nanosecond)
}

// memorySizes reads each function's MemorySize from template.yaml (Globals applied).
func memorySizes(t testing.TB) map[string]int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := template.ParseTemplate(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, id := range template.FunctionIDs(tpl) {
		switch v := template.FunctionProp(tpl, id, "MemorySize").(type) {
		case int:
			out[template.FunctionName(id)] = v
		case float64:
			out[template.FunctionName(id)] = int(v)
		default:
			t.Fatalf("template.yaml: %s has no MemorySize (%T)", id, v)
		}
	}
	return out
}

// lifecycle runs the reference workload once: create a demo task of 3 subtasks of 100 ms,
// deliver its message to the worker as the event source mapping does (receive, invoke,
// delete), poll it once while it runs and once after it succeeded, and list one page. It
// returns the Lambda invocations, billed their measured durations or, unless measured, the
// modelled ones (steps + modelOverhead).
func (b *bundle) lifecycle(t testing.TB, measured bool) []costmodel.Invocation {
	t.Helper()
	ctx := context.Background()
	var inv []costmodel.Invocation
	invoke := func(method, path, query, body string, steps int) events.APIGatewayV2HTTPResponse {
		t.Helper()
		route, _ := apigw.Match(method, path)
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RawPath: path, RawQueryString: query, Body: body,
			Headers:        map[string]string{"content-type": "application/json", "accept": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}},
		}
		start := time.Now()
		resp, err := b.api.Handle(ctx, ev)
		inv = append(inv, b.invocation(route.Function, time.Since(start), steps, measured))
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp
	}
	steps := fmt.Sprintf(`{"name":"Validate","durationMs":%d},{"name":"Allocate","durationMs":%[1]d},{"name":"Configure","durationMs":%[1]d}`, stepMs)
	resp := invoke(http.MethodPost, "/v1/tasks", "", `{"type":"demo","name":"Provision web-01","input":{"steps":[`+steps+`]}}`, 0)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil || created.ID == "" {
		t.Fatalf("create: no id in %s (%v)", resp.Body, err)
	}
	puts := b.started()

	// The event source mapping: one receive, the worker's invocation, the delete.
	ds, err := b.queue.Receive(ctx, eventsource.DefaultBatchSize, 720*time.Second, time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("receive: %d messages, %v", len(ds), err)
	}
	done := make(chan events.SQSEventResponse, 1)
	var workerTook time.Duration
	go func() {
		hctx, cancel := context.WithTimeout(ctx, 120*time.Second) // WorkerFunction's Timeout
		defer cancel()
		hctx = lambdacontext.NewContext(hctx, &lambdacontext.LambdaContext{AwsRequestID: queue.UUID()})
		start := time.Now()
		r, err := b.worker.Handle(hctx, eventsource.Event(ds, b.arn, b.region))
		workerTook = time.Since(start)
		if err != nil {
			t.Errorf("worker: %v", err)
		}
		done <- r
	}()

	// Poll while it runs: once the worker has claimed it (with the first subtask's start)
	// and finished the first subtask (with the second's start).
	deadline := time.Now().Add(10 * time.Second)
	for b.started() < puts+2 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	resp = invoke(http.MethodGet, "/v1/tasks/"+created.ID, "", "", 0)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"status":"processing"`) {
		t.Errorf("poll while running: %d %.200s", resp.StatusCode, resp.Body)
	}

	r := <-done
	if len(r.BatchItemFailures) > 0 {
		t.Fatalf("worker: batch item failures %v", r.BatchItemFailures)
	}
	inv = append(inv, b.invocation("worker", workerTook, 3, measured))
	for _, d := range ds {
		if err := b.queue.Delete(ctx, d.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
	}

	resp = invoke(http.MethodGet, "/v1/tasks/"+created.ID, "", "", 0)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("poll after success: %d %.200s, want 303", resp.StatusCode, resp.Body)
	}
	resp = invoke(http.MethodGet, "/v1/tasks", "", "", 0)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("list: %d %.200s", resp.StatusCode, resp.Body)
	}
	return inv
}

// invocation bills one invocation of function: took when measured, else its steps' time
// plus modelOverhead.
func (b *bundle) invocation(function string, took time.Duration, steps int, measured bool) costmodel.Invocation {
	d := took
	if !measured {
		d = time.Duration(steps)*stepMs*time.Millisecond + modelOverhead
	}
	return costmodel.Invocation{Function: function, MemoryMB: b.memory[function], Duration: d}
}
