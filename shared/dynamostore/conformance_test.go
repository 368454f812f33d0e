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
