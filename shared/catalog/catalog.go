// Package catalog turns the deployer's catalog of task types (tasktypes.json at the
// repository's root, embedded by package tasklane) into task.Types: each with an input JSON
// Schema checked at create, fixed steps each run by an executor (shared/executor: lambda,
// http, wait), an attempt budget, whether clients may retry, per-step timeouts and backoff,
// and a result built from the steps' outputs (see result). A deployer adds a task type by
// editing the catalog only; README.md, "Adding a task type", walks through one.
//
// The catalog is checked against its own JSON Schema (catalog.schema.json) and then for what
// a schema cannot say (unique names, input schemas that compile, result templates naming
// real steps) when a function starts: a bad catalog stops the start-up with the reason, and
// the repository's test of tasktypes.json refuses it in CI before it is ever deployed.
package catalog

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tasklane/tasklane/shared/executor"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/whsec"
)

// Schema is the JSON Schema of a catalog.
//
//go:embed catalog.schema.json
var Schema []byte

// Runtime is what the executors of catalog steps need from the wiring.
type Runtime struct {
	// Lambda invokes lambda steps' functions; nil fails them for good (no client configured).
	Lambda executor.Invoker
	// HTTPClient sends http steps' requests; nil: executor.NewHTTPClient(false), which
	// reaches public addresses only.
	HTTPClient *http.Client
	// SigningSecret signs http steps' requests; the zero Secret: unsigned.
	SigningSecret whsec.Secret
	// Now stamps the signatures; nil: time.Now.
	Now func() time.Time
	// Wrap, when set, wraps each step's executor: how tests inject faults (fault.Executor).
	Wrap func(typeName, step string, e executor.Executor) executor.Executor
}

// file is a catalog as tasktypes.json spells it (see catalog.schema.json for each field).
type file struct {
	TaskTypes []typeDef `json:"taskTypes"`
}

type typeDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	MaxAttempts int             `json:"maxAttempts"`
	Retryable   *bool           `json:"retryable"`
	Input       json.RawMessage `json:"input"`
	Steps       []stepDef       `json:"steps"`
	Result      json.RawMessage `json:"result"`
}

type stepDef struct {
	Name           string `json:"name"`
	Description    string `json:"description"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
	Retry          *struct {
		BackoffSeconds int `json:"backoffSeconds"`
	} `json:"retry"`
	Lambda *struct {
		Function string `json:"function"`
	} `json:"lambda"`
	HTTP *struct {
		URL string `json:"url"`
	} `json:"http"`
	Wait *struct {
		Seconds int `json:"seconds"`
	} `json:"wait"`
	Callback *struct {
		TimeoutSeconds   int `json:"timeoutSeconds"`
		HeartbeatSeconds int `json:"heartbeatSeconds"`
	} `json:"callback"`
}

// Parse checks a catalog and returns its task types, their steps run through rt. Every error
// names where in the catalog it is, e.g. "taskTypes[1].steps[0]: ...".
func Parse(doc []byte, rt Runtime) ([]task.Type, error) {
	if err := executorsNamed(doc); err != nil {
		return nil, fmt.Errorf("task type catalog: %w", err)
	}
	schema, err := compile(Schema)
	if err != nil {
		return nil, fmt.Errorf("catalog schema: %w", err)
	}
	if err := schema.validateCatalog(doc); err != nil {
		return nil, fmt.Errorf("task type catalog: %w", err)
	}
	var f file
	if err := json.Unmarshal(doc, &f); err != nil {
		return nil, fmt.Errorf("task type catalog: %w", err)
	}
	seen := map[string]int{}
	types := make([]task.Type, 0, len(f.TaskTypes))
	for i, def := range f.TaskTypes {
		where := fmt.Sprintf("task type catalog: taskTypes[%d] (%s)", i, def.Name)
		if first, dup := seen[def.Name]; dup {
			return nil, fmt.Errorf("%s: the name is already that of taskTypes[%d]", where, first)
		}
		seen[def.Name] = i
		t, err := def.build(rt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		types = append(types, t)
	}
	return types, nil
}

// executorsNamed checks, before the schema (whose oneOf would not say which step), that each
// step names exactly one executor.
func executorsNamed(doc []byte) error {
	var f struct {
		TaskTypes []struct {
			Steps []map[string]json.RawMessage `json:"steps"`
		} `json:"taskTypes"`
	}
	if json.Unmarshal(doc, &f) != nil {
		return nil // the schema check says what is wrong
	}
	for i, t := range f.TaskTypes {
		for j, st := range t.Steps {
			n := 0
			for _, k := range []string{"lambda", "http", "wait", "callback"} {
				if _, ok := st[k]; ok {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("taskTypes[%d].steps[%d]: a step names exactly one executor, lambda, http, wait or callback; this one names %d", i, j, n)
			}
		}
	}
	return nil
}

// build makes the task type def describes.
func (def typeDef) build(rt Runtime) (task.Type, error) {
	var input *schema
	if len(def.Input) > 0 {
		s, err := compile(def.Input)
		if err != nil {
			return task.Type{}, fmt.Errorf("input: not a usable JSON Schema: %w", err)
		}
		input = s
	}
	names := map[string]int{}
	steps := make([]task.Step, len(def.Steps))
	execs := make([]executor.Executor, len(def.Steps))
	for j, sd := range def.Steps {
		if first, dup := names[sd.Name]; dup {
			return task.Type{}, fmt.Errorf("steps[%d]: the name %q is already that of steps[%d]", j, sd.Name, first)
		}
		names[sd.Name] = j
		kind, e := sd.executor(rt)
		if rt.Wrap != nil {
			e = rt.Wrap(def.Name, sd.Name, e)
		}
		execs[j] = e
		steps[j] = task.Step{Name: sd.Name, Description: sd.Description, Executor: kind, TimeoutSeconds: sd.TimeoutSeconds}
		if sd.Retry != nil {
			steps[j].BackoffSeconds = sd.Retry.BackoffSeconds
		}
	}
	res, err := parseResult(def.Result, names)
	if err != nil {
		return task.Type{}, err
	}
	var schemaDoc json.RawMessage
	if len(def.Input) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, def.Input); err != nil {
			return task.Type{}, err
		}
		schemaDoc = buf.Bytes()
	}
	return task.Type{
		Name:        def.Name,
		Description: def.Description,
		MaxAttempts: def.MaxAttempts,
		NoRetry:     def.Retryable != nil && !*def.Retryable,
		Plan: func(in json.RawMessage) ([]task.Step, error) {
			if input != nil {
				if err := input.validate("input", in); err != nil {
					return nil, err
				}
			}
			return append([]task.Step(nil), steps...), nil
		},
		Execute: func(ctx context.Context, a task.Attempt) (json.RawMessage, error) {
			if a.Index < 0 || a.Index >= len(execs) {
				return nil, &task.CodedError{Code: "STEP_UNKNOWN", Message: fmt.Sprintf("type %s has no step %d (the catalog changed under the task)", def.Name, a.Index)}
			}
			return execs[a.Index].Execute(ctx, a)
		},
		Result: func(t *task.Task) (json.RawMessage, string, error) {
			b, err := res.build(t)
			return b, "", err
		},
		Steps:       steps,
		InputSchema: schemaDoc,
	}, nil
}

// executor is the step's executor and its kind's name.
func (sd stepDef) executor(rt Runtime) (string, executor.Executor) {
	timeout := time.Duration(sd.TimeoutSeconds) * time.Second
	switch {
	case sd.Lambda != nil:
		return "lambda", executor.Lambda{Function: sd.Lambda.Function, Timeout: timeout, Client: rt.Lambda}
	case sd.HTTP != nil:
		return "http", executor.HTTP{URL: strings.TrimSpace(sd.HTTP.URL), Timeout: timeout, Client: rt.HTTPClient, Secret: rt.SigningSecret, Now: rt.Now}
	case sd.Callback != nil:
		return "callback", executor.Callback{Heartbeat: time.Duration(sd.Callback.HeartbeatSeconds) * time.Second, Timeout: time.Duration(sd.Callback.TimeoutSeconds) * time.Second}
	default: // the catalog's schema allows exactly one of the four
		return "wait", executor.Wait{Seconds: sd.Wait.Seconds}
	}
}

// FunctionARNs lists the functions a catalog's lambda steps invoke, for the template's
// TaskFunctionArns check.
func FunctionARNs(doc []byte) ([]string, error) {
	var f file
	if err := json.Unmarshal(doc, &f); err != nil {
		return nil, err
	}
	var out []string
	for _, t := range f.TaskTypes {
		for _, s := range t.Steps {
			if s.Lambda != nil {
				out = append(out, s.Lambda.Function)
			}
		}
	}
	return out, nil
}
