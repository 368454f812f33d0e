package worker_test

// Lost answers of DynamoDB writes, below the SDK: the write is applied, the answer is lost
// (a 500), the SDK retries the same request and its condition fails on the first try's write.
// Each caller must take that for its own success (see "Writes whose answer was lost" in
// shared/dynamostore's package comment). The fault sits in the HTTP transport of the
// DynamoDB client (fault.Transport), so only the AWS backend has it; the file store's side of
// the rule is in the conformance suite (Apply/Resent, Create/Resent).

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
	"github.com/tasklane/tasklane/shared/usecase"
	"github.com/tasklane/tasklane/shared/worker"
)

// lostBundle is a DynamoDB store (on the emulator) whose client's transport loses answers,
// under the API service and a worker; the work queue is in process, since only the store's
// answers are lost here.
type lostBundle struct {
	t     *testing.T
	tr    *fault.Transport
	store task.Store // over the faulty client
	clean task.Store // over a healthy client, for the test's own reads
	queue *memqueue.Queue
	svc   *usecase.Service
	w     *worker.Worker
	runs  *runLog
}

func setupLost(t *testing.T) *lostBundle {
	t.Helper()
	cfg := awstest.Config(t, "DYNAMODB")
	name := awstest.Name("lost")
	healthy := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(t.Context(), healthy, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	tr := fault.NewTransport(nil)
	faulty := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: tr}
		// The SDK's standard retries, without their pauses.
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
	r := &lostBundle{t: t, tr: tr, store: dynamostore.New(faulty, name), clean: dynamostore.New(healthy, name),
		queue: memqueue.New(memqueue.Options{Visibility: 200 * time.Millisecond}), runs: &runLog{}}
	typ := demo.Type()
	run := typ.Run
	typ.Run = func(ctx context.Context, a task.Attempt) error {
		r.runs.record(a)
		return run(ctx, a)
	}
	types, err := task.NewRegistry(typ)
	if err != nil {
		t.Fatal(err)
	}
	markers, err := marker.New([]byte("lost-answer-test-marker-secret"))
	if err != nil {
		t.Fatal(err)
	}
	clock := tasktest.RealClock()
	log := apptest.QuietLogger(t)
	r.svc = &usecase.Service{Store: r.store, Queue: r.queue, Types: types, Markers: markers, Now: clock.Now, Log: log}
	r.w = &worker.Worker{Store: r.store, Queue: r.queue, Types: types, Now: clock.Now, Log: log, Reserve: time.Second}
	return r
}

// loseFirstTries loses the answer of the first try of every distinct request to op (the
// SDK's retry of it, the same body, goes through).
func (r *lostBundle) loseFirstTries(op string) {
	var mu sync.Mutex
	seen := map[[32]byte]bool{}
	r.tr.LoseIf(func(o string, body []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		h := sha256.Sum256(body)
		if o != op || seen[h] {
			return false
		}
		seen[h] = true
		return true
	})
}

// expectLost fails the test unless some answer was lost: a fault never hit proves nothing.
func (r *lostBundle) expectLost() {
	r.t.Helper()
	if len(r.tr.Lost()) == 0 {
		r.t.Fatal("no answer was lost: the test did not exercise its fault")
	}
}

func (r *lostBundle) spec(steps ...map[string]any) task.Spec {
	r.t.Helper()
	in, err := json.Marshal(map[string]any{"steps": steps})
	if err != nil {
		r.t.Fatal(err)
	}
	return task.Spec{Type: demo.Name, Name: "lost answers", Input: in}
}

func (r *lostBundle) create(steps ...map[string]any) task.Task {
	r.t.Helper()
	c, err := r.svc.Create(r.t.Context(), tenant, usecase.CreateRequest{Spec: r.spec(steps...)})
	if err != nil {
		r.t.Fatalf("create: %v", err)
	}
	return c.Task
}

func (r *lostBundle) get(id string) task.Task {
	r.t.Helper()
	got, err := r.clean.Get(r.t.Context(), id, time.Now().Add(time.Hour))
	if err != nil {
		r.t.Fatalf("get %s: %v", id, err)
	}
	return got
}

// drain runs the worker on the queue until it is empty. The function timeout (the
// visibility) leaves the emulator's calls time even under the race detector.
func (r *lostBundle) drain() {
	r.t.Helper()
	if _, err := eventsource.Drain(r.t.Context(), r.queue, r.w.Handle, eventsource.Options{Visibility: 20 * time.Second, Wait: 50 * time.Millisecond, Log: apptest.QuietLogger(r.t)}); err != nil {
		r.t.Fatalf("drain: %v", err)
	}
}

// expectMessage fails the test unless the queue holds a message for id's run.
func (r *lostBundle) expectMessage(id string, run int) {
	r.t.Helper()
	ds, err := r.queue.Receive(r.t.Context(), 10, time.Millisecond, 50*time.Millisecond)
	if err != nil {
		r.t.Fatalf("receive: %v", err)
	}
	for _, d := range ds {
		if m, err := queue.Decode(d.Body); err == nil && m.TaskID == id && m.Run == run {
			return
		}
	}
	r.t.Fatalf("no message announces task %s run %d: %+v", id, run, ds)
}

// TestLostAnswerOfWorkerWrites: every write of the worker (claim, start of the attempt, its
// finish, the success) loses its first answer. Each retry finds the worker's own write, so
// the task still succeeds in one delivery with one attempt: no message dropped with the task
// left processing, no attempt spent twice.
func TestLostAnswerOfWorkerWrites(t *testing.T) {
	t.Parallel()
	r := setupLost(t)
	created := r.create(demoStep("Only"))
	r.loseFirstTries("PutItem")
	r.drain()
	r.expectLost()
	got := r.get(created.ID)
	if got.Status != task.Success || !slices.Equal(attemptsOf(got), []int{1}) {
		t.Fatalf("task after lost answers: %s, attempts %v; want success with one attempt", got.Status, attemptsOf(got))
	}
	if c := r.runs.counts(created.ID, 1); !slices.Equal(c, []int{1}) {
		t.Errorf("the step ran %v times, want once", c)
	}
	if st := r.queue.Stats(); st.Visible+st.InFlight+st.Delayed != 0 {
		t.Errorf("messages left: %+v", st)
	}
}

// TestLostAnswerOfCancel: a client's cancel whose answer was lost is answered with the
// cancelled task, not 409 TASK_NOT_CANCELLABLE for the cancel it made.
func TestLostAnswerOfCancel(t *testing.T) {
	t.Parallel()
	r := setupLost(t)
	created := r.create(demoStep("Only"))
	r.loseFirstTries("PutItem")
	got, err := r.svc.Cancel(t.Context(), tenant, created.ID)
	r.expectLost()
	if err != nil {
		t.Fatalf("cancel whose answer was lost: %v, want the cancelled task", err)
	}
	if got.Status != task.Cancelled || r.get(created.ID).Status != task.Cancelled {
		t.Errorf("cancel answered %s, stored %s; want cancelled", got.Status, r.get(created.ID).Status)
	}
}

// TestLostAnswerOfRetry: a client's retry whose answer was lost is answered with the pending
// task, and its run is announced to the worker, which completes it.
func TestLostAnswerOfRetry(t *testing.T) {
	t.Parallel()
	r := setupLost(t)
	created := r.create(demoStep("Only", "failUntilRetry", 1))
	r.drain()
	if got := r.get(created.ID); got.Status != task.Failure {
		t.Fatalf("first run ended %s, want failure", got.Status)
	}
	r.loseFirstTries("PutItem")
	got, err := r.svc.Retry(t.Context(), tenant, created.ID)
	r.expectLost()
	if err != nil {
		t.Fatalf("retry whose answer was lost: %v, want the pending task", err)
	}
	if got.Status != task.Pending || got.RetryCount != 1 {
		t.Fatalf("retry answered %s retryCount %d, want pending 1", got.Status, got.RetryCount)
	}
	r.tr.LoseIf(nil)
	r.drain()
	if got := r.get(created.ID); got.Status != task.Success || got.RetryCount != 1 {
		t.Errorf("after the retry: %s retryCount %d, want success 1 (was the run announced?)", got.Status, got.RetryCount)
	}
}

// TestLostAnswerOfCreate: a create whose answer was lost, with and without an
// Idempotency-Key, is accepted (not a 500, not a replay of itself) and announced.
func TestLostAnswerOfCreate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, key, op string
	}{
		{"unkeyed", "", "PutItem"},
		{"keyed", "key-1", "TransactWriteItems"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := setupLost(t)
			r.loseFirstTries(tc.op)
			c, err := r.svc.Create(t.Context(), tenant, usecase.CreateRequest{Spec: r.spec(demoStep("Only")), IdempotencyKey: tc.key, BodyHash: "hash-1"})
			r.expectLost()
			if err != nil {
				t.Fatalf("create whose answer was lost: %v, want the task", err)
			}
			if c.Replayed {
				t.Error("the create was taken for a replay of itself")
			}
			if got := r.get(c.Task.ID); got.Status != task.Pending || got.WriteID != c.Task.WriteID {
				t.Errorf("stored %s (write %s), want pending as created (write %s)", got.Status, got.WriteID, c.Task.WriteID)
			}
			r.expectMessage(c.Task.ID, 0)
		})
	}
}
