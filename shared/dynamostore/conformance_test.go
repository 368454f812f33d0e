package dynamostore

import (
	"testing"

	"github.com/tasklane/tasklane/shared/storetest"
	"github.com/tasklane/tasklane/shared/task"
)

// TestConformance runs the task.Store conformance suite, one fresh table per store.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) task.Store { return setup(t).store() })
}

// TestConformanceUpdatedAtIndex runs the suite's lists of one owner on a table with
// IndexByUpdated and a store that reads it: the same answers as without, by another read.
func TestConformanceUpdatedAtIndex(t *testing.T) {
	t.Parallel()
	storetest.RunOwnerLists(t, func(t *testing.T) task.Store {
		return setup(t, UpdatedAtIndex).store(WithUpdatedAtIndex())
	})
}
