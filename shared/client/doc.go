// Package client is a Go client of the Tasklane tasks API (the contract:
// shared/tasks-api-v1.md; the decisions it leaves open: docs/api.md). It is what the
// `tasklane` CLI is built on.
//
// A Client creates, reads, lists, waits for, cancels and retries tasks, lists the task
// types, and reports callback steps. It speaks only HTTP and JSON, and imports nothing of
// the server, so that a program that uses it links no AWS code.
//
// Every call is retried on 429, 5xx and network errors, with exponential backoff that
// honours Retry-After (Options.MaxRetries, Options.Backoff). That is safe for every call the
// API has: a create carries an Idempotency-Key (generated when the caller gives none, and
// the same one on each retry of that create), so a create whose answer was lost is answered
// by a replay instead of a second task; cancel and retry answer asking again with what the
// task's state now warrants; a callback's second succeed or fail with the same body is
// idempotent; reads change nothing.
//
// An error answered by the API is a *Error carrying the problem document's status,
// errorCode, title and detail:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.ErrorCode == client.CodeTaskNotFound { ... }
package client
