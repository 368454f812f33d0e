package costmodel

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// List prices in us-east-1, in dollars, read on 2026-12-01 from aws.amazon.com/dynamodb/pricing/on-demand/,
// aws.amazon.com/lambda/pricing/ and aws.amazon.com/sqs/pricing/ (the figures issue #9 bills
// with: 116 WRU = $72.50 per million tasks). Free tiers are ignored: the model prices the
// marginal task.
const (
	// PricePerWRU is DynamoDB on-demand, $0.625 per million write request units.
	PricePerWRU = 0.625 / 1e6
	// PricePerRRU is DynamoDB on-demand, $0.125 per million read request units.
	PricePerRRU = 0.125 / 1e6
	// PricePerGBSecond is Lambda on arm64, $0.0000133334 per GB-second.
	PricePerGBSecond = 0.0000133334
	// PricePerInvocation is Lambda, $0.20 per million requests.
	PricePerInvocation = 0.20 / 1e6
	// PricePerSQSRequest is SQS standard queues, $0.40 per million requests.
	PricePerSQSRequest = 0.40 / 1e6
)

// Invocation is one Lambda invocation: the function's logical id, its configured memory and
// the duration billed (rounded up to the millisecond, as Lambda bills).
type Invocation struct {
	Function string
	MemoryMB int
	Duration time.Duration
}

// GBSeconds is the invocation's compute: memory in GB times the duration rounded up to 1 ms.
func (i Invocation) GBSeconds() float64 {
	ms := math.Ceil(float64(i.Duration) / float64(time.Millisecond))
	return float64(i.MemoryMB) / 1024 * ms / 1000
}

// Usage is what a workload used: the recorded calls and the Lambda invocations.
type Usage struct {
	Calls       []Call
	Invocations []Invocation
}

// WRU is the write request units of every DynamoDB call.
func (u Usage) WRU() float64 {
	var t float64
	for _, c := range u.Calls {
		t += c.WRU()
	}
	return t
}

// WRUBy is the write request units by where they are spent: "table" for the base table, and
// each index by name.
func (u Usage) WRUBy() map[string]float64 {
	out := map[string]float64{}
	for _, c := range u.Calls {
		for _, w := range c.Writes {
			out["table"] += w.Cost.Table
			for n, x := range w.Cost.Indexes {
				out[n] += x
			}
		}
	}
	return out
}

// RRU is the read request units of every DynamoDB call.
func (u Usage) RRU() float64 {
	var t float64
	for _, c := range u.Calls {
		t += c.RRU
	}
	return t
}

// SQSRequests is the billed SQS requests.
func (u Usage) SQSRequests() int {
	n := 0
	for _, c := range u.Calls {
		n += c.Requests
	}
	return n
}

// GBSeconds is the Lambda compute of every invocation.
func (u Usage) GBSeconds() float64 {
	var t float64
	for _, i := range u.Invocations {
		t += i.GBSeconds()
	}
	return t
}

// Unbilled is the calls the recorder could not bill, described; a cost test requires none.
func (u Usage) Unbilled() []string {
	var out []string
	for _, c := range u.Calls {
		if c.Unbilled != "" {
			out = append(out, c.Service+" "+c.Op+": "+c.Unbilled)
		}
	}
	return out
}

// Cost is dollars, by component.
type Cost struct {
	DynamoDBWrites, DynamoDBReads, SQS, LambdaCompute, LambdaRequests float64
}

// Total is the sum of the components.
func (c Cost) Total() float64 {
	return c.DynamoDBWrites + c.DynamoDBReads + c.SQS + c.LambdaCompute + c.LambdaRequests
}

// Lambda is compute and requests together.
func (c Cost) Lambda() float64 { return c.LambdaCompute + c.LambdaRequests }

// Price is the list price of u divided by tasks (the workload's tasks; at least 1): dollars
// per task.
func (u Usage) Price(tasks int) Cost {
	n := float64(max(tasks, 1))
	return Cost{
		DynamoDBWrites: u.WRU() * PricePerWRU / n,
		DynamoDBReads:  u.RRU() * PricePerRRU / n,
		SQS:            float64(u.SQSRequests()) * PricePerSQSRequest / n,
		LambdaCompute:  u.GBSeconds() * PricePerGBSecond / n,
		LambdaRequests: float64(len(u.Invocations)) * PricePerInvocation / n,
	}
}

// Peer is another way to run the reference workload, with its price per million tasks.
type Peer struct {
	Name       string
	PerMillion float64
	Derivation string
}

// Peers are the prices per million tasks that issue #9 gives for the reference workload on
// other AWS services (API Gateway excluded, as here); they are carried as the issue states
// them, not measured by this package.
var Peers = []Peer{
	{"Step Functions Standard", 82, "issue #9: $0.025 per 1,000 state transitions for the task's states, plus the Lambda steps and a store the API polls"},
	{"Step Functions Express", 8.55, "issue #9: $1.00 per million workflows + $0.00001667 per GB-s of the run, plus the Lambda steps and a store the API polls"},
	{"Lambda durable functions", 40, "issue #9's estimate (\"about $40\"): durable operations and their data, plus the compute; not derived here"},
}

// Table renders the cost of one task of u per million tasks, by component, then beside the
// peers, as Markdown.
func Table(u Usage, tasks int) string {
	c := u.Price(tasks)
	n := float64(max(tasks, 1))
	m := func(d float64) string { return fmt.Sprintf("$%.2f", d*1e6) }
	var b strings.Builder
	fmt.Fprintf(&b, "| component | per task | $ per million tasks |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| DynamoDB writes | %.1f WRU | %s |\n", u.WRU()/n, m(c.DynamoDBWrites))
	fmt.Fprintf(&b, "| DynamoDB reads | %.1f RRU | %s |\n", u.RRU()/n, m(c.DynamoDBReads))
	fmt.Fprintf(&b, "| SQS | %.1f requests | %s |\n", float64(u.SQSRequests())/n, m(c.SQS))
	fmt.Fprintf(&b, "| Lambda | %.1f invocations, %.4f GB-s | %s |\n", float64(len(u.Invocations))/n, u.GBSeconds()/n, m(c.Lambda()))
	fmt.Fprintf(&b, "| **total** (API Gateway excluded) | | **%s** |\n", m(c.Total()))
	b.WriteString("\n| where the WRU go | WRU per task |\n|---|---|\n")
	by := u.WRUBy()
	names := make([]string, 0, len(by))
	for k := range by {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "table") != (names[j] == "table") {
			return names[i] == "table"
		}
		return names[i] < names[j]
	})
	for _, k := range names {
		fmt.Fprintf(&b, "| %s | %.1f |\n", k, by[k]/n)
	}
	b.WriteString("\n| service | $ per million tasks |\n|---|---|\n")
	fmt.Fprintf(&b, "| **Tasklane** (this run) | **%s** |\n", m(c.Total()))
	for _, p := range Peers {
		fmt.Fprintf(&b, "| %s | $%.2f |\n", p.Name, p.PerMillion)
	}
	return b.String()
}
