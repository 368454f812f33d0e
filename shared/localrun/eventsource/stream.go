package eventsource

// The DynamoDB stream event source mapping, beside the SQS one: it reads a table's stream
// (DescribeStream, GetShardIterator, GetRecords, as Lambda's poller does), keeps the records
// the mapping's filter passes (FilterCriteria), and invokes the publisher's handler with the
// events.DynamoDBEvent Lambda would build. Lambda's rules, with FunctionResponseTypes
// [ReportBatchItemFailures], BisectBatchOnFunctionError and MaximumRetryAttempts:
//
//   - the handler succeeds without batch item failures: the batch is done;
//   - it names a record (its sequence number): the records before it are done and the batch
//     is retried from it; a name that is no record of the batch fails the whole batch;
//   - it returns an error (or panics): the whole batch is retried, bisected (its first half
//     is retried alone, then the rest);
//   - a record retried MaxRetries times is handed to OnFailure (the on-failure destination)
//     and the shard moves past it.
//
// Records of one shard are handed over in order, one batch at a time, so a task's changes
// reach the handler in the order they were stored. The position in each shard is kept in
// memory only: a mapping started anew (a process restarted) reads from where Options.From
// says, TRIM_HORIZON by default, so records are delivered again, as Lambda re-delivers after
// failures. That is what the publisher's stable event ids are for.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tasklane/tasklane/shared/queue"
)

// StreamHandler is a Lambda handler for DynamoDB stream events, such as the publisher's.
type StreamHandler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// StreamAPI is the part of *dynamodbstreams.Client the mapping calls.
type StreamAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// StreamOptions configure the stream mapping.
type StreamOptions struct {
	// StreamARN is the table's stream (dynamostore.StreamARN finds it).
	StreamARN string
	// Filter is the mapping's FilterCriteria pattern (dynamostore.EventFilterPattern); empty
	// passes every record.
	Filter string
	// BatchSize is the most records per invocation. Default 100, the template's.
	BatchSize int
	// MaxRetries is MaximumRetryAttempts: 0 is the default, 2; a negative value retries
	// nothing.
	MaxRetries int
	// OnFailure receives a record retried MaxRetries times, as the on-failure destination
	// would; nil: it is logged only.
	OnFailure func(ctx context.Context, r events.DynamoDBEventRecord) error
	// From is where a shard is first read: types.ShardIteratorTypeTrimHorizon (default) or
	// types.ShardIteratorTypeLatest.
	From types.ShardIteratorType
	// Wait is the pause after a read that found nothing new (Lambda polls about four times a
	// second). Default 250 ms.
	Wait time.Duration
	// Timeout is the handler's deadline. Default 30 s, the template's.
	Timeout time.Duration
	// Log receives what Lambda would report. Default slog.Default().
	Log *slog.Logger
}

func (o StreamOptions) withDefaults() (StreamOptions, error) {
	if o.StreamARN == "" {
		return o, errors.New("eventsource: no StreamARN")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = 2
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.From == "" {
		o.From = types.ShardIteratorTypeTrimHorizon
	}
	if o.Wait <= 0 {
		o.Wait = 250 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o, nil
}

// Stream is a running stream mapping; PollStream runs one until its context ends, Drain
// runs one until the stream has nothing new.
type Stream struct {
	api     StreamAPI
	handler StreamHandler
	opts    StreamOptions
	filter  pattern
	// iterators is each open shard's next iterator; done marks closed shards read to the end.
	iterators map[string]string
	done      map[string]bool
}

// NewStream prepares a mapping of api's stream to handler.
func NewStream(api StreamAPI, handler StreamHandler, opts StreamOptions) (*Stream, error) {
	if api == nil || handler == nil {
		return nil, errors.New("eventsource: no stream API or no handler")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Stream{api: api, handler: handler, opts: opts, iterators: map[string]string{}, done: map[string]bool{}}
	if opts.Filter != "" {
		if err := json.Unmarshal([]byte(opts.Filter), &s.filter); err != nil {
			return nil, fmt.Errorf("eventsource: filter %s: %w", opts.Filter, err)
		}
	}
	return s, nil
}

// Poll runs the mapping until ctx is done; failed reads are logged and retried.
func (s *Stream) Poll(ctx context.Context) error {
	for ctx.Err() == nil {
		n, err := s.Round(ctx)
		if err != nil && ctx.Err() == nil {
			s.opts.Log.ErrorContext(ctx, "eventsource: stream read failed; polling again", "err", err)
		}
		if n == 0 || err != nil {
			sleep(ctx, s.opts.Wait)
		}
	}
	return nil
}

// Drain runs rounds until one reads no record, and returns how many records it read.
func (s *Stream) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.Round(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Round reads each shard once and hands what the filter passes to the handler, and returns
// how many records it read.
func (s *Stream) Round(ctx context.Context) (int, error) {
	if err := s.discover(ctx); err != nil {
		return 0, err
	}
	total := 0
	for shard, it := range s.iterators {
		out, err := s.api.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(it), Limit: aws.Int32(int32(s.opts.BatchSize))})
		if err != nil {
			return total, fmt.Errorf("eventsource: GetRecords of %s: %w", shard, err)
		}
		if out.NextShardIterator == nil {
			delete(s.iterators, shard)
			s.done[shard] = true
		} else {
			s.iterators[shard] = *out.NextShardIterator
		}
		total += len(out.Records)
		var batch []events.DynamoDBEventRecord
		for _, r := range out.Records {
			er, err := LambdaRecord(r, s.opts.StreamARN)
			if err != nil {
				return total, err
			}
			if s.filter.matches(er) {
				batch = append(batch, er)
			}
		}
		s.deliver(ctx, batch)
	}
	return total, nil
}

// discover opens an iterator on every shard not yet seen.
func (s *Stream) discover(ctx context.Context) error {
	out, err := s.api.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(s.opts.StreamARN)})
	if err != nil {
		return fmt.Errorf("eventsource: DescribeStream: %w", err)
	}
	if out.StreamDescription == nil {
		return errors.New("eventsource: DescribeStream: no description")
	}
	for _, sh := range out.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		if _, open := s.iterators[id]; open || s.done[id] {
			continue
		}
		it, err := s.api.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(s.opts.StreamARN), ShardId: sh.ShardId, ShardIteratorType: s.opts.From,
		})
		if err != nil {
			return fmt.Errorf("eventsource: GetShardIterator of %s: %w", id, err)
		}
		s.iterators[id] = aws.ToString(it.ShardIterator)
	}
	return nil
}

// deliver hands batch to the handler by Lambda's rules (see the top of this file), in
// batches of BatchSize, until every record is done or given to OnFailure.
func (s *Stream) deliver(ctx context.Context, batch []events.DynamoDBEventRecord) {
	tries := map[string]int{} // failed invocations per record's sequence number
	for len(batch) > 0 && ctx.Err() == nil {
		n := min(len(batch), s.opts.BatchSize)
		done, failedAt, err := s.invoke(ctx, batch[:n])
		if err == nil && failedAt < 0 {
			batch = batch[done:]
			continue
		}
		batch = batch[done:]
		head := batch[0]
		seq := head.Change.SequenceNumber
		tries[seq]++
		if tries[seq] > s.opts.MaxRetries {
			s.opts.Log.ErrorContext(ctx, "eventsource: stream record failed MaximumRetryAttempts times; it goes to the on-failure destination",
				"sequenceNumber", seq, "err", err)
			if s.opts.OnFailure != nil {
				if ferr := s.opts.OnFailure(context.WithoutCancel(ctx), head); ferr != nil {
					s.opts.Log.ErrorContext(ctx, "eventsource: on-failure destination refused the record; it is dropped", "sequenceNumber", seq, "err", ferr)
				}
			}
			batch = batch[1:]
			continue
		}
		if err != nil && n > 1 {
			// BisectBatchOnFunctionError: the first half is retried on its own.
			half := n / 2
			hdone, _, herr := s.invoke(ctx, batch[:half])
			if herr == nil && hdone == half {
				batch = batch[half:]
			}
		}
	}
}

// invoke calls the handler with rs, and returns how many leading records are done, the index
// of the record the handler named as failed (-1: none) and the handler's error, after which
// none is done.
func (s *Stream) invoke(ctx context.Context, rs []events.DynamoDBEventRecord) (done, failedAt int, err error) {
	hctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	hctx = lambdacontext.NewContext(hctx, &lambdacontext.LambdaContext{AwsRequestID: queue.UUID()})
	resp, err := func() (resp events.DynamoDBEventResponse, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("eventsource: handler panicked: %v\n%s", p, debug.Stack())
			}
		}()
		return s.handler(hctx, events.DynamoDBEvent{Records: slices.Clone(rs)})
	}()
	if err != nil {
		s.opts.Log.ErrorContext(ctx, "eventsource: stream handler failed; the batch is retried", "records", len(rs), "err", err)
		return 0, -1, err
	}
	failedAt = -1
	for _, f := range resp.BatchItemFailures {
		i := slices.IndexFunc(rs, func(r events.DynamoDBEventRecord) bool { return r.Change.SequenceNumber == f.ItemIdentifier })
		if i < 0 {
			err := fmt.Errorf("eventsource: batchItemFailures names %q, not a record of the batch: the whole batch fails", f.ItemIdentifier)
			s.opts.Log.ErrorContext(ctx, err.Error())
			return 0, -1, err
		}
		if failedAt < 0 || i < failedAt {
			failedAt = i
		}
	}
	if failedAt < 0 {
		return len(rs), -1, nil
	}
	return failedAt, failedAt, nil
}

// LambdaRecord is r as Lambda's event carries it.
func LambdaRecord(r types.Record, streamARN string) (events.DynamoDBEventRecord, error) {
	out := events.DynamoDBEventRecord{
		AWSRegion: aws.ToString(r.AwsRegion), EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
		EventSource: aws.ToString(r.EventSource), EventVersion: aws.ToString(r.EventVersion), EventSourceArn: streamARN,
	}
	if d := r.Dynamodb; d != nil {
		var err error
		c := events.DynamoDBStreamRecord{SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType)}
		if d.ApproximateCreationDateTime != nil {
			c.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
		if c.Keys, err = lambdaImage(d.Keys); err != nil {
			return out, err
		}
		if c.NewImage, err = lambdaImage(d.NewImage); err != nil {
			return out, err
		}
		if c.OldImage, err = lambdaImage(d.OldImage); err != nil {
			return out, err
		}
		out.Change = c
	}
	return out, nil
}

func lambdaImage(m map[string]types.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		lv, err := lambdaValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = lv
	}
	return out, nil
}

func lambdaValue(v types.AttributeValue) (events.DynamoDBAttributeValue, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value), nil
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value), nil
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute(), nil
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value), nil
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value), nil
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value), nil
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			lv, err := lambdaValue(e)
			if err != nil {
				return events.DynamoDBAttributeValue{}, err
			}
			l[i] = lv
		}
		return events.NewListAttribute(l), nil
	case *types.AttributeValueMemberM:
		m, err := lambdaImage(v.Value)
		if err != nil {
			return events.DynamoDBAttributeValue{}, err
		}
		return events.NewMapAttribute(m), nil
	}
	return events.DynamoDBAttributeValue{}, fmt.Errorf("unknown attribute value %T", v)
}

// pattern is an event filter pattern, in the subset Lambda's FilterCriteria patterns for
// stream records use here: nested objects whose leaves are lists of literal values or of
// {"exists": bool}. A nil pattern matches everything.
type pattern map[string]json.RawMessage

func (p pattern) matches(r events.DynamoDBEventRecord) bool {
	if p == nil {
		return true
	}
	b, err := json.Marshal(r)
	if err != nil {
		return false
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return false
	}
	return matchObject(p, doc)
}

func matchObject(p pattern, doc any) bool {
	m, _ := doc.(map[string]any)
	for key, sub := range p {
		v, present := m[key]
		var obj pattern
		if json.Unmarshal(sub, &obj) == nil {
			if !present || !matchObject(obj, v) {
				return false
			}
			continue
		}
		var leaves []any
		if err := json.Unmarshal(sub, &leaves); err != nil {
			return false
		}
		if !matchLeaves(leaves, v, present) {
			return false
		}
	}
	return true
}

func matchLeaves(leaves []any, v any, present bool) bool {
	for _, l := range leaves {
		if cond, ok := l.(map[string]any); ok {
			if exists, ok := cond["exists"].(bool); ok && exists == present {
				return true
			}
			continue
		}
		if present && fmt.Sprint(l) == fmt.Sprint(v) {
			return true
		}
	}
	return false
}
