// Package tasktypes is the list of task types this deployment runs: every binary (each Lambda
// function, the local runner, the tests that run a whole Tasklane) registers exactly these:
// the Go-registered ones below and the catalog's (tasktypes.json at the repository's root,
// see shared/catalog). A catalog type named like a Go-registered one is a start-up error.
//
// Adding a task type: add it to tasktypes.json (README.md, "Adding a task type"). A type that
// needs Go (as shared/demo does) is a function returning its task.Type in a package of its
// own, added to goTypes below; the API then lists it at /v1/task-types and the worker runs it.
package tasktypes

import (
	"fmt"

	"github.com/tasklane/tasklane"
	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/servicetask"
	"github.com/tasklane/tasklane/shared/task"
)

// goTypes are the types registered in Go. Add a type here.
func goTypes() []task.Type {
	return []task.Type{
		demo.Type(),
		servicetask.Type(),
	}
}

// Registry returns the registry of the task types this deployment runs, the catalog's steps
// run with a zero catalog.Runtime (http steps reach public addresses only, unsigned; lambda
// steps fail: no client). Functions that run steps use RegistryWith.
func Registry() (*task.Registry, error) {
	return RegistryWith(catalog.Runtime{})
}

// RegistryWith is Registry with the catalog's steps run through rt.
func RegistryWith(rt catalog.Runtime) (*task.Registry, error) {
	return New(tasklane.Catalog, rt)
}

// New is the registry of the Go-registered types and those of the catalog doc.
func New(doc []byte, rt catalog.Runtime) (*task.Registry, error) {
	fromCatalog, err := catalog.Parse(doc, rt)
	if err != nil {
		return nil, err
	}
	types := goTypes()
	builtIn := make(map[string]bool, len(types))
	for _, t := range types {
		builtIn[t.Name] = true
	}
	for _, t := range fromCatalog {
		if builtIn[t.Name] {
			return nil, fmt.Errorf("task type catalog: %q is the name of a type registered in Go; choose another", t.Name)
		}
	}
	return task.NewRegistry(append(types, fromCatalog...)...)
}
