package template

import (
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/function"
)

// The lifecycle events' part of the drift test: what the publisher may call, and its stream
// event source as shared/publisher and shared/dynamostore expect it.
func init() {
	needs[function.Publish] = [][2]string{{"events:PutEvents", "TasklaneEventBus"}}
	checks = append(checks, check{"events", checkEvents})
}

func checkEvents(p *project) problems {
	var ps problems
	const id = "PublishFunction"
	streams := p.events(id, "DynamoDB")
	if len(streams) != 1 {
		ps.add("%s: want one DynamoDB stream event, have %d", id, len(streams))
		return ps
	}
	for name, ev := range streams {
		if !isGetAtt(at(ev, "Stream"), "TasksTable", "StreamArn") {
			ps.add("%s: event %s must read !GetAtt TasksTable.StreamArn", id, name)
		}
		if got := anyList(at(ev, "FunctionResponseTypes")); len(got) != 1 || got[0] != "ReportBatchItemFailures" {
			ps.add("%s: event %s: FunctionResponseTypes must be [ReportBatchItemFailures] (the publisher names the first record not delivered)", id, name)
		}
		if !boolAt(ev, "BisectBatchOnFunctionError") {
			ps.add("%s: event %s: BisectBatchOnFunctionError must be true", id, name)
		}
		if at(ev, "MaximumRetryAttempts") == nil {
			ps.add("%s: event %s: MaximumRetryAttempts must be set (the default retries a failing record until it expires)", id, name)
		}
		if !isGetAtt(at(ev, "DestinationConfig", "OnFailure", "Destination"), "EventsDeadLetterQueue", "Arn") {
			ps.add("%s: event %s: DestinationConfig.OnFailure must be the events dead-letter queue", id, name)
		}
		filters := listAt(ev, "FilterCriteria", "Filters")
		if len(filters) != 1 || strAt(filters[0], "Pattern") != dynamostore.EventFilterPattern {
			ps.add("%s: event %s: FilterCriteria must be the one filter dynamostore.EventFilterPattern %s, is %v", id, name, dynamostore.EventFilterPattern, filters)
		}
	}
	if got := strAt(p.resource("TasksTable"), "Properties", "StreamSpecification", "StreamViewType"); got != string(dynamostore.StreamViewType) {
		ps.add("TasksTable: StreamViewType is %q, the publisher needs %s", got, dynamostore.StreamViewType)
	}
	alarmed := false
	for _, a := range p.resourcesOfType("AWS::CloudWatch::Alarm") {
		for _, d := range listAt(p.resource(a), "Properties", "Dimensions") {
			if isGetAtt(at(d, "Value"), "EventsDeadLetterQueue", "QueueName") {
				alarmed = true
			}
		}
	}
	if !alarmed {
		ps.add("no alarm on the events dead-letter queue")
	}
	return ps
}
