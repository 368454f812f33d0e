// Package servicetask is the `external` task type: service tasks in the manner of vCloud
// Director's extension services (the contract's "Service tasks"). A principal with the
// service role creates one on a tenant's list, naming the tenant (owner), its own namespace
// and the steps; Tasklane runs none of them: each is a callback step that the service drives
// through its callback URL, and the API hands the service each step's callback as it starts
// (shared/usecase). The worker only times steps out, as for any callback step.
package servicetask

import (
	"encoding/json"
	"regexp"
	"time"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/task"
)

// TypeName is the type of every service task.
const TypeName = "external"

// A service task's steps: the create gives only their names and descriptions, so their
// callbacks' limits are the deployment's. A step lives an hour after its start or last
// heartbeat, and a day in all; then it fails with CALLBACK_TIMED_OUT (retryable: the
// service's next attempt has a fresh callback).
const (
	Heartbeat = time.Hour
	Timeout   = 24 * time.Hour
)

// MaxSubTasks bounds a service task's steps (the contract's 1..50).
const MaxSubTasks = 50

// namespace is reverse-DNS-ish: two or more dot-separated labels of lower-case letters,
// digits and hyphens, the first starting with a letter (org.example.backup).
var namespace = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)

// ValidNamespace reports whether s is a service namespace: reverse-DNS-ish, at most 253
// characters.
func ValidNamespace(s string) bool { return len(s) <= 253 && namespace.MatchString(s) }

// Type is the external type.
func Type() task.Type {
	cb := executor.Callback{Heartbeat: Heartbeat, Timeout: Timeout}
	return task.Type{
		Name:        TypeName,
		Description: "A service task: created and driven by an outside service (the service role) through callbacks, one per step; the steps are the create's subTasks.",
		External:    true,
		Callbacks:   &task.CallbackLimits{Heartbeat: Heartbeat, Timeout: Timeout},
		Plan: func(json.RawMessage) ([]task.Step, error) {
			return nil, nil // the steps are the create's (task.Spec.SubTasks)
		},
		Execute: cb.Execute,
		Result: func(t *task.Task) (json.RawMessage, string, error) {
			if n := len(t.SubTasks); n > 0 && t.SubTasks[n-1].Output != nil {
				return t.SubTasks[n-1].Output, "", nil
			}
			return json.RawMessage("{}"), "", nil
		},
	}
}
