// Package costmodel measures what a Tasklane task costs on AWS: it records every DynamoDB and
// SQS call a workload makes, with the sizes of the items it writes and reads, and bills them
// by AWS's documented rules at us-east-1 list prices, with the Lambda compute beside them.
// The reference workload (create a task of 3 subtasks of 100 ms, poll it while it runs and
// after it succeeded, list one page) runs in this package's tests through the real API
// handler and worker on the emulators; its test holds the counts, so that a change that makes
// a task dearer fails CI, and its benchmark (`make bench`) prints the table.
//
// What is billed, and how:
//   - DynamoDB writes (Schema.Write): ceil(max(old, new item size) / 1 KB) WRU on the table,
//     plus, per global secondary index, nothing when the entry does not change, a put of the
//     new entry when only projected attributes change or the entry appears (sparse index), a
//     delete when it disappears, and a delete plus a put when the index key changes; an entry
//     is its projected attributes with the table and index keys, plus 100 bytes. A
//     transaction costs twice; a write whose condition fails costs the stored item's size on
//     the table only. The indexes are read from dynamostore.TableInput, never copied.
//   - DynamoDB reads (ReadUnits): by 4 KB, per item for GetItem and BatchGetItem (the whole
//     item, whatever a ProjectionExpression returned), per page of
//     summed entry sizes for Query (the entries read before a filter, which the recorder
//     measures by running the Query again without it), halved when eventually consistent.
//   - Item sizes (Item.Size) by "DynamoDB item sizes and formats".
//   - SQS: one request per started 64 KB of payload.
//   - Lambda: GB-seconds from each function's MemorySize in template.yaml times the
//     invocation's duration, plus the per-invocation charge.
//
// The emulator's ConsumedCapacity is nominal (moto reports one unit whatever the item and
// the indexes) and is never used. The Recorder is an http.RoundTripper under the SDK
// clients, so it sees the calls exactly as they go on the wire, whatever the store does.
package costmodel
