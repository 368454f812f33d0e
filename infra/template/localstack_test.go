package template

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/authtest"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
)

var hookScript = filepath.Join(repoRoot, "localstack", "init", "ready.d", "10-tasklane.sh")

// sampleToken is the Authorization of the sample API events: a placeholder for a token of
// the issuer env.json names (localstack/README.md says how to get one).
const sampleToken = "Bearer REPLACE_WITH_A_TOKEN"

// TestLocalStackInitHook runs localstack/init/ready.d/10-tasklane.sh against the test
// emulator, twice (it must be idempotent), then with the opt-in indexes asked for one by one
// (TASKLANE_UPDATED_AT_INDEX, TASKLANE_ADMIN_UPDATED_AT_INDEX) and both for a new table, and
// compares the tables and queues it made with template.yaml's TasksTable (its conditions
// resolved for those parameters: each index added to the existing table, both in the new
// one), WorkQueue and DeadLetterQueue.
//
// The hook needs the AWS CLI, which a fresh machine may lack: `make test` (infra/test.sh)
// installs it if needed and runs go test ./... with AWS_CLI set to it, and
// infra/check-deploy.sh, run alone, runs this test so. Without AWS_CLI the test is skipped
// (it fails under CI).
func TestLocalStackInitHook(t *testing.T) {
	t.Parallel() // the AWS CLI starts slowly; let the other tests run meanwhile
	cli := os.Getenv("AWS_CLI")
	if cli == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("AWS_CLI is not set: make test (infra/test.sh) installs the AWS CLI and sets it")
		}
		t.Skip("AWS_CLI is not set: make test (infra/test.sh) and infra/check-deploy.sh set it")
	}
	if _, err := exec.LookPath(cli); err != nil {
		t.Fatalf("AWS_CLI=%s: %v", cli, err)
	}
	cfg := awstest.Config(t, "DYNAMODB", "SQS")
	src, err := readSources()
	if err != nil {
		t.Fatal(err)
	}
	p, err := src.parse()
	if err != nil {
		t.Fatal(err)
	}
	table, indexedTable, queueName := awstest.Name("tasklane-hook"), awstest.Name("tasklane-hook-u"), awstest.Name("tasklane-hook")
	ctx := context.Background()
	ddb, sq := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	t.Cleanup(func() {
		for _, tb := range []string{table, indexedTable} {
			_, _ = ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(tb)})
		}
		for _, q := range []string{queueName, queueName + "-dlq"} {
			if out, err := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q)}); err == nil {
				_, _ = sq.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
			}
		}
	})

	// run is one run of the hook with the opt-in indexes asked for, checked against the
	// template (if check); it returns what the hook printed.
	type hookRun struct {
		table                string
		tenant, admin, check bool
	}
	run := func(t *testing.T, i int, r hookRun) map[string]string {
		t.Helper()
		cmd := exec.Command("bash", hookScript)
		cmd.Env = append(os.Environ(), "TASKLANE_TABLE="+r.table, "TASKLANE_QUEUE="+queueName, "AWS_CLI="+cli,
			"AWS_REGION="+cfg.Region, "TASKLANE_UPDATED_AT_INDEX="+strconv.FormatBool(r.tenant),
			"TASKLANE_ADMIN_UPDATED_AT_INDEX="+strconv.FormatBool(r.admin))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("run %d of the init hook: %v\n%s", i, err, stderr.String())
		}
		printed := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				printed[k] = v
			}
		}
		if printed[settings.EnvTableName] != r.table {
			t.Fatalf("run %d of the hook printed %v, not table %s", i, printed, r.table)
		}
		if r.check {
			tbl := resolveConditions(mapAt(p.resource("TasksTable"), "Properties"), tableConditions(r.tenant, r.admin)).(map[string]any)
			checkHookTable(t, ddb, r.table, tbl, fmt.Sprintf("run %d (table %s, UpdatedAtIndex %t, AdminUpdatedAtIndex %t)", i, r.table, r.tenant, r.admin))
		}
		return printed
	}

	// A new table made with both indexes, beside the runs on one table (the AWS CLI starts
	// slowly; the queues are the same, and creating them again changes nothing).
	t.Run("new table with both indexes", func(t *testing.T) {
		t.Parallel()
		run(t, 1, hookRun{indexedTable, true, true, true})
	})
	// The default table, twice; then with the tenant's opt-in index, then with both, each
	// added to the existing table as a stack update with the parameter on would.
	t.Run("one table", func(t *testing.T) {
		t.Parallel()
		var printed map[string]string
		for i, r := range []hookRun{{table, false, false, false}, {table, false, false, true}, {table, true, false, true}, {table, true, true, true}} {
			printed = run(t, i+1, r)
		}
		if printed[settings.EnvQueueURL] == "" || printed[settings.EnvDeadLetterURL] == "" {
			t.Fatalf("the hook printed %v", printed)
		}
		// The queues: the attributes the template sets.
		attrs := func(url string) map[string]string {
			out, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
			if err != nil {
				t.Fatal(err)
			}
			return out.Attributes
		}
		work, dlq := attrs(printed[settings.EnvQueueURL]), attrs(printed[settings.EnvDeadLetterURL])
		for _, q := range []struct {
			id    string
			attrs map[string]string
		}{{"WorkQueue", work}, {"DeadLetterQueue", dlq}} {
			props := mapAt(p.resource(q.id), "Properties")
			for _, a := range []string{"VisibilityTimeout", "MessageRetentionPeriod"} {
				if want, ok := intAt(props, a); ok && q.attrs[a] != strconv.Itoa(want) {
					t.Errorf("%s: %s is %s, template %d", q.id, a, q.attrs[a], want)
				}
			}
			if boolAt(props, "SqsManagedSseEnabled") && q.attrs["SqsManagedSseEnabled"] != "true" {
				t.Errorf("%s: SqsManagedSseEnabled is %q, the template enables it", q.id, q.attrs["SqsManagedSseEnabled"])
			}
		}
		var redrive struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(work["RedrivePolicy"]), &redrive); err != nil {
			t.Fatalf("work queue redrive policy %q: %v", work["RedrivePolicy"], err)
		}
		if redrive.DeadLetterTargetArn != dlq["QueueArn"] {
			t.Errorf("the work queue's dead-letter target is %s, not the dead-letter queue %s", redrive.DeadLetterTargetArn, dlq["QueueArn"])
		}
		want, _ := intAt(mapAt(p.resource("WorkQueue"), "Properties"), "RedrivePolicy", "maxReceiveCount")
		if got, _ := intAt(map[string]any{"n": redrive.MaxReceiveCount}, "n"); got != want {
			t.Errorf("maxReceiveCount is %v, template %d", redrive.MaxReceiveCount, want)
		}
		if !strings.HasSuffix(printed[settings.EnvDeadLetterURL], "/"+queueName+"-dlq") {
			t.Errorf("dead-letter queue %s is not named %s-dlq", printed[settings.EnvDeadLetterURL], queueName)
		}
	})
}

// checkHookTable compares the table the init hook made with tbl, the template's TasksTable
// with its conditions resolved.
func checkHookTable(t *testing.T, ddb *dynamodb.Client, table string, tbl map[string]any, when string) {
	t.Helper()
	ctx := context.Background()
	desc, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	d := desc.Table
	if d.BillingModeSummary == nil || string(d.BillingModeSummary.BillingMode) != strAt(tbl, "BillingMode") {
		t.Errorf("%s: billing mode %+v, template %s", when, d.BillingModeSummary, strAt(tbl, "BillingMode"))
	}
	gotAttrs := sdkAttributes(d.AttributeDefinitions)
	wantAttrs := attributes(listAt(tbl, "AttributeDefinitions"))
	if !reflect.DeepEqual(gotAttrs, wantAttrs) {
		t.Errorf("%s: attribute definitions %v, template %v", when, gotAttrs, wantAttrs)
	}
	key := sdkKeySchema(d.KeySchema)
	if want := keySchema(listAt(tbl, "KeySchema")); !slices.Equal(key, want) {
		t.Errorf("%s: key schema %v, template %v", when, key, want)
	}
	gotIdx := map[string]index{}
	for _, g := range d.GlobalSecondaryIndexes {
		gotIdx[aws.ToString(g.IndexName)] = sdkIndex(g.KeySchema, g.Projection)
	}
	wantIdx := indexes(listAt(tbl, "GlobalSecondaryIndexes"))
	if !reflect.DeepEqual(gotIdx, wantIdx) {
		t.Errorf("%s: indexes\n got %v\nwant %v (template)", when, gotIdx, wantIdx)
	}
	if boolAt(tbl, "SSESpecification", "SSEEnabled") && (d.SSEDescription == nil || d.SSEDescription.Status != "ENABLED") {
		t.Errorf("%s: SSE is %+v, the template enables it", when, d.SSEDescription)
	}
	if want := strAt(tbl, "StreamSpecification", "StreamViewType"); want != "" && (d.StreamSpecification == nil || string(d.StreamSpecification.StreamViewType) != want) {
		t.Errorf("%s: stream %+v, the template's is %s", when, d.StreamSpecification, want)
	}
	ttl, err := ddb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(ttl.TimeToLiveDescription.AttributeName); got != strAt(tbl, "TimeToLiveSpecification", "AttributeName") ||
		(ttl.TimeToLiveDescription.TimeToLiveStatus != "ENABLED" && ttl.TimeToLiveDescription.TimeToLiveStatus != "ENABLING") {
		t.Errorf("%s: TTL %s on %q, template: enabled on %s", when, ttl.TimeToLiveDescription.TimeToLiveStatus, got, strAt(tbl, "TimeToLiveSpecification", "AttributeName"))
	}
	backups, err := ddb.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if pitr := backups.ContinuousBackupsDescription.PointInTimeRecoveryDescription; boolAt(tbl, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") &&
		(pitr == nil || pitr.PointInTimeRecoveryStatus != "ENABLED") {
		t.Errorf("%s: point-in-time recovery %+v, the template enables it", when, pitr)
	}
}

// TestLocalStackHookQueueSettings reads the queue settings out of the init hook's text (the
// attributes it passes to create-queue) and compares them with sqsqueue's constants, so that
// the hook stays equal to the code even where TestLocalStackInitHook is skipped (no AWS CLI).
func TestLocalStackHookQueueSettings(t *testing.T) {
	b, err := os.ReadFile(hookScript)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range hookQueueProblems(string(b)) {
		t.Error(msg)
	}
	// The check can fail: each setting changed in the hook is noticed.
	for _, m := range [][2]string{
		{`\"VisibilityTimeout\": \"720\"`, `\"VisibilityTimeout\": \"600\"`},
		{`"VisibilityTimeout": "180"`, `"VisibilityTimeout": "30"`},
		{`"MessageRetentionPeriod": "1209600"`, `"MessageRetentionPeriod": "345600"`},
		{`\"MessageRetentionPeriod\": \"864000\"`, `\"MessageRetentionPeriod\": \"345600\"`},
		{`\\\"maxReceiveCount\\\": 5}`, `\\\"maxReceiveCount\\\": 3}`},
	} {
		mutated := strings.Replace(string(b), m[0], m[1], 1)
		if mutated == string(b) {
			t.Errorf("the hook does not contain %s any more; update the mutation", m[0])
		} else if len(hookQueueProblems(mutated)) == 0 {
			t.Errorf("the hook with %s instead of %s went unnoticed", m[1], m[0])
		}
	}
}

// hookQueueProblems compares the hook's create-queue attributes with sqsqueue's constants.
func hookQueueProblems(hook string) []string {
	var out []string
	find := func(what, pattern string) string {
		m := regexp.MustCompile(pattern).FindStringSubmatch(hook)
		if m == nil {
			out = append(out, fmt.Sprintf("the hook: no %s (pattern %s)", what, pattern))
			return ""
		}
		return m[1]
	}
	dlqAttrs := find("dead-letter queue attributes", `(?m)^\s*--attributes '(\{[^']*"MessageRetentionPeriod"[^']*\})'`)
	workAttrs := find("work queue attributes", `(?m)^\s*--attributes "(\{[^\n]*RedrivePolicy[^\n]*\})"`)
	for _, c := range []struct {
		what, text, attr string
		want             int
	}{
		{"dead-letter queue", dlqAttrs, "VisibilityTimeout", int(sqsqueue.DeadLetterVisibility / time.Second)},
		{"dead-letter queue", dlqAttrs, "MessageRetentionPeriod", int(sqsqueue.DeadLetterRetention / time.Second)},
		{"work queue", workAttrs, "VisibilityTimeout", int(sqsqueue.WorkVisibility / time.Second)},
		{"work queue", workAttrs, "MessageRetentionPeriod", int(sqsqueue.WorkRetention / time.Second)},
	} {
		m := regexp.MustCompile(`\\?"` + c.attr + `\\?": \\?"(\d+)\\?"`).FindStringSubmatch(c.text)
		if m == nil || m[1] != strconv.Itoa(c.want) {
			out = append(out, fmt.Sprintf("the hook's %s: %s is %v, sqsqueue says %d", c.what, c.attr, m, c.want))
		}
	}
	if n := find("maxReceiveCount", `maxReceiveCount[\\"]*: (\d+)`); n != "" && n != strconv.Itoa(sqsqueue.MaxReceiveCount) {
		out = append(out, fmt.Sprintf("the hook's maxReceiveCount is %s, sqsqueue says %d", n, sqsqueue.MaxReceiveCount))
	}
	return out
}

// TestSampleEvents runs localstack/events/*.json through the very handlers the functions run
// (on the embedded store and queue, verifying JWTs as deployed), so that the samples `sam
// local invoke` uses stay valid: with their token placeholder replaced by a real token create
// accepts, get and list answer; unreplaced they are 401; the worker completes the created task
// from the SQS sample, and the dead-letter sample decodes.
func TestSampleEvents(t *testing.T) {
	ctx := context.Background()
	iss := authtest.NewIssuer(t)
	deps := apptest.OpenEmbedded(t, func(c *settings.Settings) {
		c.BackoffBase = time.Millisecond
		c.JWT = settings.JWT{Issuer: iss.URL, Audiences: []string{authtest.Audience}}
	})
	token := "Bearer " + iss.Token(map[string]any{"tenant": "acme", "sub": "user-1"})
	load := func(name string, into any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(repoRoot, "localstack", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	keys := map[string]string{}
	for _, r := range apigw.Routes() {
		keys[r.Key()] = r.Function
	}
	call := func(name string, ev events.APIGatewayV2HTTPRequest, status int) map[string]any {
		t.Helper()
		if got := ev.Headers["authorization"]; got != sampleToken {
			t.Fatalf("%s: authorization %q, want %q (the README tells to replace it)", name, got, sampleToken)
		}
		unauth := ev
		unauth.Headers = maps.Clone(ev.Headers)
		ev.Headers = maps.Clone(ev.Headers)
		ev.Headers["authorization"] = token
		fn, ok := keys[ev.RouteKey]
		if !ok || ev.RequestContext.RouteKey != ev.RouteKey {
			t.Fatalf("%s: route key %q is no route of apigw.Routes()", name, ev.RouteKey)
		}
		if resp, _ := deps.Handler(fn).Handle(ctx, unauth); resp.StatusCode != 401 {
			t.Errorf("%s with its placeholder token: status %d, want 401", name, resp.StatusCode)
		}
		resp, err := deps.Handler(fn).Handle(ctx, ev)
		if err != nil || resp.StatusCode != status {
			t.Fatalf("%s (function %s): status %d, err %v, want %d; body %s", name, fn, resp.StatusCode, err, status, resp.Body)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("%s: body %q: %v", name, resp.Body, err)
		}
		return body
	}

	var create events.APIGatewayV2HTTPRequest
	load("create.json", &create)
	created := call("create.json", create, 202)
	id, _ := created["id"].(string)
	if id == "" {
		t.Fatalf("create.json: no id in %v", created)
	}

	var get events.APIGatewayV2HTTPRequest
	load("get.json", &get)
	call("get.json (sample id)", get, 404) // authenticated and routed, but no such task
	sample := get.PathParameters["id"]
	get.PathParameters["id"] = id
	get.RawPath = strings.ReplaceAll(get.RawPath, sample, id)
	get.RequestContext.HTTP.Path = get.RawPath
	call("get.json (created id)", get, 200)

	var list events.APIGatewayV2HTTPRequest
	load("list.json", &list)
	call("list.json", list, 200)

	var work events.SQSEvent
	load("worker.json", &work)
	if len(work.Records) == 0 {
		t.Fatal("worker.json: no records")
	}
	m, err := queue.Decode(work.Records[0].Body)
	if err != nil {
		t.Fatalf("worker.json: %v", err)
	}
	if m.TaskID != sample {
		t.Errorf("worker.json names task %s, get.json %s; keep them the same so the README's steps line up", m.TaskID, sample)
	}
	work.Records[0].Body = queue.Message{TaskID: id, Run: 0}.Encode()
	resp, err := deps.Worker().Handle(ctx, work)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("worker.json: %+v, %v", resp, err)
	}
	// A finished task answers 303 See Other, pointing at its result.
	if done := call("get.json (after the worker)", get, 303); done["status"] != "success" {
		t.Errorf("after the worker the task is %v, want success", done["status"])
	}

	var dead events.SQSEvent
	load("deadletter.json", &dead)
	if len(dead.Records) == 0 {
		t.Fatal("deadletter.json: no records")
	}
	if _, err := queue.Decode(dead.Records[0].Body); err != nil {
		t.Fatalf("deadletter.json: %v", err)
	}
	if resp, err := deps.Worker().HandleDeadLetter(ctx, dead); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("deadletter.json: %+v, %v", resp, err)
	}
}
