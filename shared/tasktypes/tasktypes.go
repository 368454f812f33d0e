// Package tasktypes is the list of task types this deployment runs: every binary (each Lambda
// function, the local runner, the tests that run a whole Tasklane) registers exactly these.
//
// Adding a task type: write a function returning its task.Type (name, subtasks, attempt
// budget, how a step runs) in a package of its own, as shared/demo does, and add it to
// Registry below; the API then lists it at /v1/task-types and the worker runs it.
package tasktypes

import (
	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/task"
)

// Registry returns the registry of the task types this deployment runs. Add a type here.
func Registry() (*task.Registry, error) {
	return task.NewRegistry(
		demo.Type(),
	)
}
