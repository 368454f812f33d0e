package worker_test

// Duplicate deliveries and races with a client's cancel and retry.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// receiveAll takes n messages from the work queue (hidden for the bundle's visibility).
func (r *bundle) receiveAll(n int) []queue.Delivery {
	r.t.Helper()
	var ds []queue.Delivery
	deadline := time.Now().Add(30 * time.Second)
	for len(ds) < n && time.Now().Before(deadline) {
		got, err := r.work.Receive(r.t.Context(), n-len(ds), r.visibility, r.wait)
		if err != nil {
			r.t.Fatalf("receive: %v", err)
		}
		ds = append(ds, got...)
	}
	if len(ds) != n {
		r.t.Fatalf("received %d messages, want %d", len(ds), n)
	}
	return ds
}

// TestDuplicateDeliverySequential: the same SQS record handed to the worker twice, the
// second time after the first has finished (a delete that did not take, a duplicate from
// SQS). The second delivery changes nothing and is acknowledged.
func TestDuplicateDeliverySequential(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create()
		ev := eventsource.Event([]queue.Delivery{r.receive()}, "", "")
		w := r.worker()
		for i := range 2 {
			resp, err := w.Handle(ctx, ev)
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("delivery %d: %v, failures %+v", i+1, err, resp.BatchItemFailures)
			}
		}
		expectSucceeded(t, r.get(created.ID), []int{1, 1, 1})
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 1, 1}) {
			t.Errorf("steps ran %v times, want once each", c)
		}
		// claim and start, two finishes each with the next start, the last with the success
		if n := len(r.applied(created.ID)); n != 4 {
			t.Errorf("%d changes applied, want 4", n)
		}
	})
}

// TestDuplicateDeliveryConcurrent: the same records handed to two invocations at once, as
// SQS may deliver a message twice and Lambda run both. Whichever interleaving happens, each
// transition is applied once: every subtask ran once and counts one attempt. A delivery that
// found the task in another invocation's hands may come back later; then it changes nothing.
func TestDuplicateDeliveryConcurrent(t *testing.T) {
	const tasks = 4
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		var ids []string
		for range tasks {
			ids = append(ids, r.create(demoStep("Validate", "durationMs", 30), demoStep("Allocate", "durationMs", 30), demoStep("Configure", "durationMs", 30)).ID)
		}
		ev := eventsource.Event(r.receiveAll(tasks), "", "")
		w := r.worker()
		resps := r.handleAtOnce(ctx, w, ev, 2)
		// The deferred duplicates come back (any time later): they find the tasks done.
		before := len(r.store.Applied())
		if resp, _ := w.Handle(ctx, ev); len(resp.BatchItemFailures) != 0 {
			t.Errorf("a late duplicate was not acknowledged: %+v", resp.BatchItemFailures)
		}
		if after := len(r.store.Applied()); after != before {
			t.Errorf("a late duplicate applied %d changes", after-before)
		}
		for _, id := range ids {
			got := r.get(id)
			expectSucceeded(t, got, []int{1, 1, 1})
			if c := r.runs.counts(id, 3); !slices.Equal(c, []int{1, 1, 1}) {
				t.Errorf("task %s: steps ran %v times, want once each", id, c)
			}
		}
		t.Logf("batch item failures of the two invocations: %d and %d", len(resps[0].BatchItemFailures), len(resps[1].BatchItemFailures))
	})
}

// TestLostAcknowledgement: the worker finished the task but the event source mapping's
// delete failed, so SQS hands the message out again after its visibility timeout; the
// worker acknowledges it without touching the task.
func TestLostAcknowledgement(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		created := r.create()
		r.queue.FailDeletes(1)
		w := r.worker()
		if _, err := eventsource.Drain(t.Context(), r.queue, w.Handle, r.esmOptions()); err == nil {
			t.Fatal("drain reported no failed delete")
		}
		expectSucceeded(t, r.get(created.ID), []int{1, 1, 1})
		before := len(r.applied(created.ID))
		r.settle(w.Handle)
		if after := len(r.applied(created.ID)); after != before {
			t.Errorf("the redelivered message applied %d changes", after-before)
		}
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 1, 1}) {
			t.Errorf("steps ran %v times, want once each", c)
		}
		if calls := r.queue.Calls(); calls.Delete < 2 {
			t.Errorf("%d deletes, want the failed one and the redelivery's", calls.Delete)
		}
	}, withShortVisibility())
}

// isClaimChange and isFinishChange recognise the worker's changes, for BeforeApply hooks.
func isClaimChange(c task.Change) bool {
	return c.FromStatus == task.Pending && c.Task.Status == task.Processing
}

// isFinishChange: the finish of subtask i, alone or with the step that follows it.
func isFinishChange(c task.Change, i int) bool {
	s := c.Task.SubTasks[i]
	return s.Status == task.Success && s.FinishedAt != nil && s.FinishedAt.Equal(c.Task.UpdatedAt)
}

// TestCancelLandsBetweenReadAndWrite: a client's cancel lands exactly between the worker's
// read of a task and its conditional write, at each point of a task's life. The worker's
// write loses, it decides again from the fresh task, and the task ends as the contract says.
func TestCancelLandsBetweenReadAndWrite(t *testing.T) {
	cases := []struct {
		name string
		// at recognises the worker's change the cancel is slipped in before.
		at func(task.Change) bool
		// status, subtasks and attempts of the task at the end; runs per step.
		status   task.Status
		subtasks []task.Status
		attempts []int
		runs     []int
	}{
		{"before the claim", isClaimChange,
			task.Cancelled, []task.Status{task.Cancelled, task.Cancelled, task.Cancelled}, []int{0, 0, 0}, []int{0, 0, 0}},
		{"before the first subtask starts", func(c task.Change) bool {
			// the claim's write (the first start rides with it)
			return c.Task.SubTasks[0].Attempts == 1 && c.Task.SubTasks[0].Status == task.Processing
		},
			task.Cancelled, []task.Status{task.Cancelled, task.Cancelled, task.Cancelled}, []int{0, 0, 0}, []int{0, 0, 0}},
		{"while the first subtask runs", func(c task.Change) bool { return isFinishChange(c, 0) },
			task.Cancelled, []task.Status{task.Success, task.Cancelled, task.Cancelled}, []int{1, 0, 0}, []int{1, 0, 0}},
		{"before the second subtask starts", func(c task.Change) bool {
			return c.Task.SubTasks[1].Status == task.Processing && c.Task.SubTasks[1].Attempts == 1
		},
			task.Cancelled, []task.Status{task.Success, task.Cancelled, task.Cancelled}, []int{1, 0, 0}, []int{1, 0, 0}},
		{"while the last subtask runs", func(c task.Change) bool { return isFinishChange(c, 2) },
			task.Success, []task.Status{task.Success, task.Success, task.Success}, []int{1, 1, 1}, []int{1, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			onBackends(t, func(t *testing.T, r *bundle) {
				ctx := t.Context()
				created := r.create()
				var fired atomic.Bool
				cancelled := false
				r.store.BeforeApply(func(_ context.Context, c task.Change) {
					if c.Task.ID != created.ID || !tc.at(c) {
						return
					}
					if fired.Swap(true) {
						return
					}
					got, err := r.svc.Cancel(ctx, tenant, created.ID)
					if err != nil {
						t.Errorf("cancel: %v", err)
						return
					}
					cancelled = got.Status == task.Cancelled || got.CancelRequested
				})
				w := r.worker()
				resp, err := w.Handle(ctx, eventsource.Event([]queue.Delivery{r.receive()}, "", ""))
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("handle: %v, failures %+v", err, resp.BatchItemFailures)
				}
				if !cancelled {
					t.Fatal("the cancel never landed")
				}
				got := r.get(created.ID)
				if got.Status != tc.status || !slices.Equal(statusesOf(got), tc.subtasks) || !slices.Equal(attemptsOf(got), tc.attempts) {
					t.Errorf("task %s, subtasks %v, attempts %v; want %s, %v, %v", got.Status, statusesOf(got), attemptsOf(got), tc.status, tc.subtasks, tc.attempts)
				}
				if c := r.runs.counts(created.ID, 3); !slices.Equal(c, tc.runs) {
					t.Errorf("steps ran %v times, want %v", c, tc.runs)
				}
				if got.Status == task.Success {
					expectSucceededAfter(t, got, tc.attempts, 1) // the cancel's request
				} else if got.FinishedAt == nil || got.ExpiresAt == nil || got.Message == "" {
					t.Errorf("cancelled task: finishedAt %v, expiresAt %v, message %q", got.FinishedAt, got.ExpiresAt, got.Message)
				}
				if ch := r.applied(created.ID); int64(len(ch))+1 != got.Version {
					t.Errorf("%d changes applied for version %d", len(ch), got.Version)
				}
			})
		})
	}
}

// TestStaleMessagesAfterRetry: after a client retried a failed task, messages of the failed
// run still arrive (a duplicate on the work queue, a dead letter): they must not touch the new
// run. The new run's message completes it without running again what had succeeded.
func TestStaleMessagesAfterRetry(t *testing.T) {
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		created := r.create(demoStep("Validate"), demoStep("Allocate", "failUntilRetry", 1), demoStep("Configure"))
		old := eventsource.Event([]queue.Delivery{r.receive()}, "", "")
		w := r.worker()
		if resp, _ := w.Handle(ctx, old); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %+v", resp.BatchItemFailures)
		}
		if got := r.get(created.ID); got.Status != task.Failure || got.Errors[len(got.Errors)-1].ErrorCode != "DEMO_FAILURE" {
			t.Fatalf("first run ended %s with %+v, want failure DEMO_FAILURE", got.Status, got.Errors)
		}
		retried, err := r.svc.Retry(ctx, tenant, created.ID)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		before := len(r.applied(created.ID))
		if resp, _ := w.Handle(ctx, old); len(resp.BatchItemFailures) != 0 {
			t.Errorf("the old run's duplicate was not acknowledged: %+v", resp.BatchItemFailures)
		}
		if resp, _ := w.HandleDeadLetter(ctx, old); len(resp.BatchItemFailures) != 0 {
			t.Errorf("the old run's dead letter was not acknowledged: %+v", resp.BatchItemFailures)
		}
		if got := r.get(created.ID); got.Version != retried.Version || len(r.applied(created.ID)) != before {
			t.Fatalf("old messages changed the new run: %s version %d, want pending version %d", got.Status, got.Version, retried.Version)
		}
		r.drain(r.queue, w.Handle)
		got := r.get(created.ID)
		if got.Status != task.Success || got.RetryCount != 1 || !slices.Equal(attemptsOf(got), []int{1, 1, 1}) {
			t.Fatalf("after the retry: %s, retryCount %d, attempts %v", got.Status, got.RetryCount, attemptsOf(got))
		}
		if c := r.runs.counts(created.ID, 3); !slices.Equal(c, []int{1, 2, 1}) {
			t.Errorf("steps ran %v times, want [1 2 1]: Validate had succeeded and must not run again", c)
		}
	})
}

// TestCancelRetryStorm: many tasks with short steps, some failing transiently, some failing
// until retried, every message sent twice (at least once means sometimes twice), several
// concurrent invocations, while clients cancel and retry at random through the API. In the
// end every task is terminal and consistent, each transition was applied once, no attempt
// ran twice, no subtask ran after it had succeeded, and nothing is left active.
func TestCancelRetryStorm(t *testing.T) {
	const tasks = 20
	onBackends(t, func(t *testing.T, r *bundle) {
		ctx := t.Context()
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rnd := rand.New(rand.NewPCG(seed, seed>>1))
		// Every message the API sends arrives twice.
		r.queue.OnSend(func(m queue.Message, _ time.Duration) error {
			if err := r.work.Send(ctx, m, 0); err != nil {
				t.Errorf("duplicate send: %v", err)
			}
			return nil
		})

		w := r.worker()
		o := r.esmOptions()
		o.Concurrency, o.BatchSize = 4, 3
		stop := r.poll(r.queue, w.Handle, o)
		stopDLQ := r.poll(r.dlq, w.HandleDeadLetter, r.esmOptions())

		type plan struct {
			id       string
			cancelAt time.Duration // <0: never
			retries  int
		}
		plans := make([]plan, tasks)
		for i := range plans {
			var steps []map[string]any
			for j := range 3 {
				s := demoStep(fmt.Sprint("S", j), "durationMs", rnd.IntN(15))
				if rnd.IntN(4) == 0 {
					s["transientFailures"] = 1 + rnd.IntN(2)
				}
				if rnd.IntN(4) == 0 {
					s["failUntilRetry"] = 1
				}
				steps = append(steps, s)
			}
			p := plan{cancelAt: -1, retries: rnd.IntN(3)}
			if rnd.IntN(2) == 0 {
				p.cancelAt = time.Duration(rnd.IntN(60)) * time.Millisecond
			}
			p.id = r.create(steps...).ID
			plans[i] = p
		}

		var wg sync.WaitGroup
		for _, p := range plans {
			wg.Go(func() {
				start := time.Now()
				deadline := start.Add(60 * time.Second)
				retries := p.retries
				for time.Now().Before(deadline) {
					if p.cancelAt >= 0 && time.Since(start) >= p.cancelAt {
						_, _ = r.svc.Cancel(ctx, tenant, p.id) // 409 once terminal: fine
						p.cancelAt = -1
					}
					cur, err := r.svc.Get(ctx, tenant, p.id)
					if err != nil {
						t.Errorf("get %s: %v", p.id, err)
						return
					}
					if cur.Status == task.Failure && retries > 0 {
						retries--
						if _, err := r.svc.Retry(ctx, tenant, p.id); err != nil {
							t.Errorf("retry %s: %v", p.id, err)
						}
						continue
					}
					if cur.Status.Terminal() && p.cancelAt < 0 {
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
				t.Errorf("task %s not terminal within a minute", p.id)
			})
		}
		wg.Wait()
		stop()
		stopDLQ()

		var counts = map[task.Status]int{}
		for _, p := range plans {
			got := r.get(p.id)
			counts[got.Status]++
			checkTerminalConsistent(t, r, got)
		}
		t.Logf("outcomes: %v", counts)
		if ids := r.active(); len(ids) != 0 {
			t.Errorf("active tasks left: %v", ids)
		}
	})
}

// checkTerminalConsistent checks a terminal task against the contract and against what
// happened to it: the changes the store accepted and the attempts the type ran.
func checkTerminalConsistent(t *testing.T, r *bundle, got task.Task) {
	t.Helper()
	id := got.ID
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("task %s (%s, subtasks %v, attempts %v, retryCount %d): %s", id, got.Status, statusesOf(got), attemptsOf(got), got.RetryCount, fmt.Sprintf(format, args...))
	}
	for i, s := range got.SubTasks {
		if s.Attempts < 0 || s.Attempts > got.MaxAttempts {
			fail("subtask %d has %d attempts, budget %d", i, s.Attempts, got.MaxAttempts)
		}
		if s.Status == task.Processing {
			fail("subtask %d still processing", i)
		}
	}
	switch got.Status {
	case task.Success:
		for i, s := range got.SubTasks {
			if s.Status != task.Success || s.Attempts < 1 {
				fail("subtask %d is %s with %d attempts in a successful task", i, s.Status, s.Attempts)
			}
		}
		if got.Result == nil || got.Progress != 100 || got.CancelRequested {
			fail("result %s, progress %d, cancelRequested %v", got.Result, got.Progress, got.CancelRequested)
		}
	case task.Failure:
		n := slices.Index(statusesOf(got), task.Failure)
		if n < 0 || len(got.Errors) == 0 || got.Errors[len(got.Errors)-1].ErrorType != task.ErrorTypeError {
			fail("no failed subtask or final error: %+v", got.Errors)
		}
		for i, s := range got.SubTasks {
			if (i < n && s.Status != task.Success) || (i > n && s.Status != task.Pending) {
				fail("subtask %d is %s around the failed one (%d)", i, s.Status, n)
			}
		}
	case task.Cancelled:
		// Succeeded subtasks stay, the rest end cancelled; one subtask may have failed
		// for good while the cancel was requested (it ran, so it keeps its failure, and
		// the error is the last recorded).
		failed := 0
		for i, s := range got.SubTasks {
			switch s.Status {
			case task.Success, task.Cancelled:
			case task.Failure:
				failed++
				if n := len(got.Errors); n == 0 || got.Errors[n-1].ErrorType != task.ErrorTypeError || got.Errors[n-1].SubTask != s.Name {
					fail("subtask %d failed in a cancelled task without its error recorded last", i)
				}
			default:
				fail("subtask %d is %s in a cancelled task", i, s.Status)
			}
		}
		if failed > 1 {
			fail("%d failed subtasks in a cancelled task", failed)
		}
	default:
		fail("not terminal")
	}
	if got.Status.Terminal() && (got.FinishedAt == nil || got.ExpiresAt == nil) {
		fail("finishedAt %v, expiresAt %v", got.FinishedAt, got.ExpiresAt)
	}

	// Each transition applied once: the accepted changes are versions 2..Version, each once.
	changes := r.applied(id)
	if int64(len(changes))+1 != got.Version {
		fail("%d changes accepted for version %d", len(changes), got.Version)
	}
	byVersion := map[int64]task.Change{}
	for _, c := range changes {
		if _, dup := byVersion[c.Task.Version]; dup || c.FromVersion+1 != c.Task.Version {
			fail("change to version %d accepted twice or out of order", c.Task.Version)
		}
		byVersion[c.Task.Version] = c
	}
	// No succeeded subtask is ever undone or started again.
	prev := map[int]bool{}
	for v := int64(2); v <= got.Version; v++ {
		c, ok := byVersion[v]
		if !ok {
			fail("no accepted change to version %d", v)
			break
		}
		for i, s := range c.Task.SubTasks {
			if prev[i] && s.Status != task.Success {
				fail("subtask %d had succeeded and is %s at version %d", i, s.Status, v)
			}
			prev[i] = s.Status == task.Success
		}
	}
	// Every attempt that ran was started by exactly one accepted change, and ran once.
	ran := map[int64]bool{}
	for _, a := range r.runs.of(id) {
		if ran[a.Task.Version] {
			fail("two runs of the attempt started at version %d", a.Task.Version)
		}
		ran[a.Task.Version] = true
		c, ok := byVersion[a.Task.Version]
		if !ok || c.Task.SubTasks[a.Index].Status != task.Processing || c.Task.SubTasks[a.Index].Attempts != a.Attempt {
			fail("subtask %d attempt %d ran without being started at version %d", a.Index, a.Attempt, a.Task.Version)
		}
	}
	// The attempts shown are the attempts run in the run that last ran each subtask.
	for i, s := range got.SubTasks {
		last, n := -1, 0
		for _, a := range r.runs.of(id) {
			if a.Index != i {
				continue
			}
			if a.Task.RetryCount > last {
				last, n = a.Task.RetryCount, 0
			}
			if a.Task.RetryCount == last {
				n++
			}
		}
		switch {
		case last < 0 && s.Attempts != 0:
			fail("subtask %d shows %d attempts but never ran", i, s.Attempts)
		case last >= 0 && s.Status == task.Success && n != s.Attempts:
			fail("subtask %d shows %d attempts, ran %d times in run %d", i, s.Attempts, n, last)
		case last >= 0 && s.Status != task.Success && last == got.RetryCount && n != s.Attempts:
			fail("subtask %d shows %d attempts, ran %d times in the current run", i, s.Attempts, n)
		}
	}
}
