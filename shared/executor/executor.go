// Package executor runs the steps of catalog task types (shared/catalog): each step names an
// executor, which performs one attempt of it and returns the step's output. An executor has
// the shape of task.Type's Execute, so that a catalog type's Execute only picks the step's
// executor:
//   - Lambda invokes an AWS Lambda function;
//   - HTTP POSTs to a URL, signed like a webhook;
//   - Wait suspends the attempt (task.Suspend) for a number of seconds: the worker continues
//     the task in delayed messages instead of sleeping.
//
// Errors follow the worker's rules (shared/worker): task.Retryable for what another attempt
// may cure, a *task.CodedError for the errorCode recorded, task.Suspend for an attempt that
// waits without compute. A step that is resumed from outside (a callback step, to come) is an
// Executor that returns task.Suspend(its timeout) and, called again with Attempt.Resumed once
// the timeout passed, fails the attempt; whoever completes it meanwhile finishes the subtask
// through the task's writer, so the worker never resumes it.
package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
)

// Executor performs one attempt of one step and returns its output (nil for none).
type Executor interface {
	Execute(ctx context.Context, a task.Attempt) (json.RawMessage, error)
}

// Func is a function as an Executor.
type Func func(ctx context.Context, a task.Attempt) (json.RawMessage, error)

// Execute calls f.
func (f Func) Execute(ctx context.Context, a task.Attempt) (json.RawMessage, error) {
	return f(ctx, a)
}

// MaxOutput bounds a step's output: outputs are stored in the task's item, which must stay
// far below DynamoDB's 400 KB with the input, the result and every other step's output.
const MaxOutput = 32 << 10

// Document is what the lambda and http executors send: the task, the subtask, the attempt,
// the task's input and the outputs of the subtasks before this one, by name.
type Document struct {
	Task    DocumentTask               `json:"task"`
	SubTask DocumentSubTask            `json:"subTask"`
	Attempt int                        `json:"attempt"`
	Input   json.RawMessage            `json:"input"`
	Outputs map[string]json.RawMessage `json:"outputs"`
}

// DocumentTask names the task a step works for.
type DocumentTask struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name,omitempty"`
	Owner      string `json:"owner"`
	RetryCount int    `json:"retryCount"`
}

// DocumentSubTask names the step.
type DocumentSubTask struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}

// NewDocument is the document of attempt a.
func NewDocument(a task.Attempt) Document {
	t := a.Task
	outs := map[string]json.RawMessage{}
	for i := 0; i < a.Index && i < len(t.SubTasks); i++ {
		if o := t.SubTasks[i].Output; o != nil {
			outs[t.SubTasks[i].Name] = o
		}
	}
	in := t.Input
	if in == nil {
		in = json.RawMessage("null")
	}
	return Document{
		Task:    DocumentTask{ID: t.ID, Type: t.Type, Name: t.Name, Owner: t.Owner, RetryCount: t.RetryCount},
		SubTask: DocumentSubTask{Name: t.SubTasks[a.Index].Name, Index: a.Index},
		Attempt: a.Attempt,
		Input:   in,
		Outputs: outs,
	}
}

// Encode is the document's JSON.
func (d Document) Encode() ([]byte, error) { return strictjson.Marshal(d) }

// output makes what a function or endpoint answered a step's output: JSON as it is, other
// text as a JSON string, nothing as no output; larger than MaxOutput fails the step for good
// (another attempt would answer as much).
func output(body []byte) (json.RawMessage, error) {
	if len(body) > MaxOutput {
		return nil, &task.CodedError{Code: "STEP_OUTPUT_TOO_LARGE", Message: fmt.Sprintf("the step's output has %d bytes; at most %d are kept", len(body), MaxOutput)}
	}
	if len(body) == 0 {
		return nil, nil
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil { // stored compact, as every store would anyway
		return compact.Bytes(), nil
	}
	if !utf8.Valid(body) {
		return nil, &task.CodedError{Code: "STEP_OUTPUT_INVALID", Message: "the step's output is neither JSON nor UTF-8 text"}
	}
	b, err := json.Marshal(string(body))
	return b, err
}
