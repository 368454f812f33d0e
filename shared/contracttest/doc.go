// Package contracttest holds the contract tests: the tasks API of ../shared/tasks-api-v1.md
// exercised over HTTP, as a client would, through the local runner (shared/localrun) and so
// through the very handlers and worker Lambda runs, on both backends (the embedded store with
// the in-process queue, and DynamoDB with SQS on the emulators). It has no code of its own.
package contracttest
