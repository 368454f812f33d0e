package metric

import (
	"context"

	"github.com/tasklane/tasklane/shared/task"
)

// Hook is the task.Hook that records what a stored change says: a create, a task that
// reached a terminal status, subtasks that finished, an attempt that failed and will be
// retried. It looks at the change (before and after), not at its Op, so the worker's folded
// writes count as their parts.
func (r *Recorder) Hook() task.Hook {
	return task.HookFunc(func(_ context.Context, s task.Stored) error {
		r.stored(s)
		return nil
	})
}

func (r *Recorder) stored(s task.Stored) {
	if r == nil {
		return
	}
	typ := map[string]string{"Type": s.After.Type}
	if s.Before == nil {
		r.Record(typ, Value{TasksCreated, Count, 1})
	}
	if s.After.Status.Terminal() && (s.Before == nil || s.Before.Status != s.After.Status) {
		r.Record(map[string]string{"Type": s.After.Type, "Status": string(s.After.Status)}, Value{TasksFinished, Count, 1})
	}
	if s.Before == nil {
		return
	}
	for i, after := range s.After.SubTasks {
		if i >= len(s.Before.SubTasks) {
			break
		}
		before := s.Before.SubTasks[i]
		if after.Status == before.Status && after.Attempts == before.Attempts {
			continue
		}
		switch {
		case (after.Status == task.Success || after.Status == task.Failure) && before.Status != after.Status:
			vs := []Value{{StepAttempts, Count, float64(after.Attempts)}}
			if after.StartedAt != nil && after.FinishedAt != nil {
				vs = append(vs, Value{StepDuration, Milliseconds, float64(after.FinishedAt.Sub(*after.StartedAt).Milliseconds())})
			}
			r.Record(typ, vs...)
		case after.Status == task.Pending && before.Status == task.Processing && after.Attempts > 0:
			r.Record(typ, Value{AttemptsFailed, Count, 1})
		}
	}
}
