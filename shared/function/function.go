// Package function names Tasklane's Lambda functions: one per API operation and two
// background ones. A name is the directory of its command under functions/, and, capitalised
// with "Function" appended, its logical id in template.yaml (deadletter → DeadLetterFunction);
// the template drift test (infra/template) holds the three to each other.
package function

// The API functions, each serving the routes apigw's route table gives it.
const (
	Create = "create"
	Get    = "get"
	List   = "list"
	Retry  = "retry"
	Cancel = "cancel"
	// Callback serves the callbacks of callback steps (POST /v1/callbacks/{token}): the one
	// API function that takes no token, only the callback's own.
	Callback = "callback"
)

// The background functions.
const (
	// Worker consumes the work queue and advances tasks.
	Worker = "worker"
	// DeadLetter consumes the dead-letter queue and fails the tasks whose messages landed there.
	DeadLetter = "deadletter"
	// Webhook consumes the webhook queue and POSTs the signed webhooks.
	Webhook = "webhook"
	// Intake consumes the intake queue and creates tasks from its messages.
	Intake = "intake"
)

// The lifecycle events' function.
const (
	// Publish consumes the table's stream and publishes the changes' events to EventBridge.
	Publish = "publish"
)

// All is every function, in the order of the tables above.
var All = []string{Create, Get, List, Retry, Cancel, Worker, DeadLetter, Webhook, Intake, Publish, Callback}
