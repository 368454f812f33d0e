//go:build lambda.norpc

package config

import (
	"errors"
	"io"

	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/task"
)

// Lambda builds have no embedded backends (see local.go): without TABLE_NAME and QUEUE_URL a
// function fails at start-up instead of quietly keeping tasks in its ephemeral /tmp.

func openFileStore(string) (task.Store, io.Closer, error) {
	return nil, nil, errors.New(EnvTableName + " must be set: Lambda builds have no embedded store")
}

func memQueues() (queue.Queue, queue.Queue, error) {
	return nil, nil, errors.New(EnvQueueURL + " must be set: Lambda builds have no in-process queue")
}
