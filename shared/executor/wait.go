package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// Wait succeeds Seconds after its attempt starts, using no compute meanwhile: its first call
// suspends the attempt (task.Suspend), and the worker, instead of sleeping, continues the
// task in messages delayed until then (SQS delays are at most 15 minutes, so a longer wait
// is a chain of them). Called again with the wait over (Attempt.Resumed), it succeeds with
// the output {"seconds": Seconds}.
type Wait struct {
	Seconds int
}

// Execute suspends the attempt, or ends it once resumed.
func (w Wait) Execute(_ context.Context, a task.Attempt) (json.RawMessage, error) {
	if !a.Resumed {
		return nil, task.Suspend(time.Duration(w.Seconds) * time.Second)
	}
	return json.RawMessage(fmt.Sprintf(`{"seconds":%d}`, w.Seconds)), nil
}
