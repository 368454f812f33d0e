package task_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/fault"
	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// writerBundle is a Writer over a fault.Store over one of the two stores, with a hook that
// records what it is told and a log a test can read.
type writerBundle struct {
	store *fault.Store
	hook  *tasktest.HookLog
	log   *lockedBuffer
	w     task.Writer
	task  task.Task // a pending task, not yet created
}

// backends are the stores the writer is tested over; "dynamodb" needs the emulator.
var backends = []string{"file", "dynamodb"}

func setupWriter(t *testing.T, backend string) *writerBundle {
	t.Helper()
	var inner task.Store
	switch backend {
	case "file":
		fs, err := filestore.Open(filepath.Join(t.TempDir(), "tasks.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = fs.Close() })
		inner = fs
	case "dynamodb":
		db := dynamodb.NewFromConfig(awstest.Config(t, "DYNAMODB"))
		name := awstest.Name("writer")
		if err := dynamostore.CreateTable(t.Context(), db, name); err != nil {
			t.Fatalf("create table: %v", err)
		}
		inner = dynamostore.New(db, name)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	b := &writerBundle{store: fault.NewStore(inner), hook: &tasktest.HookLog{}, log: &lockedBuffer{}}
	b.w = task.Writer{Store: b.store, Now: time.Now, Hooks: []task.Hook{b.hook}, Log: slog.New(slog.NewTextHandler(b.log, nil))}
	now := time.Now().UTC()
	b.task = task.Task{ID: task.NewID(now), Type: "demo", Owner: "tenant-a", Status: task.Pending,
		SubTasks: []task.SubTask{{Name: "One", Status: task.Pending}, {Name: "Two", Status: task.Pending}}, MaxAttempts: 3,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	return b
}

// created stores b.task behind the writer's back (no hook) and returns it.
func (b *writerBundle) created(t *testing.T) task.Task {
	t.Helper()
	if err := b.store.Inner().Create(t.Context(), b.task, nil); err != nil {
		t.Fatal(err)
	}
	return b.task
}

// forEachBackend runs test over each backend, in parallel.
func forEachBackend(t *testing.T, test func(t *testing.T, b *writerBundle)) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			test(t, setupWriter(t, backend))
		})
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// claim decides a claim, counting the decisions and keeping the versions it decided from.
type claim struct {
	mu       sync.Mutex
	versions []int64
}

func (c *claim) decide(t task.Task) (task.Decision, error) {
	c.mu.Lock()
	c.versions = append(c.versions, t.Version)
	c.mu.Unlock()
	if t.Status != task.Pending {
		return task.Stop(), nil
	}
	return task.FromTransition(t.Claim(time.Now()))
}

// TestWriterStores: a decided change is stored, the caller gets it, and the hook is told once
// with the task before and after.
func TestWriterStores(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		tk := b.created(t)
		var c claim
		got, v, err := b.w.Update(t.Context(), tk.ID, c.decide)
		if err != nil || v != task.Changed {
			t.Fatalf("Update = %v, %v; want Changed", v, err)
		}
		if got.Status != task.Processing || got.Version != 2 {
			t.Errorf("returned task %s at version %d, want processing at 2", got.Status, got.Version)
		}
		stored, err := b.store.Inner().Get(t.Context(), tk.ID, time.Now())
		if err != nil || stored.Version != 2 || stored.Status != task.Processing {
			t.Fatalf("stored task %s at version %d (%v), want processing at 2", stored.Status, stored.Version, err)
		}
		told := b.hook.Told()
		if len(told) != 1 {
			t.Fatalf("hook told %d times, want 1", len(told))
		}
		s := told[0]
		if s.Op != task.OpClaim || s.Before == nil || s.Before.Version != 1 || s.Before.Status != task.Pending ||
			s.After.Version != 2 || s.After.Status != task.Processing || s.After.WriteID != stored.WriteID {
			t.Errorf("hook told %+v, want the claim from version 1 to the stored version 2", s)
		}
	})
}

// TestWriterLostRace: another writer's change lands between the read and the write; the
// write loses, and the writer decides again from a fresh read, which here finds the task no
// longer pending (Stop). The hook hears of nothing: the only stored change was not its.
func TestWriterLostRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		tk := b.created(t)
		var once sync.Once
		b.store.BeforeApply(func(ctx context.Context, c task.Change) {
			once.Do(func() {
				cancel, err := tk.Cancel(time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if err := b.store.Inner().Apply(ctx, cancel); err != nil {
					t.Errorf("the other writer's cancel: %v", err)
				}
			})
		})
		var c claim
		got, v, err := b.w.UpdateFrom(t.Context(), tk, c.decide)
		if err != nil || v != task.Stopped {
			t.Fatalf("UpdateFrom = %v, %v; want Stopped", v, err)
		}
		if got.Status != task.Cancelled || got.Version != 2 {
			t.Errorf("returned %s at version %d, want the fresh read: cancelled at 2", got.Status, got.Version)
		}
		if len(c.versions) != 2 || c.versions[0] != 1 || c.versions[1] != 2 {
			t.Errorf("decided from versions %v, want [1 2]: once as read, once re-read", c.versions)
		}
		if n := len(b.hook.Told()); n != 0 {
			t.Errorf("hook told %d times, want 0", n)
		}
	})
}

// TestWriterLostRaceThenStores: after a lost race the fresh decision is written, and only it
// reaches the hook.
func TestWriterLostRaceThenStores(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		tk := b.created(t)
		claimed, err := tk.Claim(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := b.store.Inner().Apply(t.Context(), claimed); err != nil {
			t.Fatal(err)
		}
		// The caller read version 2; a StartAttempt by another worker lands first (version
		// 3), and the caller's cancel, decided again, only requests the cancel.
		var once sync.Once
		b.store.BeforeApply(func(ctx context.Context, c task.Change) {
			once.Do(func() {
				start, _, err := claimed.Task.StartAttempt(time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if err := b.store.Inner().Apply(ctx, start); err != nil {
					t.Errorf("the other writer's start: %v", err)
				}
			})
		})
		decisions := 0
		got, v, err := b.w.UpdateFrom(t.Context(), claimed.Task, func(t task.Task) (task.Decision, error) {
			decisions++
			return task.FromTransition(t.Cancel(time.Now()))
		})
		if err != nil || v != task.Changed {
			t.Fatalf("UpdateFrom = %v, %v; want Changed", v, err)
		}
		if decisions != 2 || got.Version != 4 || got.Status != task.Processing || !got.CancelRequested {
			t.Errorf("%d decisions, task %s at version %d, cancelRequested %t; want 2, processing at 4 with the cancel requested",
				decisions, got.Status, got.Version, got.CancelRequested)
		}
		told := b.hook.Told()
		if len(told) != 1 || told[0].Op != task.OpCancel || told[0].Before.Version != 3 || told[0].After.Version != 4 {
			t.Errorf("hook told %+v, want once: the cancel from version 3 to 4", told)
		}
	})
}

// TestWriterBound: losing every race, the writer gives up after WriteTries decisions with the
// last *ConflictError (which the API's error table answers 409 CONFLICT), and the hook hears
// nothing.
func TestWriterBound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		tk := b.created(t)
		b.store.OnApply(func(c task.Change) error {
			return &task.ConflictError{ID: c.Task.ID, FromStatus: c.FromStatus, FromVersion: c.FromVersion}
		})
		var c claim
		_, v, err := b.w.UpdateFrom(t.Context(), tk, c.decide)
		var ce *task.ConflictError
		if !errors.As(err, &ce) || ce.ID != tk.ID {
			t.Fatalf("UpdateFrom = %v, %v; want a *task.ConflictError for %s", v, err, tk.ID)
		}
		if len(c.versions) != task.WriteTries {
			t.Errorf("decided %d times, want WriteTries = %d", len(c.versions), task.WriteTries)
		}
		if n := len(b.store.Applied()); n != 0 {
			t.Errorf("%d changes stored, want none", n)
		}
		if n := len(b.hook.Told()); n != 0 {
			t.Errorf("hook told %d times, want 0", n)
		}
	})
}

// TestWriterNothingToWrite: NoChange, Stop and a refused transition write nothing and tell
// the hook nothing; the caller gets the task as read (or the refusal).
func TestWriterNothingToWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		tk := b.created(t)
		for _, c := range []struct {
			name    string
			decide  task.Decide
			verdict task.Verdict
			err     error
		}{
			{"no change", func(task.Task) (task.Decision, error) { return task.NoChange(), nil }, task.Unchanged, nil},
			{"empty change", func(t task.Task) (task.Decision, error) {
				return task.Write(task.Change{Task: t, FromStatus: t.Status, FromVersion: t.Version}), nil
			}, task.Unchanged, nil},
			{"stop", func(task.Task) (task.Decision, error) { return task.Stop(), nil }, task.Stopped, nil},
			{"refused", func(t task.Task) (task.Decision, error) { return task.FromTransition(t.Retry(time.Now(), true)) }, task.Unchanged, task.ErrNotRetryable},
		} {
			got, v, err := b.w.UpdateFrom(t.Context(), tk, c.decide)
			if v != c.verdict || !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Errorf("%s: UpdateFrom = %v, %v; want %v, %v", c.name, v, err, c.verdict, c.err)
			}
			if got.Version != tk.Version || got.Status != tk.Status {
				t.Errorf("%s: returned %s at %d, want the task as read", c.name, got.Status, got.Version)
			}
		}
		if n := len(b.store.Applied()); n != 0 {
			t.Errorf("%d changes stored, want none", n)
		}
		if n := len(b.hook.Told()); n != 0 {
			t.Errorf("hook told %d times, want 0", n)
		}
	})
}

// TestWriterStoreErrors: a failed write or re-read is the caller's error and tells the hook
// nothing.
func TestWriterStoreErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		tk := b.created(t)
		var c claim
		b.store.FailApplies(1)
		if _, _, err := b.w.UpdateFrom(t.Context(), tk, c.decide); !errors.Is(err, fault.ErrInjected) {
			t.Errorf("failed apply: %v, want ErrInjected", err)
		}
		b.store.OnApply(func(task.Change) error { return &task.ConflictError{ID: tk.ID} })
		b.store.FailGets(1)
		if _, _, err := b.w.UpdateFrom(t.Context(), tk, c.decide); !errors.Is(err, fault.ErrInjected) {
			t.Errorf("failed re-read: %v, want ErrInjected", err)
		}
		if _, _, err := b.w.Update(t.Context(), task.NewID(time.Now()), c.decide); !errors.Is(err, task.ErrNotFound) {
			t.Errorf("Update of no task: %v, want ErrNotFound", err)
		}
		if n := len(b.hook.Told()); n != 0 {
			t.Errorf("hook told %d times, want 0", n)
		}
	})
}

// TestWriterLostAnswer: a write the store applied but whose answer was lost is recognised by
// reading the task back (its WriteID): the caller gets success and the hook is told once.
// When the read-back fails too, the writer cannot know, and the caller gets the error.
func TestWriterLostAnswer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		tk := b.created(t)
		var c claim
		b.store.OnApply(func(task.Change) error { return fault.Lost(nil) })
		got, v, err := b.w.UpdateFrom(t.Context(), tk, c.decide)
		if err != nil || v != task.Changed || got.Status != task.Processing {
			t.Fatalf("lost answer: %v, %v, %s; want the change, stored", err, v, got.Status)
		}
		if n := len(b.store.Applied()); n != 1 {
			t.Errorf("%d changes stored, want 1", n)
		}
		if n := len(b.hook.Told()); n != 1 {
			t.Errorf("hook told %d times, want 1", n)
		}

		// The next change's answer is lost and so is the read that would have found it.
		b.store.FailGets(1)
		start := func(t task.Task) (task.Decision, error) {
			ch, _, err := t.StartAttempt(time.Now())
			return task.FromTransition(ch, err)
		}
		if _, _, err := b.w.UpdateFrom(t.Context(), got, start); !errors.Is(err, fault.ErrInjected) {
			t.Errorf("lost answer, read-back failed: %v, want ErrInjected", err)
		}
		if n := len(b.hook.Told()); n != 1 {
			t.Errorf("hook told %d times, want still 1", n)
		}
	})
}

// TestWriterHookFailure: a hook's error or panic is logged and neither fails nor undoes the
// change; the hooks after it are still told.
func TestWriterHookFailure(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		tk := b.created(t)
		b.w.Hooks = []task.Hook{
			task.HookFunc(func(context.Context, task.Stored) error { return errors.New("metrics down") }),
			task.HookFunc(func(context.Context, task.Stored) error { panic("hook bug") }),
			b.hook,
		}
		var c claim
		got, v, err := b.w.UpdateFrom(t.Context(), tk, c.decide)
		if err != nil || v != task.Changed || got.Version != 2 {
			t.Fatalf("UpdateFrom = %v, %v (version %d); want Changed at 2 despite the hooks", v, err, got.Version)
		}
		if stored, _ := b.store.Inner().Get(t.Context(), tk.ID, time.Now()); stored.Version != 2 {
			t.Errorf("stored version %d, want 2", stored.Version)
		}
		if n := len(b.hook.Told()); n != 1 {
			t.Errorf("the last hook told %d times, want 1", n)
		}
		log := b.log.String()
		for _, want := range []string{"metrics down", "hook bug"} {
			if !strings.Contains(log, want) {
				t.Errorf("log does not mention %q:\n%s", want, log)
			}
		}
	})
}

// TestWriterCreate: a create tells the hook once (Before nil); an idempotent replay and a
// failed create store nothing and tell it nothing.
func TestWriterCreate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *writerBundle) {
		ctx := t.Context()
		idem := &task.Idempotency{Owner: b.task.Owner, Key: "k1", BodyHash: "h", TaskID: b.task.ID, ExpiresAt: time.Now().Add(time.Hour)}
		b.store.FailCreates(1)
		if err := b.w.Create(ctx, b.task, idem); !errors.Is(err, fault.ErrInjected) {
			t.Fatalf("failed create: %v, want ErrInjected", err)
		}
		if err := b.w.Create(ctx, b.task, idem); err != nil {
			t.Fatal(err)
		}
		again := b.task
		again.ID = task.NewID(again.CreatedAt) // dynamostore refuses an id whose time is not createdAt's (checkCreatedOrder)
		if _, ok := task.AsIdempotencyExists(b.w.Create(ctx, again, &task.Idempotency{Owner: idem.Owner, Key: idem.Key, BodyHash: "h", TaskID: again.ID, ExpiresAt: idem.ExpiresAt})); !ok {
			t.Fatal("replay: want an *IdempotencyExistsError")
		}
		told := b.hook.Told()
		if len(told) != 1 || told[0].Op != task.OpCreate || told[0].Before != nil || told[0].After.ID != b.task.ID {
			t.Errorf("hook told %+v, want once: the create, with no task before", told)
		}
	})
}
