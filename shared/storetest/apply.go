package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

func testApplyStored(t *testing.T, newStore newStoreFunc) {
	type step = func(task.Task) (task.Change, error)
	tests := []struct {
		name  string
		steps []step // applied in turn, each to the task as Get returns it
	}{
		{"claim", []step{
			func(x task.Task) (task.Change, error) { return x.Claim(tasktest.At(time.Second)) },
		}},
		{"cancel pending", []step{
			func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(time.Second)) },
		}},
		{"claim, attempt, cancel requested, confirm", []step{
			func(x task.Task) (task.Change, error) { return x.Claim(tasktest.At(time.Second)) },
			func(x task.Task) (task.Change, error) {
				c, _, err := x.StartAttempt(tasktest.At(2 * time.Second))
				return c, err
			},
			func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(3 * time.Second)) },
			func(x task.Task) (task.Change, error) { return x.FinishSubTask(0, tasktest.At(4*time.Second)) },
			func(x task.Task) (task.Change, error) { return x.ConfirmCancel(tasktest.At(5 * time.Second)) },
		}},
		{"fail, retry, claim", []step{
			func(x task.Task) (task.Change, error) { return x.Claim(tasktest.At(time.Second)) },
			func(x task.Task) (task.Change, error) {
				c, _, err := x.StartAttempt(tasktest.At(2 * time.Second))
				return c, err
			},
			func(x task.Task) (task.Change, error) {
				return x.RetryAttempt(0, task.Error{ErrorCode: "FLAKY", Message: "try again"}, tasktest.At(3*time.Second))
			},
			func(x task.Task) (task.Change, error) {
				return x.Fail(task.Error{ErrorCode: "BROKEN", Message: "gave up", Causes: []string{"disk"}}, tasktest.At(4*time.Second))
			},
			func(x task.Task) (task.Change, error) { return x.Retry(tasktest.At(5*time.Second), true) },
			func(x task.Task) (task.Change, error) { return x.Claim(tasktest.At(6 * time.Second)) },
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tk := tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0)))
			now := tasktest.At(time.Minute)
			for _, st := range tc.steps {
				cur := mustGet(t, s, tk.ID, now)
				c := tasktest.Transition(t, cur, st)
				tasktest.Apply(t, s, c)
				assertSameTask(t, "Get after Apply", c.Task, mustGet(t, s, tk.ID, now))
				tk = c.Task
			}
			// The list indexes follow the change, in both orders (updatedAt only under
			// RunUpdatedLists).
			for _, key := range sortKeysOf(s) {
				p, err := s.List(t.Context(), task.ListQuery{Owner: "tenant-a", Statuses: []task.Status{tk.Status}, SortKey: key, Limit: 10, Now: now})
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				if len(p.Tasks) != 1 {
					t.Fatalf("List by %s with status %s after Apply returned %v, want [%s]", key, tk.Status, ids(p.Tasks), tk.ID)
				}
				assertSameListed(t, "List after Apply", tk, p.Tasks[0])
			}
		})
	}
}

func testApplyConflict(t *testing.T, newStore newStoreFunc) {
	tests := []struct {
		name string
		// change builds the change to refuse, given the task as stored (processing at
		// version 2, after a claim) and as it was before the claim (pending, version 1).
		change func(t *testing.T, stored, previous task.Task) task.Change
	}{
		{"computed from an older version", func(t *testing.T, stored, previous task.Task) task.Change {
			return tasktest.Transition(t, previous, func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(2 * time.Second)) })
		}},
		{"right version, wrong status", func(t *testing.T, stored, previous task.Task) task.Change {
			c := tasktest.Transition(t, stored, func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(2 * time.Second)) })
			c.FromStatus = task.Pending
			return c
		}},
		{"right status, wrong version", func(t *testing.T, stored, previous task.Task) task.Change {
			c := tasktest.Transition(t, stored, func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(2 * time.Second)) })
			c.FromVersion = stored.Version + 1
			c.Task.Version = stored.Version + 2
			return c
		}},
		{"a version from the future", func(t *testing.T, stored, previous task.Task) task.Change {
			c := tasktest.Transition(t, stored, func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(2 * time.Second)) })
			c.FromVersion = stored.Version + 10
			c.Task.Version = stored.Version + 11
			return c
		}},
		{"no such task", func(t *testing.T, stored, previous task.Task) task.Change {
			other := tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0))
			return tasktest.Transition(t, other, func(x task.Task) (task.Change, error) { return x.Claim(tasktest.At(2 * time.Second)) })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			previous := tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0)))
			stored := tasktest.Drive(t, s, previous, task.Processing, tasktest.At(time.Second))
			c := tc.change(t, stored, previous)

			err := s.Apply(t.Context(), c)
			if !task.IsConflict(err) {
				t.Fatalf("Apply of a stale change = %v, want a *task.ConflictError", err)
			}
			var ce *task.ConflictError
			if errors.As(err, &ce) && ce.ID != c.Task.ID {
				t.Errorf("ConflictError.ID = %q, want %q", ce.ID, c.Task.ID)
			}
			now := tasktest.At(time.Hour)
			if c.Task.ID == stored.ID {
				assertSameTask(t, "after a refused Apply", stored, mustGet(t, s, stored.ID, now))
			} else {
				assertNotFound(t, s, c.Task.ID, now)
			}
			p, err := s.List(t.Context(), task.ListQuery{Owner: "tenant-a", Limit: 10, Now: now})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(p.Tasks) != 1 || p.Tasks[0].ID != stored.ID {
				t.Fatalf("List after a refused Apply = %v, want [%s]", ids(p.Tasks), stored.ID)
			}
			assertSameListed(t, "List after a refused Apply", stored, p.Tasks[0])
		})
	}
}

func testApplyConcurrent(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	const rounds, writers = 8, 6
	for round := range rounds {
		tk := tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(time.Duration(round)*time.Second)))
		// Every writer read version 1 and computed its own change from it.
		changes := make([]task.Change, writers)
		for w := range writers {
			when := tasktest.At(time.Minute + time.Duration(w)*time.Millisecond)
			switch w % 3 {
			case 0:
				changes[w] = tasktest.Transition(t, tk, func(x task.Task) (task.Change, error) { return x.Claim(when) })
			case 1:
				changes[w] = tasktest.Transition(t, tk, func(x task.Task) (task.Change, error) { return x.Cancel(when) })
			default:
				changes[w] = tasktest.Transition(t, tk, func(x task.Task) (task.Change, error) {
					return x.Fail(task.Error{ErrorCode: "DELIVERY_FAILED", Message: "writer"}, when)
				})
			}
		}
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				errs[w] = s.Apply(t.Context(), changes[w])
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: writers %d and %d both applied a change from version %d", round, winner, w, tk.Version)
			case err == nil:
				winner = w
			case !task.IsConflict(err):
				t.Errorf("round %d: writer %d: Apply = %v, want nil or a *task.ConflictError", round, w, err)
			}
		}
		if winner < 0 {
			t.Errorf("round %d: no writer won: %v", round, errs)
			continue
		}
		assertSameTask(t, "the winner's change", changes[winner].Task, mustGet(t, s, tk.ID, tasktest.At(time.Hour)))
	}
}

// testApplyResent: re-applying the very change already stored (its first try was written and
// only the answer was lost) is success and changes nothing; once another change followed
// it, re-sending it is a conflict like any stale change. The store recognises its own write
// by the change's WriteID (see "Writes whose answer was lost" in shared/dynamostore's package
// comment); a change equal to the stored task in everything but the WriteID is another
// writer's and a conflict.
func testApplyResent(t *testing.T, newStore newStoreFunc) {
	s := newStore(t)
	tk := tasktest.Create(t, s, tasktest.New(t, "tenant-a", tasktest.TypeAlpha, tasktest.At(0)))
	claim := tasktest.Transition(t, tk, func(x task.Task) (task.Change, error) { return x.Claim(tasktest.At(time.Second)) })
	tasktest.Apply(t, s, claim)
	if err := s.Apply(t.Context(), claim); err != nil {
		t.Fatalf("re-sent Apply(claim) = %v, want success: it is stored already", err)
	}
	now := tasktest.At(time.Minute)
	assertSameTask(t, "after a re-sent Apply", claim.Task, mustGet(t, s, tk.ID, now))

	twin := claim
	twin.Task = claim.Task.Clone()
	twin.Task.WriteID = task.NewWriteID()
	if err := s.Apply(t.Context(), twin); !task.IsConflict(err) {
		t.Errorf("Apply of another writer's identical claim = %v, want a *task.ConflictError", err)
	}

	start := tasktest.Transition(t, claim.Task, func(x task.Task) (task.Change, error) {
		c, _, err := x.StartAttempt(tasktest.At(2 * time.Second))
		return c, err
	})
	tasktest.Apply(t, s, start)
	if err := s.Apply(t.Context(), claim); !task.IsConflict(err) {
		t.Errorf("re-sent Apply(claim) after a later change = %v, want a *task.ConflictError", err)
	}
	assertSameTask(t, "after a refused re-sent Apply", start.Task, mustGet(t, s, tk.ID, now))
	p, err := s.List(t.Context(), task.ListQuery{Owner: "tenant-a", SortKey: task.SortUpdated, Limit: 10, Now: now})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(p.Tasks) != 1 {
		t.Fatalf("List = %v, want [%s]", ids(p.Tasks), tk.ID)
	}
	assertSameListed(t, "List after re-sent Applies", start.Task, p.Tasks[0])
}
