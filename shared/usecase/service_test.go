package usecase_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
	"github.com/tasklane/tasklane/shared/usecase"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		tk := b.create(t, alice, tasktest.TypeAlpha)
		if tk.Owner != alice.Tenant || tk.Status != task.Pending || !tk.CreatedAt.Equal(tasktest.Base) {
			t.Errorf("created %s owned by %q at %s, want pending, %q, %s", tk.Status, tk.Owner, tk.CreatedAt, alice.Tenant, tasktest.Base)
		}
		stored, err := b.store.Get(t.Context(), tk.ID, b.clock.Now())
		if err != nil || stored.Status != task.Pending {
			t.Fatalf("stored: %s, %v", stored.Status, err)
		}
		if d := cmp.Diff([]queue.Message{{TaskID: tk.ID, Run: 0, AnnouncedAt: tasktest.Base}}, b.sent.Sent()); d != "" {
			t.Errorf("messages sent (-want +got):\n%s", d)
		}
		_, err = b.svc.Create(t.Context(), alice, usecase.CreateRequest{Spec: task.Spec{Type: "nope"}})
		if !errors.Is(err, task.ErrUnknownType) {
			t.Errorf("create of an unknown type: %v, want ErrUnknownType", err)
		}
	})
}

func TestCreateIdempotent(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		req := usecase.CreateRequest{Spec: task.Spec{Type: tasktest.TypeAlpha}, IdempotencyKey: "k1", BodyHash: "h1"}
		first, err := b.svc.Create(t.Context(), alice, req)
		if err != nil || first.Replayed {
			t.Fatalf("first create: %+v, %v", first, err)
		}
		b.clock.Advance(time.Hour)
		replay, err := b.svc.Create(t.Context(), alice, req)
		if err != nil || !replay.Replayed || replay.Task.ID != first.Task.ID {
			t.Fatalf("replay: id %s replayed %t, %v; want %s replayed", replay.Task.ID, replay.Replayed, err, first.Task.ID)
		}
		// The replay's message went out before the store refused the key (see Create): for
		// the id it would have created, which names no task, not for the original.
		if sent := b.sent.Sent(); len(sent) != 2 || sent[0].TaskID != first.Task.ID || sent[1].TaskID == first.Task.ID {
			t.Errorf("sent %+v, want the first create's message and one for the replay's unused id", sent)
		} else if _, err := b.store.Get(t.Context(), sent[1].TaskID, b.clock.Now()); !errors.Is(err, task.ErrNotFound) {
			t.Errorf("the replay's message names a stored task: %v", err)
		}

		other := req
		other.BodyHash = "h2"
		if _, err := b.svc.Create(t.Context(), alice, other); !errors.Is(err, usecase.ErrIdempotencyKeyReused) {
			t.Errorf("key reused with another body: %v, want ErrIdempotencyKeyReused", err)
		}
		// Keys are per tenant: bob's k1 is a new task.
		bobs, err := b.svc.Create(t.Context(), bob, req)
		if err != nil || bobs.Replayed || bobs.Task.ID == first.Task.ID {
			t.Errorf("another tenant's same key: id %s replayed %t, %v; want a new task", bobs.Task.ID, bobs.Replayed, err)
		}
	})
}

// TestCreateReplayOfExpiredTask: a key outlives its task when the task's retention is
// shorter than the key's; replaying it then answers not found rather than creating anew.
func TestCreateReplayOfExpiredTask(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		req := usecase.CreateRequest{Spec: task.Spec{Type: tasktest.TypeAlpha, Retention: task.MinRetention}, IdempotencyKey: "k", BodyHash: "h"}
		first, err := b.svc.Create(t.Context(), alice, req)
		if err != nil {
			t.Fatal(err)
		}
		b.drive(t, first.Task, task.Success)
		b.clock.Advance(2 * task.MinRetention)
		if _, err := b.svc.Create(t.Context(), alice, req); !errors.Is(err, task.ErrNotFound) {
			t.Errorf("replay after the task expired: %v, want ErrNotFound", err)
		}
	})
}

func TestGet(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		tk := b.create(t, alice, tasktest.TypeAlpha)
		for _, p := range []usecase.Principal{alice, admin} {
			got, err := b.svc.Get(t.Context(), p, tk.ID)
			if err != nil || got.ID != tk.ID {
				t.Errorf("Get as %s: %s, %v", p.Tenant, got.ID, err)
			}
		}
		// Another tenant's task, an unknown id and a malformed one all look the same: the
		// bare sentinel, so that nothing tells them apart.
		for what, id := range map[string]string{
			"another tenant's": tk.ID, "unknown": task.NewID(b.clock.Now()), "malformed": "not-an-id",
		} {
			if _, err := b.svc.Get(t.Context(), bob, id); err != task.ErrNotFound {
				t.Errorf("Get of %s task: %v, want exactly task.ErrNotFound", what, err)
			}
		}
	})
}

func TestResult(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		tk := b.create(t, alice, tasktest.TypeAlpha)
		if _, err := b.svc.Result(t.Context(), alice, tk.ID); !errors.Is(err, task.ErrNotFinished) {
			t.Errorf("Result of a pending task: %v, want ErrNotFinished", err)
		}
		failed := b.drive(t, b.create(t, alice, tasktest.TypeAlpha), task.Failure)
		if _, err := b.svc.Result(t.Context(), alice, failed.ID); !errors.Is(err, task.ErrNotFinished) {
			t.Errorf("Result of a failed task: %v, want ErrNotFinished", err)
		}
		b.drive(t, tk, task.Success)
		got, err := b.svc.Result(t.Context(), alice, tk.ID)
		if err != nil || len(got.Result) == 0 {
			t.Errorf("Result of a succeeded task: %s, %v", got.Result, err)
		}
		if _, err := b.svc.Result(t.Context(), bob, tk.ID); err != task.ErrNotFound {
			t.Errorf("Result of another tenant's task: %v, want task.ErrNotFound", err)
		}
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		pending := b.create(t, alice, tasktest.TypeAlpha)
		if _, err := b.svc.Cancel(t.Context(), bob, pending.ID); err != task.ErrNotFound {
			t.Errorf("Cancel of another tenant's task: %v, want task.ErrNotFound", err)
		}
		got, err := b.svc.Cancel(t.Context(), alice, pending.ID)
		if err != nil || got.Status != task.Cancelled {
			t.Fatalf("Cancel of a pending task: %s, %v; want cancelled", got.Status, err)
		}
		if _, err := b.svc.Cancel(t.Context(), alice, pending.ID); !errors.Is(err, task.ErrNotCancellable) {
			t.Errorf("Cancel of a cancelled task: %v, want ErrNotCancellable", err)
		}

		// A claimed task with no subtask running is cancelled at once.
		claimed := b.drive(t, b.create(t, alice, tasktest.TypeAlpha), task.Processing)
		got, err = b.svc.Cancel(t.Context(), alice, claimed.ID)
		if err != nil || got.Status != task.Cancelled || !got.CancelRequested {
			t.Errorf("Cancel of a claimed task: %s cancelRequested %t, %v; want cancelled, true", got.Status, got.CancelRequested, err)
		}

		// A task with a subtask running is asked to stop; it ends cancelled before its next
		// subtask. An admin may ask it of any tenant's task.
		running := b.drive(t, b.create(t, alice, tasktest.TypeAlpha), task.Processing)
		running = tasktest.Apply(t, b.store, tasktest.Transition(t, running, func(x task.Task) (task.Change, error) {
			c, _, err := x.StartAttempt(b.clock.Now())
			return c, err
		}))
		got, err = b.svc.Cancel(t.Context(), admin, running.ID)
		if err != nil || got.Status != task.Processing || !got.CancelRequested {
			t.Errorf("Cancel of a processing task: %s cancelRequested %t, %v", got.Status, got.CancelRequested, err)
		}
		if stored, _ := b.store.Get(t.Context(), running.ID, b.clock.Now()); !stored.CancelRequested {
			t.Error("the cancel request was not stored")
		}

		for _, st := range []task.Status{task.Success, task.Failure} {
			done := b.drive(t, b.create(t, alice, tasktest.TypeAlpha), st)
			if _, err := b.svc.Cancel(t.Context(), alice, done.ID); !errors.Is(err, task.ErrNotCancellable) {
				t.Errorf("Cancel of a task in %s: %v, want ErrNotCancellable", st, err)
			}
		}
	})
}

func TestRetry(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		failed := b.drive(t, b.create(t, alice, tasktest.TypeAlpha), task.Failure)
		if _, err := b.svc.Retry(t.Context(), bob, failed.ID); err != task.ErrNotFound {
			t.Errorf("Retry of another tenant's task: %v, want task.ErrNotFound", err)
		}
		got, err := b.svc.Retry(t.Context(), alice, failed.ID)
		if err != nil || got.Status != task.Pending || got.RetryCount != 1 {
			t.Fatalf("Retry of a failed task: %s retryCount %d, %v; want pending, 1", got.Status, got.RetryCount, err)
		}
		// The new run is announced with its number, so that messages of the old run are told apart.
		msgs := b.sent.Sent()
		if last := msgs[len(msgs)-1]; last != (queue.Message{TaskID: failed.ID, Run: 1, AnnouncedAt: b.clock.Now()}) {
			t.Errorf("last message %+v, want the new run of %s", last, failed.ID)
		}
		for _, st := range []task.Status{task.Pending, task.Processing, task.Success, task.Cancelled} {
			tk := b.drive(t, b.create(t, alice, tasktest.TypeAlpha), st)
			if _, err := b.svc.Retry(t.Context(), alice, tk.ID); !errors.Is(err, task.ErrNotRetryable) {
				t.Errorf("Retry of a task in %s: %v, want ErrNotRetryable", st, err)
			}
		}
	})
}

// ids is the ids of a page.
func ids(ts []task.Task) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.ID
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// TestAnnounceFirst: the message of a create or a retry is sent before the write, so that no
// stored run lacks one. A failed send is the use case's error (the API's 500) with nothing
// stored; a failed write after the send is an error too, its message left for the worker to
// drop (shared/worker's tests hold that).
func TestAnnounceFirst(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		ctx := t.Context()
		b.sent.FailSends(1)
		if c, err := b.svc.Create(ctx, alice, usecase.CreateRequest{Spec: task.Spec{Type: tasktest.TypeAlpha}}); !errors.Is(err, fault.ErrInjected) {
			t.Fatalf("Create with the queue down: %+v, %v; want its error", c, err)
		}
		page, err := b.store.List(ctx, task.ListQuery{Owner: alice.Tenant, Limit: 10, Now: b.clock.Now()})
		if err != nil || len(page.Tasks) != 0 {
			t.Fatalf("a create whose send failed stored %d task(s), %v", len(page.Tasks), err)
		}

		failed := b.drive(t, b.create(t, alice, tasktest.TypeAlpha), task.Failure)
		b.sent.FailSends(1)
		if _, err := b.svc.Retry(ctx, alice, failed.ID); !errors.Is(err, fault.ErrInjected) {
			t.Fatalf("Retry with the queue down: %v, want its error", err)
		}
		if got, err := b.store.Get(ctx, failed.ID, b.clock.Now()); err != nil || got.Status != task.Failure || got.Version != failed.Version {
			t.Fatalf("a retry whose send failed changed the task: %s v%d, %v", got.Status, got.Version, err)
		}

		// The send went out, the write failed: an error, and nothing stored.
		sent := len(b.sent.Sent())
		b.store.FailCreates(1)
		if c, err := b.svc.Create(ctx, alice, usecase.CreateRequest{Spec: task.Spec{Type: tasktest.TypeAlpha}}); !errors.Is(err, fault.ErrInjected) {
			t.Fatalf("Create with the store down: %+v, %v; want its error", c, err)
		}
		msgs := b.sent.Sent()
		if len(msgs) != sent+1 {
			t.Fatalf("%d messages sent by the failed create, want 1", len(msgs)-sent)
		}
		if _, err := b.store.Get(ctx, msgs[sent].TaskID, b.clock.Now()); !errors.Is(err, task.ErrNotFound) {
			t.Fatalf("the failed create's task: %v, want not found", err)
		}
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		a1, a2 := b.create(t, alice, tasktest.TypeAlpha), b.create(t, alice, tasktest.TypeBeta)
		b1 := b.create(t, bob, tasktest.TypeAlpha)
		for _, c := range []struct {
			name string
			p    usecase.Principal
			q    usecase.ListParams
			want []string
		}{
			{"a tenant's own", alice, usecase.ListParams{}, sorted(a1.ID, a2.ID)},
			{"a tenant naming itself", alice, usecase.ListParams{Owner: alice.Tenant}, sorted(a1.ID, a2.ID)},
			{"a tenant by type", alice, usecase.ListParams{Type: tasktest.TypeBeta}, sorted(a2.ID)},
			{"an admin's, every tenant", admin, usecase.ListParams{}, sorted(a1.ID, a2.ID, b1.ID)},
			{"an admin's, one tenant", admin, usecase.ListParams{Owner: bob.Tenant}, sorted(b1.ID)},
		} {
			c.q.Limit = 10
			got, err := b.svc.List(t.Context(), c.p, c.q)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if d := cmp.Diff(c.want, ids(got.Tasks)); d != "" || got.NextMarker != "" {
				t.Errorf("%s: next %q, ids (-want +got):\n%s", c.name, got.NextMarker, d)
			}
		}
		if _, err := b.svc.List(t.Context(), alice, usecase.ListParams{Owner: bob.Tenant, Limit: 10}); !errors.Is(err, usecase.ErrForbidden) {
			t.Errorf("a tenant listing another: %v, want ErrForbidden", err)
		}
	})
}

// TestListMarker: a marker opens only for the principal, owner and query it was made for.
func TestListMarker(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		first := b.create(t, alice, tasktest.TypeAlpha)
		b.clock.Advance(time.Millisecond)
		second := b.create(t, alice, tasktest.TypeAlpha)
		b.create(t, bob, tasktest.TypeAlpha)
		q := usecase.ListParams{Type: tasktest.TypeAlpha, Limit: 1}
		p1, err := b.svc.List(t.Context(), alice, q)
		if err != nil || p1.NextMarker == "" {
			t.Fatalf("first page: %d tasks, next %q, %v", len(p1.Tasks), p1.NextMarker, err)
		}
		next := q
		next.Marker = p1.NextMarker
		p2, err := b.svc.List(t.Context(), alice, next)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(sorted(first.ID, second.ID), ids(append(p1.Tasks, p2.Tasks...))); d != "" {
			t.Errorf("pages (-want +got):\n%s", d)
		}
		for _, c := range []struct {
			name string
			p    usecase.Principal
			q    func(*usecase.ListParams)
		}{
			{"another tenant", bob, func(*usecase.ListParams) {}},
			{"an admin", admin, func(q *usecase.ListParams) { q.Owner = alice.Tenant }},
			{"another type", alice, func(q *usecase.ListParams) { q.Type = tasktest.TypeBeta }},
			{"another order", alice, func(q *usecase.ListParams) { q.Desc = true }},
			{"another sort key", alice, func(q *usecase.ListParams) { q.SortKey = task.SortUpdated }},
			{"a status filter", alice, func(q *usecase.ListParams) { q.Statuses = []task.Status{task.Pending} }},
			{"a forged marker", alice, func(q *usecase.ListParams) { q.Marker = forge(q.Marker) }},
		} {
			q := next
			c.q(&q)
			if _, err := b.svc.List(t.Context(), c.p, q); !errors.Is(err, usecase.ErrInvalidMarker) {
				t.Errorf("marker replayed by %s: %v, want ErrInvalidMarker", c.name, err)
			}
		}
		// The limit is not bound: it may change between pages.
		other := next
		other.Limit = 5
		if _, err := b.svc.List(t.Context(), alice, other); err != nil {
			t.Errorf("next page with another limit: %v", err)
		}
	})
}

// racingStore lets a worker's change land just before the first Apply of a use case, so
// that the use case's conditional write loses.
type racingStore struct {
	task.Store
	t    *testing.T
	race func(task.Task) (task.Change, error)
	done bool
}

func (s *racingStore) Apply(ctx context.Context, c task.Change) error {
	if !s.done {
		s.done = true
		stored, err := s.Store.Get(ctx, c.Task.ID, c.Task.UpdatedAt)
		if err != nil {
			s.t.Fatal(err)
		}
		tasktest.Apply(s.t, s.Store, tasktest.Transition(s.t, stored, s.race))
	}
	return s.Store.Apply(ctx, c)
}

// TestCancelAfterLostRace: a cancel that loses its write to a worker's claim decides again
// from what the worker stored, and cancels the now processing task.
func TestCancelAfterLostRace(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *bundle) {
		tk := b.create(t, alice, tasktest.TypeAlpha)
		rs := &racingStore{Store: b.store, t: t, race: func(x task.Task) (task.Change, error) { return x.Claim(b.clock.Now()) }}
		b.svc.Store = rs
		got, err := b.svc.Cancel(t.Context(), alice, tk.ID)
		if err != nil || got.Status != task.Cancelled || !got.CancelRequested {
			t.Errorf("Cancel after losing to a claim: %s cancelRequested %t, %v; want cancelled as processing, true", got.Status, got.CancelRequested, err)
		}
		if !rs.done {
			t.Error("the race never ran")
		}
	})
}

// forge is marker with its first character changed (to another one, whatever it was: a
// marker that began with the replacement would otherwise be replayed unchanged).
func forge(marker string) string {
	c := byte('x')
	if marker[0] == c {
		c = 'y'
	}
	return string(c) + marker[1:]
}
