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

// TestConformanceUpdatedAtIndexes runs the suite's lists in updatedAt order on a table with
// the opt-in indexes IndexByUpdated and IndexAllUpdated and a store that reads them: the same
// answers as without, by other reads.
func TestConformanceUpdatedAtIndexes(t *testing.T) {
	t.Parallel()
	storetest.RunUpdatedLists(t, func(t *testing.T) task.Store {
		return setup(t, UpdatedAtIndex, AdminUpdatedAtIndex).store(WithUpdatedAtIndex(), WithAdminUpdatedAtIndex())
	})
}
