package costmodel

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// SQSChunkBytes is the payload size SQS bills as one request: "each 64 KB chunk of a
// payload is billed as 1 request" (aws.amazon.com/sqs/pricing).
const SQSChunkBytes = 64 * 1024

// Call is one recorded DynamoDB or SQS request and what it is billed.
type Call struct {
	Service string // "DynamoDB" or "SQS"
	Op      string // the X-Amz-Target operation: PutItem, Query, SendMessage, ...
	Table   string
	Index   string // the index a Query or Scan read
	// OK is false for a request the service refused (e.g. a failed condition).
	OK bool
	// Writes are the item writes of a DynamoDB write (several for a transaction).
	Writes []ItemWrite
	// ReadBytes is what a read read: the items' sizes (GetItem, BatchGetItem) or the sum of
	// the page's entries (Query, Scan); RRU its read request units.
	ReadBytes []int
	RRU       float64
	// Requests is the SQS requests billed: one per started 64 KB of payload.
	Requests int
	// Unbilled says why the recorder could not bill the call (an operation or a table it does
	// not know); a cost test should require that no call has it.
	Unbilled string
}

// ItemWrite is one item written, with its sizes before and after (0: absent) and its cost.
type ItemWrite struct {
	OldSize, NewSize int
	Transactional    bool
	Failed           bool
	Cost             WriteCost
}

// WRU is the call's write request units.
func (c Call) WRU() float64 {
	var t float64
	for _, w := range c.Writes {
		t += w.Cost.Total()
	}
	return t
}

// Recorder is an http.RoundTripper for the AWS SDK clients of DynamoDB and SQS that records
// every call with its item sizes and bills it (see the package comment). Install it as the
// clients' HTTP transport:
//
//	rec := costmodel.NewRecorder(cfg, nil, dynamostore.TableInput(table))
//	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: rec} })
//
// To know what a write replaces it reads the item first, and to know what a filtered Query
// read it runs the Query again without the filter, with its own signed requests on the same
// endpoint through the inner transport, unrecorded. It assumes no one else writes the item
// between its read and the write (true of one task's lifecycle, whose writes are serialised
// by their conditions). It is safe for concurrent use.
type Recorder struct {
	inner   http.RoundTripper
	creds   aws.CredentialsProvider
	region  string
	signer  *v4.Signer
	schemas map[string]Schema

	mu    sync.Mutex
	calls []Call
}

// NewRecorder records the calls of clients made from cfg (whose credentials and region sign
// the recorder's own reads) through inner (nil: http.DefaultTransport), billing DynamoDB
// writes by tables' definitions.
func NewRecorder(cfg aws.Config, inner http.RoundTripper, tables ...*dynamodb.CreateTableInput) *Recorder {
	if inner == nil {
		inner = http.DefaultTransport
	}
	r := &Recorder{inner: inner, creds: cfg.Credentials, region: cfg.Region, signer: v4.NewSigner(), schemas: map[string]Schema{}}
	for _, t := range tables {
		s := SchemaOf(t)
		r.schemas[s.Table] = s
	}
	return r
}

// Calls returns the calls recorded so far, in the order they completed.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Reset forgets the calls recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

func (r *Recorder) record(c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	service, op, _ := strings.Cut(target, ".")
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	switch {
	case strings.HasPrefix(service, "DynamoDB_"):
		return r.dynamo(req, op, body)
	case service == "AmazonSQS":
		return r.sqs(req, op, body)
	}
	return r.inner.RoundTrip(req)
}

// forward sends req and returns its answer with the body read (and un-gzipped for parsing).
func (r *Recorder) forward(req *http.Request) (*http.Response, []byte, error) {
	resp, err := r.inner.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	plain := raw
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				plain = b
			}
		}
	}
	return resp, plain, nil
}

// The request and answer shapes the recorder reads.
type (
	writeReq struct {
		TableName string
		Item      Item
		Key       Item
	}
	transactReq struct {
		TransactItems []struct {
			Put, Update, Delete, ConditionCheck *writeReq
		}
	}
	readReq struct {
		TableName      string
		IndexName      string
		ConsistentRead bool
		Key            Item
	}
	batchGetReq struct {
		RequestItems map[string]struct {
			ConsistentRead       bool
			ProjectionExpression string
		}
	}
	itemResp struct {
		Item      Item
		Items     []Item
		Responses map[string][]Item
	}
)

func (r *Recorder) dynamo(req *http.Request, op string, body []byte) (*http.Response, error) {
	ctx := req.Context()
	c := Call{Service: "DynamoDB", Op: op}
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		var in writeReq
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("costmodel: %s request: %w", op, err)
		}
		c.Table = in.TableName
		s, known := r.schemas[in.TableName]
		if !known {
			c.Unbilled = "table " + in.TableName + " has no schema"
			break
		}
		key := in.Key
		if op == "PutItem" {
			key = s.KeyOf(in.Item)
		}
		old, err := r.getItem(ctx, req, in.TableName, key)
		if err != nil {
			return nil, err
		}
		resp, _, err := r.forward(req)
		if err != nil {
			return nil, err
		}
		c.OK = resp.StatusCode == http.StatusOK
		var new Item
		switch {
		case !c.OK:
		case op == "PutItem":
			new = in.Item
		case op == "UpdateItem":
			if new, err = r.getItem(ctx, req, in.TableName, key); err != nil {
				return nil, err
			}
		}
		c.Writes = []ItemWrite{write(s, old, new, false, !c.OK)}
		r.record(c)
		return resp, nil
	case "TransactWriteItems":
		var in transactReq
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("costmodel: %s request: %w", op, err)
		}
		type part struct {
			s         Schema
			key, put  Item
			old       Item
			update    bool
			del, cond bool
		}
		var parts []part
		for _, ti := range in.TransactItems {
			var p part
			var w *writeReq
			switch {
			case ti.Put != nil:
				w = ti.Put
				p.put = w.Item
			case ti.Update != nil:
				w, p.update = ti.Update, true
			case ti.Delete != nil:
				w, p.del = ti.Delete, true
			case ti.ConditionCheck != nil:
				w, p.cond = ti.ConditionCheck, true
			default:
				continue
			}
			s, known := r.schemas[w.TableName]
			if !known {
				c.Unbilled = "table " + w.TableName + " has no schema"
			}
			c.Table = w.TableName
			p.s, p.key = s, w.Key
			if p.put != nil {
				p.key = s.KeyOf(p.put)
			}
			old, err := r.getItem(ctx, req, w.TableName, p.key)
			if err != nil {
				return nil, err
			}
			p.old = old
			parts = append(parts, p)
		}
		resp, _, err := r.forward(req)
		if err != nil {
			return nil, err
		}
		c.OK = resp.StatusCode == http.StatusOK
		for _, p := range parts {
			var new Item
			switch {
			case !c.OK || p.cond:
				// A cancelled transaction or a ConditionCheck changes nothing: the table is
				// charged as for a failed write, twice.
				c.Writes = append(c.Writes, write(p.s, p.old, nil, true, true))
				continue
			case p.put != nil:
				new = p.put
			case p.update:
				if new, err = r.getItem(ctx, req, p.s.Table, p.key); err != nil {
					return nil, err
				}
			}
			c.Writes = append(c.Writes, write(p.s, p.old, new, true, false))
		}
		r.record(c)
		return resp, nil
	case "GetItem", "Query", "Scan":
		var in readReq
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("costmodel: %s request: %w", op, err)
		}
		c.Table, c.Index = in.TableName, in.IndexName
		resp, plain, err := r.forward(req)
		if err != nil {
			return nil, err
		}
		c.OK = resp.StatusCode == http.StatusOK
		if !c.OK {
			r.record(c)
			return resp, nil
		}
		var out itemResp
		if err := json.Unmarshal(plain, &out); err != nil {
			return nil, fmt.Errorf("costmodel: %s answer: %w", op, err)
		}
		if op == "GetItem" {
			c.ReadBytes = []int{out.Item.Size()}
			c.RRU = ReadUnits(out.Item.Size(), in.ConsistentRead)
			r.record(c)
			return resp, nil
		}
		items := out.Items
		if evaluated, ok, err := r.evaluated(ctx, req, op, body); err != nil {
			return nil, err
		} else if ok {
			items = evaluated
		}
		n := 0
		for _, it := range items {
			n += it.Size()
		}
		c.ReadBytes = []int{n}
		c.RRU = ReadUnits(n, in.ConsistentRead)
		r.record(c)
		return resp, nil
	case "BatchGetItem":
		var in batchGetReq
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("costmodel: %s request: %w", op, err)
		}
		resp, plain, err := r.forward(req)
		if err != nil {
			return nil, err
		}
		c.OK = resp.StatusCode == http.StatusOK
		var out itemResp
		if c.OK {
			if err := json.Unmarshal(plain, &out); err != nil {
				return nil, fmt.Errorf("costmodel: %s answer: %w", op, err)
			}
		}
		for table, items := range out.Responses {
			c.Table = table
			ri := in.RequestItems[table]
			for _, it := range items {
				// Each item is billed by itself, rounded up to 4 KB ("BatchGetItem reads each
				// item in the batch as an individual GetItem request", CapacityUnitCalculations),
				// whole whatever the projection returned: a projected answer is read again.
				if ri.ProjectionExpression != "" {
					s, known := r.schemas[table]
					if !known || len(s.KeyOf(it)) != len(s.Key) {
						c.Unbilled = "a BatchGetItem of " + table + " whose projection leaves out the key"
						continue
					}
					whole, err := r.getItem(ctx, req, table, s.KeyOf(it))
					if err != nil {
						return nil, err
					}
					it = whole
				}
				c.ReadBytes = append(c.ReadBytes, it.Size())
				c.RRU += ReadUnits(it.Size(), ri.ConsistentRead)
			}
		}
		r.record(c)
		return resp, nil
	case "CreateTable", "DescribeTable", "DeleteTable", "UpdateTable", "DescribeTimeToLive", "UpdateTimeToLive",
		"ListTables", "DescribeEndpoints":
		// Control plane: not billed per request.
	default:
		c.Unbilled = "operation " + op + " is not modelled"
	}
	resp, _, err := r.forward(req)
	if err != nil {
		return nil, err
	}
	c.OK = resp.StatusCode == http.StatusOK
	r.record(c)
	return resp, nil
}

func write(s Schema, old, new Item, transactional, failed bool) ItemWrite {
	w := ItemWrite{OldSize: old.Size(), NewSize: new.Size(), Transactional: transactional, Failed: failed}
	switch {
	case failed:
		w.Cost = s.FailedWrite(old)
	default:
		w.Cost = s.Write(old, new)
	}
	if transactional {
		w.Cost = w.Cost.scale(2)
	}
	return w
}

// getItem reads an item by its key, consistently, unrecorded; nil when there is none.
func (r *Recorder) getItem(ctx context.Context, orig *http.Request, table string, key Item) (Item, error) {
	body, err := json.Marshal(map[string]any{"TableName": table, "Key": key, "ConsistentRead": true})
	if err != nil {
		return nil, err
	}
	raw, err := r.call(ctx, orig, "GetItem", body)
	if err != nil {
		return nil, err
	}
	var out itemResp
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("costmodel: own GetItem answer: %w", err)
	}
	return out.Item, nil
}

// placeholder finds the #names and :values an expression uses.
var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// evaluated is what a Query or Scan with a FilterExpression or a ProjectionExpression read
// before those were applied (DynamoDB bills the items read, not those returned): the same
// request without them, run unrecorded. false when the request had neither.
func (r *Recorder) evaluated(ctx context.Context, orig *http.Request, op string, body []byte) ([]Item, bool, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, false, err
	}
	if in["FilterExpression"] == nil && in["ProjectionExpression"] == nil && in["Select"] == nil {
		return nil, false, nil
	}
	delete(in, "FilterExpression")
	delete(in, "ProjectionExpression")
	delete(in, "Select")
	delete(in, "ReturnConsumedCapacity")
	// DynamoDB refuses placeholders no expression uses: keep those of the key condition.
	var keyCond string
	_ = json.Unmarshal(in["KeyConditionExpression"], &keyCond)
	used := map[string]bool{}
	for _, p := range placeholder.FindAllString(keyCond, -1) {
		used[p] = true
	}
	for _, field := range []string{"ExpressionAttributeNames", "ExpressionAttributeValues"} {
		if in[field] == nil {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(in[field], &m); err != nil {
			return nil, false, err
		}
		for k := range m {
			if !used[k] {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(in, field)
			continue
		}
		b, _ := json.Marshal(m)
		in[field] = b
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, false, err
	}
	raw, err := r.call(ctx, orig, op, b)
	if err != nil {
		return nil, false, err
	}
	var out itemResp
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, false, fmt.Errorf("costmodel: own %s answer: %w", op, err)
	}
	return out.Items, true, nil
}

// call sends a DynamoDB request of its own, signed like orig's, to orig's endpoint through
// the inner transport, and returns the answer's body.
func (r *Recorder) call(ctx context.Context, orig *http.Request, op string, body []byte) ([]byte, error) {
	u := *orig.URL
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	if r.creds == nil {
		return nil, fmt.Errorf("costmodel: no credentials to sign the recorder's own %s", op)
	}
	creds, err := r.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("costmodel: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := r.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "dynamodb", r.region, time.Now()); err != nil {
		return nil, fmt.Errorf("costmodel: sign: %w", err)
	}
	resp, plain, err := r.forward(req)
	if err != nil {
		return nil, fmt.Errorf("costmodel: own %s: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("costmodel: own %s: %s: %s", op, resp.Status, plain)
	}
	return plain, nil
}

// sqs records an SQS request: one billed request per started 64 KB of its payload (the
// message bodies sent or received; at least one request).
func (r *Recorder) sqs(req *http.Request, op string, body []byte) (*http.Response, error) {
	c := Call{Service: "SQS", Op: op}
	resp, plain, err := r.forward(req)
	if err != nil {
		return nil, err
	}
	c.OK = resp.StatusCode == http.StatusOK
	payload := 0
	switch op {
	case "SendMessage":
		var in struct{ MessageBody string }
		_ = json.Unmarshal(body, &in)
		payload = len(in.MessageBody)
	case "SendMessageBatch":
		var in struct {
			Entries []struct{ MessageBody string }
		}
		_ = json.Unmarshal(body, &in)
		for _, e := range in.Entries {
			payload += len(e.MessageBody)
		}
	case "ReceiveMessage":
		var out struct{ Messages []struct{ Body string } }
		_ = json.Unmarshal(plain, &out)
		for _, m := range out.Messages {
			payload += len(m.Body)
		}
	}
	c.Requests = int(math.Max(1, math.Ceil(float64(payload)/SQSChunkBytes)))
	r.record(c)
	return resp, nil
}
