//go:build !lambda.norpc

package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// The embedded backends are for `make run` and tests only. Lambda builds (tag lambda.norpc,
// see lambda.go) leave them out: a function never runs on them, and bbolt would take a
// tenth of the binary-size budget.

// openFileStore opens the embedded store at path, creating its directory.
func openFileStore(path string) (task.Store, io.Closer, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
	}
	fs, err := filestore.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	return fs, fs, nil
}

// memQueues is the in-process work queue, redriving to an in-process dead-letter queue after
// five receives as the deployed queue does.
func memQueues() (queue.Queue, queue.Queue, error) {
	dlq := memqueue.New(memqueue.Options{})
	return memqueue.New(memqueue.Options{MaxReceiveCount: 5, DeadLetter: dlq}), dlq, nil
}
