package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// The suite's reads; its tasks are made and driven by shared/tasktest.

func mustGet(t *testing.T, s task.Store, id string, now time.Time) task.Task {
	t.Helper()
	got, err := s.Get(t.Context(), id, now)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", id, now.Format(time.RFC3339Nano), err)
	}
	return got
}

func assertNotFound(t *testing.T, s task.Store, id string, now time.Time) {
	t.Helper()
	got, err := s.Get(t.Context(), id, now)
	if !errors.Is(err, task.ErrNotFound) {
		t.Errorf("Get(%s, %s) = (status %q, %v), want an error wrapping task.ErrNotFound", id, now.Format(time.RFC3339Nano), got.Status, err)
	}
}
