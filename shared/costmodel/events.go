package costmodel

import (
	"fmt"
	"math"
)

// The lifecycle events' part of the bill (the table's stream → the publish function →
// EventBridge; see shared/publisher). Reading the stream is free when Lambda reads it
// ("DynamoDB Streams ... GetRecords API calls invoked by AWS Lambda as part of DynamoDB
// triggers are free", aws.amazon.com/dynamodb/pricing/on-demand/), and the event marks the
// store writes (shared/dynamostore's events.go) are not projected into any index, so what
// events add is the publisher's invocations and EventBridge's PutEvents entries.
const (
	// PricePerEventChunk is EventBridge custom events, $1.00 per million, each started 64 KB
	// chunk of an entry counting as one (aws.amazon.com/eventbridge/pricing/).
	PricePerEventChunk = 1.00 / 1e6
	// EventChunkBytes is the size of one billed chunk of a PutEvents entry.
	EventChunkBytes = 64 * 1024
)

// EventChunks is how many events PutEvents bills for an entry of size bytes (eventbus.Size).
func EventChunks(size int) int {
	return int(math.Max(1, math.Ceil(float64(size)/EventChunkBytes)))
}

// Events is what the lifecycle events of a workload use: the publisher's invocations and the
// sizes of the PutEvents entries it put.
type Events struct {
	Invocations []Invocation
	Entries     []int
}

// Chunks is the billed events of every entry.
func (e Events) Chunks() int {
	n := 0
	for _, s := range e.Entries {
		n += EventChunks(s)
	}
	return n
}

// EventsCost is the events' share of a task's cost, in dollars per task.
type EventsCost struct {
	EventBridge, LambdaCompute, LambdaRequests float64
}

// Total is the events' whole cost.
func (c EventsCost) Total() float64 { return c.EventBridge + c.LambdaCompute + c.LambdaRequests }

// Price is e's cost per task over tasks tasks.
func (e Events) Price(tasks int) EventsCost {
	n := float64(max(tasks, 1))
	lambda := Usage{Invocations: e.Invocations}.Price(tasks)
	return EventsCost{
		EventBridge:    float64(e.Chunks()) * PricePerEventChunk / n,
		LambdaCompute:  lambda.LambdaCompute,
		LambdaRequests: lambda.LambdaRequests,
	}
}

// EventsTable renders the reference task's cost without and with events, per million tasks.
func EventsTable(without Usage, events Events, tasks int) string {
	n := float64(max(tasks, 1))
	base := without.Price(tasks).Total()
	ev := events.Price(tasks)
	m := func(d float64) string { return fmt.Sprintf("$%.2f", d*1e6) }
	return fmt.Sprintf("| | per task | $ per million tasks |\n|---|---|---|\n"+
		"| without events | | %s |\n"+
		"| EventBridge PutEvents | %.1f entries (%.1f 64 KB chunks) | %s |\n"+
		"| publish function | %.1f invocations | %s |\n"+
		"| with events | | %s |\n",
		m(base), float64(len(events.Entries))/n, float64(events.Chunks())/n, m(ev.EventBridge),
		float64(len(events.Invocations))/n, m(ev.LambdaCompute+ev.LambdaRequests), m(base+ev.Total()))
}
