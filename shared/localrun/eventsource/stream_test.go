package eventsource_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
)

const streamARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x"

// shard is a stream of one shard holding records; GetRecords hands them out once, in order.
type shard struct {
	mu      sync.Mutex
	records []types.Record
	read    bool
}

func (s *shard) DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &types.StreamDescription{Shards: []types.Shard{{ShardId: aws.String("shard-0")}}}}, nil
}

func (s *shard) GetShardIterator(context.Context, *dynamodbstreams.GetShardIteratorInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String("it")}, nil
}

func (s *shard) GetRecords(context.Context, *dynamodbstreams.GetRecordsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &dynamodbstreams.GetRecordsOutput{NextShardIterator: aws.String("it")}
	if !s.read {
		out.Records, s.read = s.records, true
	}
	return out, nil
}

// records are n MODIFY records of task items; those in marked carry the event mark.
func records(n int, marked ...int) []types.Record {
	var out []types.Record
	for i := range n {
		img := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: fmt.Sprint("T#", i)}}
		for _, m := range marked {
			if m == i {
				img["ev"] = &types.AttributeValueMemberS{Value: "tasklane.task.processing"}
			}
		}
		out = append(out, types.Record{
			EventName: types.OperationTypeModify, EventID: aws.String(strconv.Itoa(i)),
			Dynamodb: &types.StreamRecord{SequenceNumber: aws.String(strconv.Itoa(100 + i)), NewImage: img},
		})
	}
	return out
}

// streamCalls records each invocation's sequence numbers and answers by answer.
type streamCalls struct {
	got    [][]string
	answer func(n int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

func (c *streamCalls) handle(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var seqs []string
	for _, r := range ev.Records {
		seqs = append(seqs, r.Change.SequenceNumber)
	}
	c.got = append(c.got, seqs)
	if c.answer == nil {
		return events.DynamoDBEventResponse{}, nil
	}
	return c.answer(len(c.got), ev)
}

func drainStream(t *testing.T, rs []types.Record, c *streamCalls, o eventsource.StreamOptions) {
	t.Helper()
	o.StreamARN, o.Log = streamARN, quiet()
	s, err := eventsource.NewStream(&shard{records: rs}, c.handle, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestStreamFilterPassesMarkedRecordsOnly(t *testing.T) {
	t.Parallel()
	c := &streamCalls{}
	drainStream(t, records(5, 1, 3), c, eventsource.StreamOptions{Filter: dynamostore.EventFilterPattern})
	if diff := cmp.Diff([][]string{{"101", "103"}}, c.got); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
}

func TestStreamRetriesFromTheFailedRecord(t *testing.T) {
	t.Parallel()
	c := &streamCalls{answer: func(n int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		if n == 1 { // the second record failed
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "101"}}}, nil
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	drainStream(t, records(3), c, eventsource.StreamOptions{})
	if diff := cmp.Diff([][]string{{"100", "101", "102"}, {"101", "102"}}, c.got); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
}

func TestStreamBisectsAndGivesUpAfterMaxRetries(t *testing.T) {
	t.Parallel()
	var dead []string
	c := &streamCalls{answer: func(n int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		if ev.Records[0].Change.SequenceNumber == "100" {
			return events.DynamoDBEventResponse{}, errors.New("crash") // the first record always crashes it
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	drainStream(t, records(4), c, eventsource.StreamOptions{MaxRetries: 1, OnFailure: func(_ context.Context, r events.DynamoDBEventRecord) error {
		dead = append(dead, r.Change.SequenceNumber)
		return nil
	}})
	want := [][]string{
		{"100", "101", "102", "103"}, // fails
		{"100", "101"},               // bisected: the first half fails too
		{"100", "101", "102", "103"}, // the retry: fails again, MaxRetries spent
		{"101", "102", "103"},        // after the record went to the destination
	}
	if diff := cmp.Diff(want, c.got); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"100"}, dead); diff != "" {
		t.Errorf("on-failure destination (-want +got):\n%s", diff)
	}
}

func TestStreamUnknownFailureFailsTheBatch(t *testing.T) {
	t.Parallel()
	c := &streamCalls{answer: func(n int, _ events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		if n == 1 {
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "nope"}}}, nil
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	drainStream(t, records(1), c, eventsource.StreamOptions{})
	if diff := cmp.Diff([][]string{{"100"}, {"100"}}, c.got); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
}
