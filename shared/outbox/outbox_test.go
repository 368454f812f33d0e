package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/outbox"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// sink records what it takes; fail makes its next Publish fail.
type sink struct {
	got  []event.Event
	fail bool
}

func (s *sink) Publish(_ context.Context, evs []event.Event) error {
	if s.fail {
		s.fail = false
		return errors.New("receiver down")
	}
	s.got = append(s.got, evs...)
	return nil
}

// bundle is one test's store file, opened with the outbox on.
type bundle struct {
	path  string
	store *filestore.Store
	want  []event.Event // the events of the changes stored so far
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{path: filepath.Join(t.TempDir(), "tasklane.db")}
	b.open(t)
	return b
}

func (b *bundle) open(t *testing.T) {
	t.Helper()
	s, err := filestore.Open(b.path)
	if err != nil {
		t.Fatal(err)
	}
	s.EnableOutbox()
	b.store = s
	t.Cleanup(func() { _ = s.Close() })
}

// walk stores a task's life: created, processing, failure, retried, processing, success.
func (b *bundle) walk(t *testing.T) {
	t.Helper()
	tk := tasktest.Create(t, b.store, tasktest.New(t, "acme", tasktest.TypeBeta, tasktest.Base))
	b.want = append(b.want, event.Of(nil, tk)...)
	step := func(f func(task.Task) (task.Change, error)) {
		after := tasktest.Apply(t, b.store, tasktest.Transition(t, tk, f))
		b.want = append(b.want, event.Of(&tk, after)...)
		tk = after
	}
	at := func(s int) time.Time { return tasktest.At(time.Duration(s) * time.Second) }
	start := func(x task.Task) (task.Change, error) { c, _, err := x.ClaimAndStart(at(1)); return c, err }
	step(start)
	step(func(x task.Task) (task.Change, error) {
		return x.Fail(task.Error{ErrorCode: "BOOM", Message: "boom", Causes: []string{}}, at(2))
	})
	step(func(x task.Task) (task.Change, error) { return x.Retry(at(3), true) })
	step(start)
	step(func(x task.Task) (task.Change, error) { c, _, err := x.FinishAndStart(0, at(4)); return c, err })
	step(func(x task.Task) (task.Change, error) { return x.FinishAndSucceed(1, json.RawMessage(`{}`), "", at(5)) })
}

func TestRelayPublishesEveryChangeInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.walk(t)
	s := &sink{}
	n, err := outbox.New(b.store, s).Drain(t.Context())
	if err != nil || n != 6 {
		t.Fatalf("Drain = %d, %v; want the walk's 6 events", n, err)
	}
	if diff := cmp.Diff(b.want, s.got); diff != "" {
		t.Errorf("events (-made +published):\n%s", diff)
	}
	if n, _ := outbox.New(b.store, s).Drain(t.Context()); n != 0 {
		t.Errorf("a second drain published %d events; the outbox should be empty", n)
	}
}

// TestOutboxSurvivesARestart: the process dies right after its commits, before any event went
// out; the next process, opening the same file, publishes them all.
func TestOutboxSurvivesARestart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.walk(t)
	if err := b.store.Close(); err != nil { // the process is gone
		t.Fatal(err)
	}
	b.open(t)
	s := &sink{}
	if _, err := outbox.New(b.store, s).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.want, s.got); diff != "" {
		t.Errorf("events after the restart (-made +published):\n%s", diff)
	}
}

func TestFailingSinkGetsTheEventsAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.walk(t)
	log, hooks := &sink{}, &sink{fail: true}
	r := outbox.New(b.store, log, hooks)
	if _, err := r.Drain(t.Context()); err == nil {
		t.Fatal("Drain with a failing sink succeeded")
	}
	if _, err := r.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.want, hooks.got); diff != "" {
		t.Errorf("the failed sink's events (-made +published):\n%s", diff)
	}
	if diff := cmp.Diff(append(append([]event.Event(nil), b.want...), b.want...), log.got); diff != "" {
		t.Errorf("the other sink gets them twice, the same events (-want +got):\n%s", diff)
	}
}

func TestWithoutOutboxNothingIsKept(t *testing.T) {
	t.Parallel()
	s, err := filestore.Open(filepath.Join(t.TempDir(), "tasklane.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tasktest.Create(t, s, tasktest.New(t, "acme", tasktest.TypeAlpha, tasktest.Base))
	if got, err := s.Pending(t.Context(), 10); err != nil || len(got) != 0 {
		t.Errorf("Pending = %v, %v; want nothing without EnableOutbox", got, err)
	}
}

func TestHookWakesTheRelay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := &sink{}
	r := outbox.New(b.store, s)
	r.Every = time.Hour // only the hook can wake it
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	w := task.Writer{Store: b.store, Now: func() time.Time { return tasktest.Base }, Hooks: []task.Hook{r.Hook()}}
	tk := tasktest.New(t, "acme", tasktest.TypeAlpha, tasktest.Base)
	if err := w.Create(t.Context(), tk, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p, _ := b.store.Pending(t.Context(), 1); len(p) == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(s.got) != 1 || s.got[0].Type != event.Created {
		t.Errorf("published %v, want the create's event", s.got)
	}
}
