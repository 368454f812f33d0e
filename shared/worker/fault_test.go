package worker_test

// Robustness tests of the worker, on both backends: the embedded one (file store, in-process
// queue) and the AWS one (DynamoDB and SQS on the emulator, a fresh table and queues per
// test). Failures are injected from outside with shared/fault; time is the bundle's clock.
//
// This file holds the bundle the robustness tests share (setup, onBackends) and the tests of
// crashes, poison messages and lost responses; race_test.go holds duplicate deliveries and
// races with cancel and retry; dispatch_test.go messages ahead of (or without) their task's
// write, and expiry.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
	"github.com/tasklane/tasklane/shared/usecase"
	"github.com/tasklane/tasklane/shared/worker"
)

// backends are the backends every robustness test runs on.
var backends = []string{"embedded", "aws"}

// onBackends runs f as a parallel subtest per backend, each on a fresh bundle from setup.
func onBackends(t *testing.T, f func(t *testing.T, r *bundle), opts ...option) {
	t.Helper()
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, setup(t, append([]option{withBackend(b)}, opts...)...))
		})
	}
}

// options change what setup builds.
type options struct {
	// backend is "embedded" (file store, in-process queues; the default) or "aws" (DynamoDB
	// and SQS on the emulator, a fresh table and queues).
	backend string
	// maxReceive is the work queue's redrive policy. Default 5, the template's.
	maxReceive int
	// short makes the visibility timeout short, for tests that wait for messages to come
	// back: 3 s on SQS, 1 s in process; otherwise it is 30 s. It is the work queue's
	// visibility timeout and the event source mapping's (whose function timeout defaults to
	// it), so it is also each delivery's lease: it must outlast a whole task's delivery on a
	// loaded machine (every suite at once, the race detector, one emulator), or a redelivery
	// takes the attempt over and the counts these tests hold change. SQS's shortest, 1 s, did
	// not (CI, two runs side by side).
	short bool
}

// An option changes one of setup's options.
type option func(*options)

func withBackend(name string) option { return func(o *options) { o.backend = name } }
func withMaxReceive(n int) option    { return func(o *options) { o.maxReceive = n } }
func withShortVisibility() option    { return func(o *options) { o.short = true } }

// bundle is one Tasklane without HTTP: a store and a work queue (with its dead-letter queue)
// wrapped in fault injectors, the demo type instrumented to record its runs, and the API
// service over them. Workers and pollers are made by the tests.
type bundle struct {
	t       *testing.T
	backend string
	clock   *tasktest.Clock // advanced by tests to reach leases, grace periods and expiry
	log     *slog.Logger

	base  task.Store   // the real store, for reads behind everyone's back
	store *fault.Store // what the API and the workers use
	work  queue.Queue  // the real work queue
	queue *fault.Queue // the work queue as the API and the workers see it
	dlq   queue.Queue  // the dead-letter queue

	types *task.Registry
	runs  *runLog
	svc   *usecase.Service

	visibility time.Duration
	wait       time.Duration // one receive's long poll
}

// tenant owns every task of the bundle.
var tenant = usecase.Principal{Tenant: "tenant-a"}

// setup builds a bundle on a fresh store and fresh queues, on the embedded backend unless an
// option says otherwise.
func setup(t *testing.T, opts ...option) *bundle {
	t.Helper()
	o := options{backend: "embedded", maxReceive: 5}
	for _, opt := range opts {
		opt(&o)
	}
	backend := o.backend
	var visibility time.Duration
	switch {
	case o.short && backend == "aws":
		visibility = 3 * time.Second
	case o.short:
		visibility = time.Second
	default:
		visibility = 30 * time.Second
	}
	ctx := t.Context()
	r := &bundle{t: t, backend: backend, clock: tasktest.RealClock(), runs: &runLog{}, visibility: visibility}
	r.log = apptest.QuietLogger(t)
	switch backend {
	case "embedded":
		fs, err := filestore.Open(t.TempDir() + "/tasks.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = fs.Close() })
		r.base = fs
		dlq := memqueue.New(memqueue.Options{Visibility: visibility})
		r.work = memqueue.New(memqueue.Options{Visibility: visibility, MaxReceiveCount: o.maxReceive, DeadLetter: dlq})
		r.dlq = dlq
		r.wait = 50 * time.Millisecond
	case "aws":
		cfg := awstest.Config(t, "DYNAMODB", "SQS")
		name := awstest.Name("worker")
		db := dynamodb.NewFromConfig(cfg)
		if err := dynamostore.CreateTable(ctx, db, name); err != nil {
			t.Fatalf("create table: %v", err)
		}
		sq := sqs.NewFromConfig(cfg)
		qurl, dlqURL, err := sqsqueue.CreateQueues(ctx, sq, name, o.maxReceive, visibility)
		if err != nil {
			t.Fatalf("create queues: %v", err)
		}
		r.base = dynamostore.New(db, name)
		r.work = sqsqueue.New(sq, qurl)
		r.dlq = sqsqueue.New(sq, dlqURL)
		r.wait = time.Second // SQS's long poll counts whole seconds
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	r.store = fault.NewStore(r.base)
	r.queue = fault.NewQueue(r.work)

	typ := demo.Type()
	run := typ.Run
	typ.Run = func(ctx context.Context, a task.Attempt) error {
		r.runs.record(a)
		if err := r.runs.hook(ctx, a); err != nil {
			return err
		}
		return run(ctx, a)
	}
	var err error
	if r.types, err = task.NewRegistry(typ); err != nil {
		t.Fatal(err)
	}
	markers, err := marker.New([]byte("robustness-test-marker-secret"))
	if err != nil {
		t.Fatal(err)
	}
	r.svc = &usecase.Service{Store: r.store, Queue: r.queue, Types: r.types, Markers: markers, Now: r.clock.Now, Log: r.log}
	return r
}

// worker returns a worker over the bundle's (faulty) store and queue. BackoffBase is zero: a
// retried attempt comes back at once. Reserve is a quarter of the function timeout, as the
// template keeps 5 s of 120 s, so that a short timeout does not cut steps off.
func (r *bundle) worker() *worker.Worker {
	return r.workerOn(r.store)
}

// workerOn returns a worker over store, e.g. a fault.Store of its own that a test kills.
func (r *bundle) workerOn(store task.Store) *worker.Worker {
	return &worker.Worker{Store: store, Queue: r.queue, Types: r.types, Now: r.clock.Now, Log: r.log, Reserve: r.visibility / 4}
}

// esmOptions are the event source mapping's options for the bundle's queues.
func (r *bundle) esmOptions() eventsource.Options {
	return eventsource.Options{Visibility: r.visibility, Wait: r.wait, Log: r.log}
}

// drain hands q's messages to h as the event source mapping would, until a receive comes
// back empty, and returns how many it handed over.
func (r *bundle) drain(q queue.Queue, h eventsource.Handler) int {
	r.t.Helper()
	n, err := eventsource.Drain(r.t.Context(), q, h, r.esmOptions())
	if err != nil {
		r.t.Fatalf("drain: %v", err)
	}
	return n
}

// settle drains q until a drain that started after the visibility timeout ran out finds
// nothing: every message reported as failed came back and was acknowledged.
func (r *bundle) settle(h eventsource.Handler) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(r.visibility)
		if r.drain(r.queue, h) == 0 {
			return
		}
	}
	r.t.Fatal("the work queue never settled")
}

// poll runs the event source mapping on q in the background until the returned stop is
// called (or the test ends).
func (r *bundle) poll(q queue.Queue, h eventsource.Handler, o eventsource.Options) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.t.Context()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := eventsource.Poll(ctx, q, h, o); err != nil {
			r.t.Errorf("poll: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	r.t.Cleanup(stop)
	return stop
}

// receive takes the one message the test expects from the work queue, hidden for the
// bundle's visibility timeout, as a poller that then crashes would.
func (r *bundle) receive() queue.Delivery {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ds, err := r.work.Receive(r.t.Context(), 10, r.visibility, r.wait)
		if err != nil {
			r.t.Fatalf("receive: %v", err)
		}
		switch len(ds) {
		case 0:
			continue
		case 1:
			return ds[0]
		default:
			r.t.Fatalf("received %d messages, want 1: %+v", len(ds), ds)
		}
	}
	r.t.Fatal("no message came")
	return queue.Delivery{}
}

// expectNoMessage fails the test if q hands out a message within one long poll.
func (r *bundle) expectNoMessage(q queue.Queue, why string) {
	r.t.Helper()
	ds, err := q.Receive(r.t.Context(), 10, r.visibility, r.wait)
	if err != nil {
		r.t.Fatalf("receive: %v", err)
	}
	if len(ds) > 0 {
		r.t.Fatalf("%s: got %d message(s), first %s", why, len(ds), ds[0].Body)
	}
}

// create accepts a demo task through the API with the given steps (nil: the default three).
func (r *bundle) create(steps ...map[string]any) task.Task {
	r.t.Helper()
	return r.createSpec(task.Spec{}, steps...)
}

func (r *bundle) createSpec(spec task.Spec, steps ...map[string]any) task.Task {
	r.t.Helper()
	spec.Type, spec.Name = demo.Name, "robustness"
	if steps != nil {
		in, err := json.Marshal(map[string]any{"steps": steps})
		if err != nil {
			r.t.Fatal(err)
		}
		spec.Input = in
	}
	c, err := r.svc.Create(r.t.Context(), tenant, usecase.CreateRequest{Spec: spec})
	if err != nil {
		r.t.Fatalf("create: %v", err)
	}
	if c.Task.Status != task.Pending {
		r.t.Fatalf("created task is %s, want pending", c.Task.Status)
	}
	return c.Task
}

// step is one demo step: a name and optional fields as name, value pairs.
func demoStep(name string, kv ...any) map[string]any {
	m := map[string]any{"name": name}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// get reads a task from the real store at the bundle's clock.
func (r *bundle) get(id string) task.Task {
	r.t.Helper()
	t, err := r.base.Get(r.t.Context(), id, r.clock.Now())
	if err != nil {
		r.t.Fatalf("get %s: %v", id, err)
	}
	return t
}

// waitFor polls cond until it holds or fails the test after within.
func (r *bundle) waitFor(within time.Duration, what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// active returns the ids of the bundle's tenant's tasks still pending or processing.
func (r *bundle) active() []string {
	r.t.Helper()
	var ids []string
	q := task.ListQuery{Owner: tenant.Tenant, Statuses: []task.Status{task.Pending, task.Processing}, Limit: 100, Now: r.clock.Now()}
	for {
		page, err := r.base.List(r.t.Context(), q)
		if err != nil {
			r.t.Fatalf("list active: %v", err)
		}
		for _, t := range page.Tasks {
			ids = append(ids, t.ID)
		}
		if page.Next == nil {
			return ids
		}
		q.After = page.Next
	}
}

// applied returns the changes of task id the store accepted, in order.
func (r *bundle) applied(id string) []task.Change {
	var out []task.Change
	for _, c := range r.store.Applied() {
		if c.Task.ID == id {
			out = append(out, c)
		}
	}
	return out
}

// runLog records every attempt the demo type ran, and runs a test's hook at its start.
type runLog struct {
	mu     sync.Mutex
	runs   []task.Attempt
	onStep func(ctx context.Context, a task.Attempt) error
}

func (l *runLog) record(a task.Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, task.Attempt{Task: a.Task.Clone(), Index: a.Index, Attempt: a.Attempt})
}

func (l *runLog) hook(ctx context.Context, a task.Attempt) error {
	l.mu.Lock()
	f := l.onStep
	l.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(ctx, a)
}

// setHook makes f run at the start of every step attempt; an error it returns is the step's.
func (l *runLog) setHook(f func(ctx context.Context, a task.Attempt) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onStep = f
}

// of returns the attempts run of task id.
func (l *runLog) of(id string) []task.Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []task.Attempt
	for _, a := range l.runs {
		if a.Task.ID == id {
			out = append(out, a)
		}
	}
	return out
}

// counts returns how many times each subtask of task id ran, by index.
func (l *runLog) counts(id string, n int) []int {
	c := make([]int, n)
	for _, a := range l.of(id) {
		c[a.Index]++
	}
	return c
}

func attemptsOf(t task.Task) []int {
	out := make([]int, len(t.SubTasks))
	for i, s := range t.SubTasks {
		out[i] = s.Attempts
	}
	return out
}

func statusesOf(t task.Task) []task.Status {
	out := make([]task.Status, len(t.SubTasks))
	for i, s := range t.SubTasks {
		out[i] = s.Status
	}
	return out
}

// expectSucceeded checks a task that ended in success: every subtask succeeded with the
// given attempts, the result is the demo's, the version counts exactly the transitions.
func expectSucceeded(t *testing.T, got task.Task, wantAttempts []int) {
	t.Helper()
	expectSucceededAfter(t, got, wantAttempts, 0)
}

// expectSucceededAfter is expectSucceeded for a task that others changed too, besides the
// worker (a client's cancel request that came too late).
func expectSucceededAfter(t *testing.T, got task.Task, wantAttempts []int, others int) {
	t.Helper()
	if got.Status != task.Success {
		t.Fatalf("task is %s (%s), want success; subtasks %v, errors %+v", got.Status, got.Message, statusesOf(got), got.Errors)
	}
	for i, s := range got.SubTasks {
		if s.Status != task.Success || s.FinishedAt == nil {
			t.Errorf("subtask %d (%s) is %s, want success with finishedAt", i, s.Name, s.Status)
		}
	}
	if a := attemptsOf(got); !slices.Equal(a, wantAttempts) {
		t.Errorf("attempts %v, want %v", a, wantAttempts)
	}
	if got.Progress != 100 || got.CancelRequested || got.FinishedAt == nil || got.ExpiresAt == nil {
		t.Errorf("finished task: progress %d, cancelRequested %v, finishedAt %v, expiresAt %v", got.Progress, got.CancelRequested, got.FinishedAt, got.ExpiresAt)
	}
	if want := fmt.Sprintf(`{"steps":%d}`, len(got.SubTasks)); string(got.Result) != want {
		t.Errorf("result %s, want %s", got.Result, want)
	}
	// created (1) + a start per attempt + succeed: the claim is written with the first start,
	// each finish with the next start, the last with the success (the worker's folded
	// writes, issue #9).
	want := int64(1 + 1 + others)
	for _, a := range wantAttempts {
		want += int64(a)
	}
	if got.Version != want {
		t.Errorf("version %d, want %d: a transition was applied more (or less) than once", got.Version, want)
	}
}

// killed is the error a dead worker's store returns: the process is gone, nothing it does
// reaches DynamoDB any more.
var errKilled = errors.New("worker process killed")

// TestWorkerKilledMidSubtask: the worker dies while a subtask runs, after recording the
// attempt, and its message is never deleted. Once the message is visible again the task
// still completes; the killed subtask ends in success, counted once, its two attempts
// showing; the others ran once.
func TestWorkerKilledMidSubtask(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create()

		// A worker receives the message and runs the task; in Allocate it dies: its store
		// calls fail from then on, and the invocation is cut off (its context ends).
		d := r.receive()
		doomedStore := fault.NewStore(r.base)
		inAllocate := make(chan struct{})
		r.runs.setHook(func(ctx context.Context, a task.Attempt) error {
			if a.Task.ID != created.ID || a.Index != 1 || a.Attempt != 1 {
				return nil
			}
			doomedStore.OnApply(func(task.Change) error { return errKilled })
			doomedStore.OnGet(func(string) error { return errKilled })
			close(inAllocate)
			<-ctx.Done()
			return ctx.Err()
		})
		hctx, cut := context.WithCancel(ctx)
		handled := make(chan struct{})
		go func() {
			defer close(handled)
			_, _ = r.workerOn(doomedStore).Handle(hctx, eventsource.Event([]queue.Delivery{d}, "", ""))
		}()
		select {
		case <-inAllocate:
		case <-time.After(30 * time.Second):
			t.Fatal("the worker never reached Allocate")
		}
		cut()
		<-handled
		r.runs.setHook(nil)

		mid := r.get(created.ID)
		if mid.Status != task.Processing || !slices.Equal(statusesOf(mid), []task.Status{task.Success, task.Processing, task.Pending}) || !slices.Equal(attemptsOf(mid), []int{1, 1, 0}) {
			t.Fatalf("after the crash: %s, subtasks %v, attempts %v", mid.Status, statusesOf(mid), attemptsOf(mid))
		}

		// The message's visibility timeout runs out: the bundle's clock moves by it, and the
		// queue hands the message out again.
		r.clock.Advance(r.visibility)
		if err := r.work.ChangeVisibility(ctx, d.ReceiptHandle, 0); err != nil {
			t.Fatalf("expire visibility: %v", err)
		}
		if n := r.drain(r.queue, r.worker().Handle); n != 1 {
			t.Errorf("redelivered %d messages, want 1", n)
		}

		done := r.get(created.ID)
		expectSucceeded(t, done, []int{1, 2, 1})
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 2, 1}) {
			t.Errorf("steps ran %v times, want [1 2 1]", c)
		}
		if len(done.Errors) != 0 {
			t.Errorf("errors %+v, want none: a crash is not the step's failure", done.Errors)
		}
		r.expectNoMessage(r.work, "the redelivered message was acknowledged")
	})
}

// TestWorkerKilledAttemptRecordedInStore is the crash above set up directly in the store:
// the attempt of Allocate recorded by a worker that then died, its message still in flight.
// Delivered again while that worker could still be running (within the function timeout
// of the attempt's start), the message is put back for the rest of that time and the task
// is left alone; once the time is up the attempt is taken for dead and the task completes.
func TestWorkerKilledAttemptRecordedInStore(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create()
		d := r.receive()
		cur := r.get(created.ID)
		now := r.clock.Now()
		for _, tr := range []func(task.Task) (task.Change, error){
			func(t task.Task) (task.Change, error) { c, _, err := t.ClaimAndStart(now); return c, err },
			func(t task.Task) (task.Change, error) { c, _, err := t.FinishAndStart(0, now); return c, err },
		} {
			ch, err := tr(cur)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.store.Apply(ctx, ch); err != nil {
				t.Fatal(err)
			}
			cur = ch.Task
		}

		// Too early: the attempt's worker may be alive (this is also what a concurrent
		// duplicate of the message sees). The task is looked at again in a new message
		// delayed by the rest of the lease; this one is acknowledged.
		type sent struct {
			m queue.Message
			d time.Duration
		}
		var sends []sent
		r.queue.OnSend(func(m queue.Message, d time.Duration) error {
			sends = append(sends, sent{m, d})
			return nil
		})
		hctx, cancel := context.WithTimeout(ctx, r.visibility)
		resp, err := r.worker().Handle(hctx, eventsource.Event([]queue.Delivery{d}, "", ""))
		cancel()
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("early redelivery: %v, failures %+v; want it acknowledged and continued in a new message", err, resp.BatchItemFailures)
		}
		if len(sends) != 1 || sends[0].m.TaskID != created.ID || sends[0].d <= 0 || sends[0].d > r.visibility {
			t.Errorf("early redelivery sent %+v, want one message for %s delayed by the rest of the attempt's lease (at most %v)", sends, created.ID, r.visibility)
		}
		if got := r.get(created.ID); got.Version != cur.Version {
			t.Fatalf("early redelivery changed the task: version %d, want %d (attempts %v)", got.Version, cur.Version, attemptsOf(got))
		}
		r.queue.OnSend(nil)

		// The attempt's worker is gone once its lease is over: the original message (not
		// deleted, as no event source mapping ran) comes back and the task completes.
		r.clock.Advance(r.visibility)
		if err := r.work.ChangeVisibility(ctx, d.ReceiptHandle, 0); err != nil {
			t.Fatalf("expire visibility: %v", err)
		}
		r.drain(r.queue, r.worker().Handle)

		done := r.get(created.ID)
		expectSucceeded(t, done, []int{1, 2, 1})
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{0, 1, 1}) {
			t.Errorf("steps ran %v times, want [0 1 1]: Validate had succeeded and must not run again", c)
		}
	})
}

// TestPoisonMessageEndsInDeadLetter: a task the worker cannot advance (every write of it
// fails, as in an outage that only hits it) is reported as a batch item failure on every
// delivery, until SQS's redrive policy moves its message to the dead-letter queue; the
// dead-letter handler then ends it in failure with DELIVERY_FAILED, so it does not hang,
// and a client can retry it. Other tasks on the queue are not held up.
func TestPoisonMessageEndsInDeadLetter(t *testing.T) {
	const maxReceive = 3
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		poison := r.create()
		healthy := r.create()

		var mu sync.Mutex
		deliveries := 0
		r.store.OnApply(func(c task.Change) error {
			if c.Task.ID == poison.ID {
				return fmt.Errorf("%w: throttled", fault.ErrInjected)
			}
			return nil
		})
		w := r.worker()
		// The dead-letter function's store is healthy: whatever poisoned the task, its
		// failure can be recorded.
		dlw := r.workerOn(r.base)
		o := r.esmOptions()
		// Count the deliveries of the poison's message as the worker receives them.
		handle := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			for _, rec := range ev.Records {
				if m, err := queue.Decode(rec.Body); err == nil && m.TaskID == poison.ID {
					mu.Lock()
					deliveries++
					mu.Unlock()
				}
			}
			return w.Handle(ctx, ev)
		}
		r.poll(r.queue, handle, o)
		r.poll(r.dlq, dlw.HandleDeadLetter, o)

		r.waitFor(60*time.Second, "the poison task to fail", func() bool {
			return r.get(poison.ID).Status == task.Failure
		})
		got := r.get(poison.ID)
		if len(got.Errors) != 1 || got.Errors[0].ErrorCode != "DELIVERY_FAILED" || got.Errors[0].ErrorType != task.ErrorTypeError {
			t.Errorf("errors %+v, want one ERROR DELIVERY_FAILED", got.Errors)
		}
		if got.Message == "" || !got.Retryable() || got.ExpiresAt == nil || got.SubTasks[0].Status != task.Failure {
			t.Errorf("failed task: message %q, retryable %v, expiresAt %v, subtasks %v", got.Message, got.Retryable(), got.ExpiresAt, statusesOf(got))
		}
		mu.Lock()
		n := deliveries
		mu.Unlock()
		if n != maxReceive {
			t.Errorf("the worker saw the poison message %d times, want maxReceiveCount = %d", n, maxReceive)
		}
		r.waitFor(30*time.Second, "the healthy task to succeed", func() bool {
			return r.get(healthy.ID).Status == task.Success
		})
		expectSucceeded(t, r.get(healthy.ID), []int{1, 1, 1})

		// The outage is over: the client retries and the task completes.
		r.store.OnApply(nil)
		if _, err := r.svc.Retry(ctx, tenant, poison.ID); err != nil {
			t.Fatalf("retry: %v", err)
		}
		r.waitFor(30*time.Second, "the retried task to succeed", func() bool {
			return r.get(poison.ID).Status == task.Success
		})
		if got := r.get(poison.ID); got.RetryCount != 1 || !slices.Equal(attemptsOf(got), []int{1, 1, 1}) {
			t.Errorf("retried task: retryCount %d, attempts %v", got.RetryCount, attemptsOf(got))
		}
	}, withMaxReceive(maxReceive), withShortVisibility())
}

// TestLostWriteResponses: a write of the worker reaches the store but its answer is lost
// (a timeout after DynamoDB applied it, beyond what the store's own retries recognise). The
// worker's writer reads the task back, finds its own write and carries on. One answer of each
// kind is lost: the claim, each subtask's finish, the success. Each transition is still
// applied exactly once, no step runs twice, and no attempt is spent without running.
func TestLostWriteResponses(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		created := r.create()
		var mu sync.Mutex
		lost := map[string]bool{}
		r.store.OnApply(func(c task.Change) error {
			kind := ""
			switch {
			case c.FromStatus == task.Pending:
				kind = "claim"
			case c.Task.Status == task.Success:
				kind = "succeed"
			default:
				for i, s := range c.Task.SubTasks {
					if s.Status == task.Success && s.FinishedAt != nil && s.FinishedAt.Equal(c.Task.UpdatedAt) {
						kind = fmt.Sprint("finish ", i)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if kind == "" || lost[kind] {
				return nil
			}
			lost[kind] = true
			return fault.Lost(fault.ErrInjected)
		})
		w := r.worker()
		deadline := time.Now().Add(60 * time.Second)
		for r.get(created.ID).Status != task.Success {
			if time.Now().After(deadline) {
				t.Fatalf("the task never succeeded: %+v", r.get(created.ID))
			}
			r.drain(r.queue, w.Handle)
		}
		r.settle(w.Handle)
		mu.Lock()
		// The worker's writes are folded (issue #9): the claim with the first start, the
		// first two finishes each with the next start, the last finish with the success.
		if len(lost) != 4 {
			t.Errorf("lost the answers of %v, want the claim, two finishes and the success", lost)
		}
		mu.Unlock()
		got := r.get(created.ID)
		// Each lost answer is recognised by reading the task back (task.Writer): no attempt
		// is taken for another delivery's and spent without running.
		expectSucceeded(t, got, []int{1, 1, 1})
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 1, 1}) {
			t.Errorf("steps ran %v times, want once each", c)
		}
		if ch := r.applied(created.ID); int64(len(ch))+1 != got.Version {
			t.Errorf("%d changes applied for version %d", len(ch), got.Version)
		}
		r.expectNoMessage(r.work, "the last delivery was acknowledged")
	}, withMaxReceive(20), withShortVisibility())
}

// handleAtOnce hands ev to w.Handle n times at once, each invocation within the queue's
// visibility timeout (duplicate deliveries of one batch racing each other), and returns their
// answers.
func (r *bundle) handleAtOnce(ctx context.Context, w *worker.Worker, ev events.SQSEvent, n int) []events.SQSEventResponse {
	r.t.Helper()
	var wg sync.WaitGroup
	resps := make([]events.SQSEventResponse, n)
	for i := range resps {
		wg.Go(func() {
			hctx, cancel := context.WithTimeout(ctx, r.visibility)
			defer cancel()
			var err error
			if resps[i], err = w.Handle(hctx, ev); err != nil {
				r.t.Errorf("handle: %v", err)
			}
		})
	}
	wg.Wait()
	return resps
}
