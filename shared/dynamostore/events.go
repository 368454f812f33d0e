package dynamostore

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/task"
)

// # Lifecycle events from the table's stream
//
// Deployed, lifecycle events come from the table's DynamoDB stream (StreamSpecification,
// NEW_AND_OLD_IMAGES): a change that is stored is in the stream, so a process dying right
// after its write cannot lose its events. Most writes make no event (a subtask finished, an
// attempt started), and a Lambda invocation per such record would cost more than the events
// themselves, so a store built WithEventMarks writes attrEvents on the writes that make
// events: the space-separated types of their events (event.ChangeTypes), e.g.
// "tasklane.task.processing". Every write puts the whole item, so the mark of one change
// never lingers into the next. The publisher's event source mapping filters on the mark's
// existence in the new image (EventFilterPattern), so it is invoked only for changes that
// make events; the publisher itself renders the events from the images (event.Of), the mark
// only selects.

// attrEvents is the event mark of a task item.
const attrEvents = "ev"

// EventFilterPattern is the stream event source mapping's filter (FilterCriteria): records
// whose new image carries the event mark. The template and the local event source mapping
// (shared/localrun/eventsource) use this same pattern; the template's drift test compares.
const EventFilterPattern = `{"dynamodb": {"NewImage": {"` + attrEvents + `": {"S": [{"exists": true}]}}}}`

// StreamViewType is the table stream's view: the publisher needs the old image too, to tell
// what changed (event.Of takes the task before and after).
const StreamViewType = types.StreamViewTypeNewAndOldImages

// streamSpecification is the table's stream (see "Lifecycle events from the table's stream").
func streamSpecification() *types.StreamSpecification {
	return &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: StreamViewType}
}

// WithEventMarks makes the store mark the writes that make lifecycle events (attrEvents), so
// that the stream's publisher is invoked for them. Without it the items are as they were and
// no event is published; the cost model measures both.
func WithEventMarks() Option {
	return func(s *Store) { s.marks = true }
}

// mark adds the event mark of types to item, when the store marks events and there are any.
func (s *Store) mark(item map[string]types.AttributeValue, types []string) {
	if s.marks && len(types) > 0 {
		item[attrEvents] = str(strings.Join(types, " "))
	}
}

// ImageTask decodes a task item's stream image (a record's NewImage or OldImage as Lambda
// delivers it). ok is false for an image that is not a task's (an idempotency record).
func ImageTask(image map[string]events.DynamoDBAttributeValue) (t task.Task, ok bool, err error) {
	item, err := imageItem(image)
	if err != nil {
		return task.Task{}, false, err
	}
	if !strings.HasPrefix(stringAttr(item, attrPK), "T#") {
		return task.Task{}, false, nil
	}
	t, err = itemTask(item)
	return t, err == nil, err
}

// imageItem converts a stream image to the SDK's attribute values. The store writes strings
// and numbers only; any other type is an item the store did not write.
func imageItem(image map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	item := make(map[string]types.AttributeValue, len(image))
	for name, v := range image {
		switch v.DataType() {
		case events.DataTypeString:
			item[name] = str(v.String())
		case events.DataTypeNumber:
			item[name] = &types.AttributeValueMemberN{Value: v.Number()}
		default:
			return nil, fmt.Errorf("dynamostore: image attribute %s has type %v, which the store never writes", name, v.DataType())
		}
	}
	return item, nil
}

// StreamARN is the ARN of table's stream, for the local event source mapping
// (shared/localrun/eventsource) and tests; deployed, the template gives it to the mapping.
func StreamARN(ctx context.Context, api TableAPI, table string) (string, error) {
	out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("dynamostore: describe table %s: %w", table, err)
	}
	if out.Table == nil || aws.ToString(out.Table.LatestStreamArn) == "" {
		return "", fmt.Errorf("dynamostore: table %s has no stream", table)
	}
	return aws.ToString(out.Table.LatestStreamArn), nil
}
