package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

// attempt is attempt 2 of the second subtask of a task whose first subtask returned an
// output.
func attempt() task.Attempt {
	return task.Attempt{
		Task: task.Task{
			ID: "01JTASK", Type: "thumbnail", Name: "cat.png", Owner: "tenant-a", RetryCount: 1,
			Input: json.RawMessage(`{"size":64}`),
			SubTasks: []task.SubTask{
				{Name: "Fetch", Status: task.Success, Output: json.RawMessage(`{"bytes":10}`)},
				{Name: "Render", Status: task.Processing, Attempts: 2},
			},
		},
		Index: 1, Attempt: 2,
	}
}

// wantDoc is the document of attempt().
const wantDoc = `{"task":{"id":"01JTASK","type":"thumbnail","name":"cat.png","owner":"tenant-a","retryCount":1},` +
	`"subTask":{"name":"Render","index":1},"attempt":2,"input":{"size":64},"outputs":{"Fetch":{"bytes":10}}}`

// code is err's errorCode and whether it is retryable; "" for no error.
func code(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var ce *task.CodedError
	if !errors.As(err, &ce) {
		return "uncoded: " + err.Error(), task.IsRetryable(err)
	}
	return ce.Code, task.IsRetryable(err)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}
