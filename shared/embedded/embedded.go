// Package embedded opens the backends of `make run` and the tests: the bbolt file store and
// the in-process queues. Only the local runner and tests import it; the Lambda functions
// import shared/awsbackend instead, so a bootstrap links no bbolt (a tenth of the size
// budget) and a function can never quietly keep tasks in its ephemeral /tmp (infra/lambdatest
// holds both: it lists what each function links).
package embedded

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/filestore"
	"github.com/tasklane/tasklane/shared/memqueue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/webhook"
)

// Open opens the file store at s.DataFile, creating its directory, and the in-process work
// queue, which redrives to an in-process dead-letter queue after five receives as the
// deployed queue does, and the in-process webhook queue and its dead-letter queue (the URLs
// that answered 410 are remembered in memory, for the process's life). Closing the Backends' Closer releases the file.
func Open(s settings.Settings) (app.Backends, error) {
	path := s.DataFile
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return app.Backends{}, err
		}
	}
	fs, err := filestore.Open(path)
	if err != nil {
		return app.Backends{}, fmt.Errorf("open %s: %w", path, err)
	}
	dlq := memqueue.New(memqueue.Options{})
	work := memqueue.New(memqueue.Options{MaxReceiveCount: 5, DeadLetter: dlq})
	hookDLQ := memqueue.New(memqueue.Options{})
	hooks := memqueue.New(memqueue.Options{MaxReceiveCount: 5, DeadLetter: hookDLQ})
	return app.Backends{Store: fs, Queue: work, DeadLetter: dlq, Closer: fs,
		Webhooks: hooks, WebhookDeadLetter: hookDLQ, Gone: &webhook.Memory{}}, nil
}
