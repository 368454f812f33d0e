package template

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/demo"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/function"
	"github.com/tasklane/tasklane/shared/metric"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/worker"
)

// problems collects what a check finds wrong.
type problems []string

func (ps *problems) add(format string, args ...any) { *ps = append(*ps, fmt.Sprintf(format, args...)) }

// check is one comparison of the deployment files with the code.
type check struct {
	name string
	run  func(p *project) problems
}

var checks = []check{
	{"functions", checkFunctions},
	{"routes", checkRoutes},
	{"table", checkTable},
	{"environment", checkEnvironment},
	{"permissions", checkPermissions},
	{"queues", checkQueues},
	{"api", checkAPI},
	{"operations", checkOperations},
	{"localstack", checkLocalStack},
	{"wait", checkWait},
	{"dashboard", checkDashboard},
}

// TestTemplate compares template.yaml, the Makefile and localstack/env.json with the code.
func TestTemplate(t *testing.T) {
	src, err := readSources()
	if err != nil {
		t.Fatal(err)
	}
	p, err := src.parse()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, msg := range c.run(p) {
				t.Error(msg)
			}
		})
	}
}

// TestChecksCatchDrift makes sure that the checks can fail: each case changes one thing in a
// copy of the real files, as a careless edit would, and expects its check to object.
func TestChecksCatchDrift(t *testing.T) {
	type mutation struct {
		file     string // "template", "makefile", "env"
		old, new string
	}
	cases := []struct {
		name  string
		check string
		edits []mutation
	}{
		{"route path renamed", "routes", []mutation{{"template", "Path: /v1/tasks/{id}/cancel", "Path: /v1/tasks/{id}/abort"}}},
		{"route method changed", "routes", []mutation{{"template", "Method: PATCH", "Method: PUT"}}},
		{"REST API event instead of HttpApi", "routes", []mutation{{"template", "        GetTaskResult:\n          Type: HttpApi", "        GetTaskResult:\n          Type: Api"}}},
		{"catch-all route missing", "routes", []mutation{{"template", "Path: /{proxy+}", "Path: /v1/{proxy+}"}}},
		{"runtime changed", "functions", []mutation{{"template", "Runtime: provided.al2023", "Runtime: provided.al2"}}},
		{"x86 instead of arm64", "functions", []mutation{{"template", "Architectures: [arm64]", "Architectures: [x86_64]"}}},
		{"build target builds another command", "functions", []mutation{{"makefile", "$(LAMBDA_BUILD) ./functions/deadletter", "$(LAMBDA_BUILD) ./functions/worker"}}},
		{"build without lambda.norpc", "functions", []mutation{{"makefile", "-tags lambda.norpc ", ""}}},
		{"function directory without a function", "functions", []mutation{{"template", "  DeadLetterFunction:\n", "  DeadLettersFunction:\n"}}},
		{"index projection differs", "table", []mutation{{"template", "ProjectionType: KEYS_ONLY", "ProjectionType: ALL"}}},
		{"index renamed", "table", []mutation{{"template", "IndexName: byType", "IndexName: byOwnerType"}}},
		{"opt-in index keyed on c", "table", []mutation{{"template", "- {AttributeName: u, KeyType: RANGE}", "- {AttributeName: c, KeyType: RANGE}"}}},
		{"opt-in index always on", "table", []mutation{{"template", `HasUpdatedAtIndex: !Equals [!Ref UpdatedAtIndex, "true"]`, `HasUpdatedAtIndex: !Equals [!Ref UpdatedAtIndex, "false"]`}}},
		{"opt-in index's attribute unconditional", "table", []mutation{{"template", "- !If [HasUpdatedAtKey, {AttributeName: u, AttributeType: S}, !Ref AWS::NoValue]", "- {AttributeName: u, AttributeType: S}"}}},
		{"opt-in index's attribute for one index only", "table", []mutation{{"template", "- !If [HasUpdatedAtKey, {AttributeName: u, AttributeType: S}, !Ref AWS::NoValue]", "- !If [HasUpdatedAtIndex, {AttributeName: u, AttributeType: S}, !Ref AWS::NoValue]"}}},
		{"admin opt-in index keyed on the owner", "table", []mutation{{"template", "          - IndexName: allUpdated\n            KeySchema:\n              - {AttributeName: pk, KeyType: HASH}", "          - IndexName: allUpdated\n            KeySchema:\n              - {AttributeName: o, KeyType: HASH}"}}},
		{"admin opt-in index always on", "table", []mutation{{"template", `HasAdminUpdatedAtIndex: !Equals [!Ref AdminUpdatedAtIndex, "true"]`, `HasAdminUpdatedAtIndex: !Equals [!Ref AdminUpdatedAtIndex, "false"]`}}},
		{"attribute projected", "table", []mutation{{"template", "            ProjectionType: KEYS_ONLY\n        - IndexName: byType", "            ProjectionType: INCLUDE\n            NonKeyAttributes: [st]\n        - IndexName: byType"}}},
		{"index key swapped", "table", []mutation{{"template", "- {AttributeName: ot, KeyType: HASH}\n            - {AttributeName: c, KeyType: RANGE}", "- {AttributeName: ot, KeyType: HASH}\n            - {AttributeName: sk, KeyType: RANGE}"}}},
		{"table without its sort key", "table", []mutation{{"template", "        - {AttributeName: pk, KeyType: HASH}\n        - {AttributeName: sk, KeyType: RANGE}\n", "        - {AttributeName: pk, KeyType: HASH}\n"}}},
		{"TTL attribute renamed", "table", []mutation{{"template", "AttributeName: expiresAt\n        Enabled: true", "AttributeName: ttl\n        Enabled: true"}}},
		{"no point-in-time recovery", "table", []mutation{{"template", "PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false"}}},
		{"unknown variable", "environment", []mutation{{"template", "TENANT_CLAIM: !Ref TenantClaim", "TENANT_CLAM: !Ref TenantClaim"}}},
		{"sender without QUEUE_URL", "environment", []mutation{{"template", "          QUEUE_URL: !Ref WorkQueue\n          TENANT_CLAIM", "          QUEUE_URI: !Ref WorkQueue\n          TENANT_CLAIM"}}},
		{"marker secret missing", "environment", []mutation{{"template", "          MARKER_SECRET: !Ref MarkerSecret\n", ""}}},
		{"marker secret given to every function", "environment", []mutation{{"template", "        TABLE_NAME: !Ref TasksTable\n", "        TABLE_NAME: !Ref TasksTable\n        MARKER_SECRET: !Ref MarkerSecret\n"}}},
		{"read-only function may send", "permissions", []mutation{{"template", "Action: [dynamodb:GetItem]\n", "Action: [dynamodb:GetItem, sqs:SendMessage]\n"}}},
		{"list may write", "permissions", []mutation{{"template", "Action: [dynamodb:Query]\n", "Action: [dynamodb:Query, dynamodb:PutItem]\n"}}},
		{"worker cannot back off", "permissions", []mutation{{"template", "Action: [sqs:SendMessage, sqs:ChangeMessageVisibility]", "Action: [sqs:GetQueueUrl]"}}},
		{"scan granted to a reader", "permissions", []mutation{{"template", "Action: [dynamodb:GetItem]\n", "Action: [dynamodb:GetItem, dynamodb:Scan]\n"}}},
		{"maxReceiveCount below 5", "queues", []mutation{{"template", "maxReceiveCount: 5", "maxReceiveCount: 3"}}},
		{"visibility below 6x the worker timeout", "queues", []mutation{{"template", "VisibilityTimeout: 720", "VisibilityTimeout: 600"}}},
		{"work queue visibility differs from sqsqueue's", "queues", []mutation{{"template", "VisibilityTimeout: 720", "VisibilityTimeout: 900"}}},
		{"dead-letter visibility differs from sqsqueue's", "queues", []mutation{{"template", "VisibilityTimeout: 180", "VisibilityTimeout: 240"}}},
		{"dead-letter retention shortened", "queues", []mutation{{"template", "MessageRetentionPeriod: 1209600", "MessageRetentionPeriod: 1209000"}}},
		{"worker timeout raised alone", "queues", []mutation{{"template", "      Timeout: 120\n", "      Timeout: 180\n"}}},
		{"no partial batch failures", "queues", []mutation{{"template", "FunctionResponseTypes: [ReportBatchItemFailures]\n            ScalingConfig:\n              MaximumConcurrency: !Ref", "FunctionResponseTypes: []\n            ScalingConfig:\n              MaximumConcurrency: !Ref"}}},
		{"no SSE on the work queue", "queues", []mutation{{"template", "(sqsqueue.WorkRetention)\n      SqsManagedSseEnabled: true", "(sqsqueue.WorkRetention)\n      SqsManagedSseEnabled: false"}}},
		{"work queue retention differs from sqsqueue's", "queues", []mutation{{"template", "MessageRetentionPeriod: 864000", "MessageRetentionPeriod: 345600"}}},
		{"authorizer back on the API", "api", []mutation{{"template", "      FailOnWarnings: true\n", "      FailOnWarnings: true\n      Auth:\n        DefaultAuthorizer: JwtAuthorizer\n"}}},
		{"JwksUrl without a default", "api", []mutation{{"template", "  JwksUrl:\n    Type: String\n    Default: \"\"\n", "  JwksUrl:\n    Type: String\n"}}},
		{"API function without JWT_ISSUER", "environment", []mutation{{"template", "          JWT_ISSUER: !Ref JwtIssuer\n", ""}}},
		{"audience list not joined", "environment", []mutation{{"template", "JWT_AUDIENCE: !Join [\",\", !Ref JwtAudience]", "JWT_AUDIENCE: !Ref JwtAudience"}}},
		{"worker with JWT_ISSUER", "environment", []mutation{{"template", "          QUEUE_URL: !Ref WorkQueue\n      Policies:\n        - Statement:\n            - Sid: TaskWrites\n              Effect: Allow\n              Action: [dynamodb:GetItem, dynamodb:PutItem]\n              Resource: !GetAtt TasksTable.Arn\n            # The event", "          QUEUE_URL: !Ref WorkQueue\n          JWT_ISSUER: !Ref JwtIssuer\n      Policies:\n        - Statement:\n            - Sid: TaskWrites\n              Effect: Allow\n              Action: [dynamodb:GetItem, dynamodb:PutItem]\n              Resource: !GetAtt TasksTable.Arn\n            # The event"}}},
		{"no dead-letter alarm", "api", []mutation{{"template", "MetricName: ApproximateNumberOfMessagesVisible", "MetricName: NumberOfMessagesSent"}}},
		{"function log group without retention", "operations", []mutation{{"template", "  DeadLetterLogGroup:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      RetentionInDays: !Ref LogRetentionDays\n", "  DeadLetterLogGroup:\n    Type: AWS::Logs::LogGroup\n    Properties: {}\n"}}},
		{"API timeout beyond the worker's grace for its write", "queues", []mutation{{"template", "    Timeout: 10\n", "    Timeout: 30\n"}}},
		{"function logs to Lambda's own group", "operations", []mutation{{"template", "      LoggingConfig:\n        LogGroup: !Ref GetLogGroup\n", ""}}},
		{"worker without reserved concurrency", "operations", []mutation{{"template", "      ReservedConcurrentExecutions: !Ref WorkerMaxConcurrency\n", ""}}},
		{"worker reserved below the mapping's concurrency", "operations", []mutation{{"template", "ReservedConcurrentExecutions: !Ref WorkerMaxConcurrency", "ReservedConcurrentExecutions: 1"}}},
		{"no throttle on the default stage", "operations", []mutation{{"template", "        ThrottlingRateLimit: !Ref ApiThrottleRateLimit\n", ""}}},
		{"no worker errors alarm", "operations", []mutation{{"template", "      MetricName: Errors\n", "      MetricName: Invocations\n"}}},
		{"no work queue age alarm", "operations", []mutation{{"template", "MetricName: ApproximateAgeOfOldestMessage", "MetricName: NumberOfMessagesSent"}}},
		{"env.json variable the template does not declare", "localstack", []mutation{{"env", `"LOG_LEVEL": "DEBUG"`, `"LOG_LEVEL": "DEBUG", "AWS_ENDPOINT_URL_SQS": "http://localstack:4566"`}}},
		{"env.json without an issuer", "localstack", []mutation{{"env", `"JWT_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_REPLACEME"`, `"JWT_ISSUER": ""`}}},
		{"env.json table name differs", "localstack", []mutation{{"env", `"TABLE_NAME": "tasklane-local"`, `"TABLE_NAME": "tasks"`}}},
		{"dashboard misses a metric", "dashboard", []mutation{{"template", `MetricName=\"TasksCreated\"`, `MetricName=\"Created\"`}}},
		{"get cannot finish a wait", "wait", []mutation{{"template", "      Timeout: 25\n", "      Timeout: 20\n"}}},
	}
	orig, err := readSources()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]check{}
	for _, c := range checks {
		byName[c.name] = c
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := orig
			for _, e := range tc.edits {
				f := map[string]*string{"template": &src.template, "makefile": &src.makefile, "env": &src.envJSON}[e.file]
				if !strings.Contains(*f, e.old) {
					t.Fatalf("the mutation's text %q is not in %s any more; update the case", e.old, e.file)
				}
				*f = strings.Replace(*f, e.old, e.new, 1)
			}
			p, err := src.parse()
			if err != nil {
				t.Fatal(err)
			}
			c, ok := byName[tc.check]
			if !ok {
				t.Fatalf("no check %q", tc.check)
			}
			got := c.run(p)
			if len(got) == 0 {
				t.Fatalf("check %q did not notice the change", tc.check)
			}
			t.Logf("check %q: %s", tc.check, strings.Join(got, "; "))
		})
	}
}

// ---- functions and their builds

// makeTargets parses the Makefile's build-<LogicalId> targets into their recipes.
func makeTargets(makefile string) map[string]string {
	out := map[string]string{}
	target := ""
	for _, line := range strings.Split(makefile, "\n") {
		if m := regexp.MustCompile(`^build-([A-Za-z0-9]+):`).FindStringSubmatch(line); m != nil {
			target = m[1]
			out[target] = ""
			continue
		}
		if target != "" && strings.HasPrefix(line, "\t") {
			out[target] += strings.TrimSpace(line) + "\n"
			continue
		}
		target = ""
	}
	return out
}

// expandMakeVars replaces $(NAME) in text with the Makefile's `NAME = value` definitions,
// repeatedly (a definition may use others), leaving undefined names as they are.
func expandMakeVars(makefile, text string) string {
	defs := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z_]+)\s*[:?]?=\s*(.*)$`).FindAllStringSubmatch(makefile, -1) {
		defs[m[1]] = m[2]
	}
	ref := regexp.MustCompile(`\$\(([A-Z_]+)\)`)
	for range 5 {
		text = ref.ReplaceAllStringFunc(text, func(r string) string {
			if v, ok := defs[ref.FindStringSubmatch(r)[1]]; ok {
				return v
			}
			return r
		})
	}
	return text
}

func checkFunctions(p *project) problems {
	var ps problems
	ids := p.functionIDs()
	byName := map[string]string{}
	for _, id := range ids {
		if !strings.HasSuffix(id, "Function") {
			ps.add("function %s: logical ids end in Function (CreateFunction builds functions/create)", id)
		}
		byName[functionName(id)] = id
	}
	for _, dir := range p.functionDirs {
		if byName[dir] == "" {
			ps.add("functions/%s has no function in template.yaml (expected a logical id like %sFunction)", dir, strings.ToUpper(dir[:1])+dir[1:])
		}
	}
	for name, id := range byName {
		if !slices.Contains(p.functionDirs, name) {
			ps.add("function %s: there is no functions/%s to build it from", id, name)
		}
	}

	// Properties every function has, with Globals applied.
	want := map[string]any{
		"Runtime": "provided.al2023", "Handler": "bootstrap", "Tracing": "Active", "CodeUri": ".",
	}
	for _, id := range ids {
		for prop, w := range want {
			if got := p.functionProp(id, prop); got != w {
				ps.add("function %s: %s is %v, want %v", id, prop, got, w)
			}
		}
		if got := p.functionProp(id, "Architectures"); !reflect.DeepEqual(got, []any{"arm64"}) {
			ps.add("function %s: Architectures is %v, want [arm64]", id, got)
		}
		if got := strAt(p.functionProp(id, "LoggingConfig"), "LogFormat"); got != "JSON" {
			ps.add("function %s: LoggingConfig.LogFormat is %q, want JSON", id, got)
		}
		if got := strAt(p.resource(id), "Metadata", "BuildMethod"); got != "makefile" {
			ps.add("function %s: Metadata.BuildMethod is %q, want makefile", id, got)
		}
	}

	// The Makefile: one build-<LogicalId> target per function, building its command with the
	// Lambda flags into $(ARTIFACTS_DIR)/bootstrap.
	targets := makeTargets(p.makefile)
	if !regexp.MustCompile(`(?m)^LAMBDA_BUILD\s*=`).MatchString(p.makefile) {
		ps.add("Makefile: no LAMBDA_BUILD definition")
	}
	for _, id := range ids {
		recipe, ok := targets[id]
		if !ok {
			ps.add("Makefile: no build-%s target (sam build runs it for BuildMethod makefile)", id)
			continue
		}
		if !strings.HasSuffix(strings.TrimSpace(recipe), "./functions/"+functionName(id)) {
			ps.add("Makefile: build-%s does not build ./functions/%s: %q", id, functionName(id), recipe)
		}
		cmd := expandMakeVars(p.makefile, recipe)
		for _, f := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", " build ", "-trimpath", "-tags lambda.norpc", `-ldflags "-s -w"`, `-o "$(ARTIFACTS_DIR)/bootstrap"`} {
			if !strings.Contains(cmd, f) {
				ps.add("Makefile: build-%s lacks %s", id, strings.TrimSpace(f))
			}
		}
	}
	for target := range targets {
		if strings.HasSuffix(target, "Function") && !slices.Contains(ids, target) {
			ps.add("Makefile: build-%s builds a function template.yaml does not have", target)
		}
	}
	return ps
}

// ---- routes

type route struct{ method, path, function string }

func (r route) String() string { return r.method + " " + r.path + " → " + r.function }

func checkRoutes(p *project) problems {
	var ps problems
	want := map[route]bool{}
	for _, r := range apigw.Routes() {
		want[route{r.Method, r.Path, r.Function}] = true
	}
	got := map[route]bool{}
	apiFunctions := map[string]bool{}
	for _, id := range p.functionIDs() {
		for name, ev := range mapAt(p.resource(id), "Properties", "Events") {
			typ := strAt(ev, "Type")
			if typ == "Api" {
				ps.add("function %s: event %s is a REST API event; the API is the HTTP API (Type: HttpApi)", id, name)
				continue
			}
			if typ != "HttpApi" {
				continue
			}
			props := mapAt(ev, "Properties")
			r := route{strings.ToUpper(strAt(props, "Method")), strAt(props, "Path"), functionName(id)}
			if got[r] {
				ps.add("route %s is declared twice", r)
			}
			got[r] = true
			apiFunctions[r.function] = true
			if !isRef(props["ApiId"], "HttpApi") {
				ps.add("function %s: event %s is not on the HttpApi (ApiId: !Ref HttpApi)", id, name)
			}
			if v := strAt(props, "PayloadFormatVersion"); v != "" && v != "2.0" {
				ps.add("function %s: event %s has payload format %s; the handlers read version 2.0", id, name, v)
			}
			if props["Auth"] != nil {
				ps.add("function %s: event %s sets Auth; routes have no authorizer, the functions verify tokens (shared/auth)", id, name)
			}
		}
	}
	for _, r := range sortedRoutes(want) {
		if !got[r] {
			ps.add("route %s of apigw.Routes() is not in template.yaml", r)
		}
	}
	for _, r := range sortedRoutes(got) {
		if !want[r] {
			ps.add("route %s of template.yaml is not in apigw.Routes()", r)
		}
	}
	for _, f := range apigw.Functions() {
		if !apiFunctions[f] {
			ps.add("API function %s has no route in template.yaml", f)
		}
	}
	for _, typ := range []string{"AWS::ApiGatewayV2::Route", "AWS::Serverless::Api", "AWS::ApiGateway::RestApi"} {
		if ids := p.resourcesOfType(typ); len(ids) > 0 {
			ps.add("template.yaml declares %s %v: routes come only from the functions' HttpApi events", typ, ids)
		}
	}
	for _, k := range []string{"DefinitionBody", "DefinitionUri"} {
		if mapAt(p.resource("HttpApi"), "Properties")[k] != nil {
			ps.add("HttpApi has a %s, which could add routes the drift test does not see", k)
		}
	}
	return ps
}

func sortedRoutes(m map[route]bool) []route {
	out := make([]route, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// ---- the table

// checkTable compares TasksTable with the store's definition, for each value of the
// UpdatedAtIndex and AdminUpdatedAtIndex parameters: the template's table with their
// conditions resolved is TableInput's with dynamostore.UpdatedAtIndex and
// AdminUpdatedAtIndex for those that are on.
func checkTable(p *project) problems {
	var ps problems
	table := p.resource("TasksTable")
	if strAt(table, "Type") != "AWS::DynamoDB::Table" {
		ps.add("TasksTable is not an AWS::DynamoDB::Table")
		return ps
	}
	for cond, param := range map[string]string{updatedAtCondition: "UpdatedAtIndex", adminUpdatedAtCondition: "AdminUpdatedAtIndex"} {
		if c := at(p.tpl, "Conditions", cond); !reflect.DeepEqual(c, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": param}, "true"}}) {
			ps.add("condition %s must be !Equals [!Ref %s, \"true\"], it is %v", cond, param, c)
		}
		if d := strAt(p.tpl, "Parameters", param, "Default"); d != "false" {
			ps.add("parameter %s must default to \"false\" (issue #9's price), it is %q", param, d)
		}
	}
	wantKey := map[string]any{"Fn::Or": []any{map[string]any{"Condition": updatedAtCondition}, map[string]any{"Condition": adminUpdatedAtCondition}}}
	if c := at(p.tpl, "Conditions", updatedAtKeyCondition); !reflect.DeepEqual(c, wantKey) {
		ps.add("condition %s must be !Or of %s and %s, it is %v", updatedAtKeyCondition, updatedAtCondition, adminUpdatedAtCondition, c)
	}
	for _, tenant := range []bool{false, true} {
		for _, admin := range []bool{false, true} {
			in := dynamostore.TableInput("x", dynamostore.OptIns{UpdatedAt: tenant, AdminUpdatedAt: admin}.TableOptions()...)
			props := resolveConditions(mapAt(table, "Properties"), tableConditions(tenant, admin)).(map[string]any)
			for _, pr := range checkTableProps(in, props) {
				ps.add("with UpdatedAtIndex %v, AdminUpdatedAtIndex %v: %s", tenant, admin, pr)
			}
		}
	}
	if strAt(table, "DeletionPolicy") != "Retain" {
		ps.add("TasksTable: DeletionPolicy should be Retain (the tasks outlive a deleted stack)")
	}
	return ps
}

// The template's conditions of the opt-in indexes byUpdated and allUpdated, and of their
// range key's attribute definition (either index).
const (
	updatedAtCondition      = "HasUpdatedAtIndex"
	adminUpdatedAtCondition = "HasAdminUpdatedAtIndex"
	updatedAtKeyCondition   = "HasUpdatedAtKey"
)

// tableConditions are the table's conditions for the parameters UpdatedAtIndex (tenant) and
// AdminUpdatedAtIndex (admin).
func tableConditions(tenant, admin bool) map[string]bool {
	return map[string]bool{updatedAtCondition: tenant, adminUpdatedAtCondition: admin, updatedAtKeyCondition: tenant || admin}
}

// resolveConditions is v with every !If of a condition in conds replaced by its branch, and
// !Ref AWS::NoValue dropped from the lists and maps that hold it, as CloudFormation does.
func resolveConditions(v any, conds map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		if arg, ok := x["Fn::If"].([]any); ok && len(x) == 1 && len(arg) == 3 {
			if name, ok := arg[0].(string); ok {
				if on, ok := conds[name]; ok {
					if on {
						return resolveConditions(arg[1], conds)
					}
					return resolveConditions(arg[2], conds)
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			if r := resolveConditions(e, conds); !isNoValue(r) {
				out[k] = r
			}
		}
		return out
	case []any:
		out := []any{}
		for _, e := range x {
			if r := resolveConditions(e, conds); !isNoValue(r) {
				out = append(out, r)
			}
		}
		return out
	}
	return v
}

func isNoValue(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["Ref"] == "AWS::NoValue"
}

// checkTableProps compares a TasksTable's Properties, conditions resolved, with in.
func checkTableProps(in *dynamodb.CreateTableInput, props map[string]any) problems {
	var ps problems
	if got := strAt(props, "BillingMode"); got != string(in.BillingMode) {
		ps.add("TasksTable: BillingMode is %q, the store's is %q", got, in.BillingMode)
	}
	if props["ProvisionedThroughput"] != nil {
		ps.add("TasksTable: ProvisionedThroughput with on-demand billing")
	}
	wantAttrs := sdkAttributes(in.AttributeDefinitions)
	gotAttrs := attributes(listAt(props, "AttributeDefinitions"))
	if !reflect.DeepEqual(gotAttrs, wantAttrs) {
		ps.add("TasksTable: AttributeDefinitions are %v, the store's are %v", gotAttrs, wantAttrs)
	}
	wantKey := sdkKeySchema(in.KeySchema)
	if got := keySchema(listAt(props, "KeySchema")); !slices.Equal(got, wantKey) {
		ps.add("TasksTable: KeySchema is %v, the store's is %v", got, wantKey)
	}

	want := map[string]index{}
	for _, g := range in.GlobalSecondaryIndexes {
		want[aws.ToString(g.IndexName)] = sdkIndex(g.KeySchema, g.Projection)
	}
	got := indexes(listAt(props, "GlobalSecondaryIndexes"))
	for _, name := range sortedKeys(want) {
		g, ok := got[name]
		if !ok {
			ps.add("TasksTable: index %s of the store is missing", name)
			continue
		}
		w := want[name]
		if !slices.Equal(g.keys, w.keys) {
			ps.add("TasksTable: index %s has key %v, the store's is %v", name, g.keys, w.keys)
		}
		if g.projection != w.projection || !slices.Equal(g.nonKey, w.nonKey) {
			ps.add("TasksTable: index %s projects %s %v, the store's projects %s %v", name, g.projection, g.nonKey, w.projection, w.nonKey)
		}
	}
	for _, name := range sortedKeys(got) {
		if _, ok := want[name]; !ok {
			ps.add("TasksTable: index %s is not one of the store's", name)
		}
	}
	if len(in.LocalSecondaryIndexes) != len(listAt(props, "LocalSecondaryIndexes")) {
		ps.add("TasksTable: local secondary indexes differ from the store's")
	}
	if (in.StreamSpecification != nil) != (props["StreamSpecification"] != nil) {
		ps.add("TasksTable: StreamSpecification differs from the store's")
	}
	if got := strAt(props, "TimeToLiveSpecification", "AttributeName"); got != dynamostore.TTLAttribute || !boolAt(props, "TimeToLiveSpecification", "Enabled") {
		ps.add("TasksTable: TTL must be enabled on %s (dynamostore.TTLAttribute), it is on %q enabled=%v", dynamostore.TTLAttribute, got, boolAt(props, "TimeToLiveSpecification", "Enabled"))
	}
	if !boolAt(props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") {
		ps.add("TasksTable: point-in-time recovery is not enabled")
	}
	if !boolAt(props, "SSESpecification", "SSEEnabled") {
		ps.add("TasksTable: SSESpecification.SSEEnabled is not true")
	}
	return ps
}

// A table's definition is compared in one form whether it comes from the template (the
// functions without prefix, over the parsed YAML) or from the SDK (sdk*: dynamostore's
// TableInput, or DescribeTable's answer): attribute definitions as name → type, key schemas
// as "name KEYTYPE" in order, global secondary indexes as index.

// attributes returns a template's AttributeDefinitions as name → type.
func attributes(l []any) map[string]string {
	out := map[string]string{}
	for _, a := range l {
		out[strAt(a, "AttributeName")] = strAt(a, "AttributeType")
	}
	return out
}

// sdkAttributes returns the SDK's attribute definitions as name → type.
func sdkAttributes(l []ddbtypes.AttributeDefinition) map[string]string {
	out := map[string]string{}
	for _, a := range l {
		out[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	return out
}

// keySchema returns a template's KeySchema as "name KEYTYPE" elements.
func keySchema(l []any) []string {
	var out []string
	for _, k := range l {
		out = append(out, strAt(k, "AttributeName")+" "+strAt(k, "KeyType"))
	}
	return out
}

// sdkKeySchema returns the SDK's key schema as "name KEYTYPE" elements.
func sdkKeySchema(l []ddbtypes.KeySchemaElement) []string {
	var out []string
	for _, k := range l {
		out = append(out, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return out
}

// index is a global secondary index: its key schema, projection type and non-key
// attributes (sorted). Empty lists are nil on both sides, so that reflect.DeepEqual compares.
type index struct {
	keys       []string
	projection string
	nonKey     []string
}

func (i index) String() string { return fmt.Sprint(i.keys, i.projection, i.nonKey) }

// indexes returns a template's GlobalSecondaryIndexes by name.
func indexes(l []any) map[string]index {
	out := map[string]index{}
	for _, g := range l {
		var nk []string
		for _, a := range listAt(g, "Projection", "NonKeyAttributes") {
			nk = append(nk, fmt.Sprint(a))
		}
		sort.Strings(nk)
		out[strAt(g, "IndexName")] = index{keySchema(listAt(g, "KeySchema")), strAt(g, "Projection", "ProjectionType"), nk}
	}
	return out
}

// sdkIndex returns an index of the SDK (a GlobalSecondaryIndex or its description).
func sdkIndex(keys []ddbtypes.KeySchemaElement, p *ddbtypes.Projection) index {
	nk := append([]string(nil), p.NonKeyAttributes...)
	sort.Strings(nk)
	return index{sdkKeySchema(keys), string(p.ProjectionType), nk}
}

// ---- environment

// sdkVars are the SDK's standard variables the template may declare besides settings.Vars: the
// endpoint override, empty in AWS and set by localstack/env.json for sam local.
var sdkVars = []string{"AWS_ENDPOINT_URL"}

// What each function needs to find (see settings.FromEnv and awsbackend.Open):
var (
	// queueUsers send to the work queue (usecase.Service.announce, the worker) or change its
	// messages' visibility (the worker); the others get the in-process queue, never used.
	queueUsers = []string{function.Create, function.Retry, function.Worker, function.Intake, function.Callback}
	// markerUsers seal or open list page markers (settings.Uses.Markers); the key is given to
	// no other function.
	// Create, get, callback and publish (a callback step's event) seal or open callback tokens
	// (shared/callback) with the same key.
	markerUsers = []string{function.List, function.Create, function.Get, function.Callback, function.Publish}
	// localOnly are read by the local runner only: Lambda has no file store, and its event
	// source mapping delivers the dead-letter queue.
	localOnly = []string{settings.EnvDataFile, settings.EnvDeadLetterURL}
)

// authenticated lists the API functions that verify tokens: all but those whose every route
// is public (the callbacks, whose token is their credential).
func authenticated() []string {
	var out []string
	for _, f := range apigw.Functions() {
		for _, r := range apigw.Routes() {
			if r.Function == f && !r.Public() {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

func checkEnvironment(p *project) problems {
	var ps problems
	known := append(append([]string(nil), settings.Vars...), sdkVars...)
	api := authenticated()
	for _, id := range p.functionIDs() {
		name := functionName(id)
		env := p.env(id)
		for _, k := range sortedKeys(env) {
			if !slices.Contains(known, k) {
				ps.add("function %s: variable %s is not one the functions read (settings.Vars)", id, k)
			}
			if slices.Contains(localOnly, k) {
				ps.add("function %s: %s is for the local runner only", id, k)
			}
		}
		if v, ok := env["AWS_ENDPOINT_URL"]; ok && v != "" {
			ps.add("function %s: AWS_ENDPOINT_URL must be empty in the template (localstack/env.json sets it locally)", id)
		}
		requireRef := func(v, ref string) {
			if !isRef(env[v], ref) {
				ps.add("function %s: %s must be !Ref %s, it is %v", id, v, ref, env[v])
			}
		}
		requireRef(settings.EnvTableName, "TasksTable")
		if slices.Contains(markerUsers, name) {
			requireRef(settings.EnvMarkerSecret, "MarkerSecret") // Settings.Check requires it there
		} else if _, ok := env[settings.EnvMarkerSecret]; ok {
			ps.add("function %s: has MARKER_SECRET but never seals or opens a marker or callback token", id)
		}
		jwtVars := []string{settings.EnvJWTIssuer, settings.EnvJWTAudience, settings.EnvJWKSURL}
		if slices.Contains(api, name) {
			requireRef(settings.EnvTenantClaim, "TenantClaim")
			requireRef(settings.EnvRolesClaim, "RolesClaim")
			// The functions verify tokens; Settings.Check refuses to start without an issuer (Uses.API).
			requireRef(settings.EnvJWTIssuer, "JwtIssuer")
			requireRef(settings.EnvJWKSURL, "JwksUrl")
			if !isJoinedRef(env[settings.EnvJWTAudience], "JwtAudience") {
				ps.add("function %s: %s must be !Join [\",\", !Ref JwtAudience] (settings splits it on commas), it is %v", id, settings.EnvJWTAudience, env[settings.EnvJWTAudience])
			}
		} else {
			for _, v := range jwtVars {
				if _, ok := env[v]; ok {
					ps.add("function %s: has %s but serves no API route", id, v)
				}
			}
		}
		// Only list reads the opt-in indexes (dynamostore.WithUpdatedAtIndex,
		// WithAdminUpdatedAtIndex).
		for v, param := range map[string]string{settings.EnvUpdatedAtIndex: "UpdatedAtIndex", settings.EnvAdminUpdatedAtIndex: "AdminUpdatedAtIndex"} {
			if name == function.List {
				requireRef(v, param)
			} else if _, ok := env[v]; ok {
				ps.add("function %s: has %s but lists nothing", id, v)
			}
		}
		if slices.Contains(queueUsers, name) {
			requireRef(settings.EnvQueueURL, "WorkQueue")
		} else if _, ok := env[settings.EnvQueueURL]; ok {
			ps.add("function %s: has QUEUE_URL but neither sends nor changes visibility", id)
		}
	}
	params := mapAt(p.tpl, "Parameters")
	if got := strAt(params, "TenantClaim", "Default"); got != apigw.DefaultClaims.Tenant {
		ps.add("parameter TenantClaim defaults to %q, the code's default is %q", got, apigw.DefaultClaims.Tenant)
	}
	if got := strAt(params, "RolesClaim", "Default"); got != apigw.DefaultClaims.Roles {
		ps.add("parameter RolesClaim defaults to %q, the code's default is %q", got, apigw.DefaultClaims.Roles)
	}
	if !boolAt(params, "MarkerSecret", "NoEcho") {
		ps.add("parameter MarkerSecret must be NoEcho")
	}
	if n, _ := intAt(params, "MarkerSecret", "MinLength"); n < 16 {
		ps.add("parameter MarkerSecret needs MinLength 16 (Settings.Check refuses shorter), has %d", n)
	}
	return ps
}

// ---- permissions

// grant is one Allow statement of a function's role.
type grant struct {
	actions   []string
	resources []any
	source    string
}

// samPolicies are the SAM policy templates the checks understand, with their actions and the
// parameter naming their resource.
var samPolicies = map[string]struct {
	actions []string
	param   string
}{
	"DynamoDBReadPolicy":   {[]string{"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"}, "TableName"},
	"DynamoDBWritePolicy":  {[]string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}, "TableName"},
	"DynamoDBCrudPolicy":   {[]string{"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"}, "TableName"},
	"SQSSendMessagePolicy": {[]string{"sqs:SendMessage*"}, "QueueName"},
	"SQSPollerPolicy":      {[]string{"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage", "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}, "QueueName"},
}

func (p *project) grants(id string) ([]grant, problems) {
	var gs []grant
	var ps problems
	for i, pol := range listAt(p.resource(id), "Properties", "Policies") {
		m, ok := pol.(map[string]any)
		if !ok {
			ps.add("function %s: policy %v is a managed policy the checks cannot read; use a statement", id, pol)
			continue
		}
		if stmts, ok := m["Statement"]; ok {
			list, _ := stmts.([]any)
			if list == nil {
				list = []any{stmts}
			}
			for _, s := range list {
				if strAt(s, "Effect") != "Allow" {
					continue
				}
				gs = append(gs, grant{strings1(at(s, "Action")), anyList(at(s, "Resource")), fmt.Sprintf("policy %d", i)})
			}
			continue
		}
		for name, args := range m {
			tmpl, ok := samPolicies[name]
			if !ok {
				ps.add("function %s: policy template %s is unknown to the checks; add it to samPolicies", id, name)
				continue
			}
			gs = append(gs, grant{tmpl.actions, []any{at(args, tmpl.param)}, name})
		}
	}
	return gs, ps
}

func strings1(v any) []string {
	var out []string
	for _, a := range anyList(v) {
		out = append(out, fmt.Sprint(a))
	}
	return out
}

func anyList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// actionMatches matches an IAM action pattern (trailing or lone *) case-insensitively.
func actionMatches(pattern, action string) bool {
	pattern, action = strings.ToLower(pattern), strings.ToLower(action)
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(action, prefix)
	}
	return pattern == action
}

// allows reports whether some grant allows action on resource (a logical id).
func allows(gs []grant, action, resource string) bool {
	for _, g := range gs {
		for _, a := range g.actions {
			if !actionMatches(a, action) {
				continue
			}
			for _, r := range g.resources {
				if r == "*" || mentions(r, resource) {
					return true
				}
			}
		}
	}
	return false
}

// needs is what each function calls (see the store's and the queue's callers): an action on
// a resource of the template.
var needs = map[string][][2]string{
	function.Create:     {{"dynamodb:GetItem", "TasksTable"}, {"dynamodb:PutItem", "TasksTable"}, {"sqs:SendMessage", "WorkQueue"}},
	function.Get:        {{"dynamodb:GetItem", "TasksTable"}},
	function.List:       {{"dynamodb:Query", "TasksTable"}, {"dynamodb:BatchGetItem", "TasksTable"}},
	function.Retry:      {{"dynamodb:GetItem", "TasksTable"}, {"dynamodb:PutItem", "TasksTable"}, {"sqs:SendMessage", "WorkQueue"}},
	function.Cancel:     {{"dynamodb:GetItem", "TasksTable"}, {"dynamodb:PutItem", "TasksTable"}},
	function.Worker:     {{"dynamodb:GetItem", "TasksTable"}, {"dynamodb:PutItem", "TasksTable"}, {"sqs:SendMessage", "WorkQueue"}, {"sqs:ChangeMessageVisibility", "WorkQueue"}},
	function.DeadLetter: {{"dynamodb:GetItem", "TasksTable"}, {"dynamodb:PutItem", "TasksTable"}},
	// The webhook deliverer reads and records gone URLs, re-sends failed attempts and gives up
	// to its dead-letter queue; the intake creates tasks (a transaction with the idempotency
	// record), announces them and sends refused messages to its dead-letter queue.
	function.Webhook:  {{"dynamodb:GetItem", "TasksTable"}, {"dynamodb:PutItem", "TasksTable"}, {"sqs:SendMessage", "WebhookQueue"}, {"sqs:SendMessage", "WebhookDeadLetterQueue"}},
	function.Intake:   {{"dynamodb:GetItem", "TasksTable"}, {"dynamodb:PutItem", "TasksTable"}, {"sqs:SendMessage", "WorkQueue"}, {"sqs:SendMessage", "IntakeDeadLetterQueue"}},
	function.Callback: {{"dynamodb:GetItem", "TasksTable"}, {"dynamodb:PutItem", "TasksTable"}, {"sqs:SendMessage", "WorkQueue"}},
}

var (
	// senders are the only functions that may send to a queue: the API's create and retry
	// (usecase.Service.announce) and the worker (a task's next, delayed message), the webhook
	// deliverer (its retries) the intake (its tasks' messages, its refused messages) and the callbacks (the next step's message).
	senders = []string{function.Create, function.Retry, function.Worker, function.Webhook, function.Intake, function.Callback}
	// readOnly functions must not write the table.
	readOnly = []string{function.Get, function.List}
	// storeActions are the DynamoDB actions behind dynamostore.API's methods; a function is
	// granted no other DynamoDB action (TransactWriteItems is authorized per item: PutItem).
	storeActions = map[string][]string{
		"GetItem": {"dynamodb:GetItem"}, "PutItem": {"dynamodb:PutItem"}, "Query": {"dynamodb:Query"},
		"BatchGetItem": {"dynamodb:BatchGetItem"}, "TransactWriteItems": {"dynamodb:PutItem"},
	}
	// queueActions are the SQS actions behind sqsqueue.API's methods.
	queueActions = map[string][]string{
		"SendMessage": {"sqs:SendMessage"}, "ChangeMessageVisibility": {"sqs:ChangeMessageVisibility"},
		"ReceiveMessage": {"sqs:ReceiveMessage"}, "DeleteMessage": {"sqs:DeleteMessage"},
	}
	writeActions = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
)

func checkPermissions(p *project) problems {
	var ps problems
	// The code side: a new store or queue call must be granted in the template first.
	for _, api := range []struct {
		name    string
		typ     reflect.Type
		actions map[string][]string
	}{
		{"dynamostore.API", reflect.TypeFor[dynamostore.API](), storeActions},
		{"sqsqueue.API", reflect.TypeFor[sqsqueue.API](), queueActions},
	} {
		for i := 0; i < api.typ.NumMethod(); i++ {
			if m := api.typ.Method(i).Name; api.actions[m] == nil {
				ps.add("%s calls %s: grant it in template.yaml to the functions that need it, then add it to this test", api.name, m)
			}
		}
	}
	allowedDynamo := map[string]bool{}
	for _, as := range storeActions {
		for _, a := range as {
			allowedDynamo[a] = true
		}
	}
	for _, id := range p.functionIDs() {
		name := functionName(id)
		gs, gps := p.grants(id)
		ps = append(ps, gps...)
		for _, n := range needs[name] {
			if !allows(gs, n[0], n[1]) {
				ps.add("function %s: needs %s on %s", id, n[0], n[1])
			}
		}
		if _, ok := needs[name]; !ok {
			ps.add("function %s: the test does not know what it calls; add it to needs", id)
		}
		mustNot := func(action, why string) {
			for _, g := range gs {
				for _, a := range g.actions {
					if actionMatches(a, action) {
						ps.add("function %s: %s grants %s, but %s", id, g.source, action, why)
						return
					}
				}
			}
		}
		if !slices.Contains(senders, name) {
			mustNot("sqs:SendMessage", "only create, retry and the worker send")
		}
		if slices.Contains(readOnly, name) {
			for _, a := range writeActions {
				mustNot(a, "it is read-only")
			}
		}
		for _, g := range gs {
			for _, a := range g.actions {
				switch {
				case strings.Contains(a, "*") && a != "sqs:SendMessage*": // SQSSendMessagePolicy's own
					ps.add("function %s: %s grants the wildcard action %s", id, g.source, a)
				case strings.HasPrefix(a, "dynamodb:") && !allowedDynamo[a]:
					ps.add("function %s: %s grants %s, which the store never calls (least privilege)", id, g.source, a)
				}
			}
		}
	}
	return ps
}

// ---- queues, event sources, timeouts

func checkQueues(p *project) problems {
	var ps problems
	work, dlq := mapAt(p.resource("WorkQueue"), "Properties"), mapAt(p.resource("DeadLetterQueue"), "Properties")
	if strAt(p.resource("WorkQueue"), "Type") != "AWS::SQS::Queue" || strAt(p.resource("DeadLetterQueue"), "Type") != "AWS::SQS::Queue" {
		ps.add("WorkQueue and DeadLetterQueue must be AWS::SQS::Queue")
		return ps
	}
	if !isGetAtt(at(work, "RedrivePolicy", "deadLetterTargetArn"), "DeadLetterQueue", "Arn") {
		ps.add("WorkQueue: RedrivePolicy.deadLetterTargetArn must be !GetAtt DeadLetterQueue.Arn")
	}
	if n, ok := intAt(work, "RedrivePolicy", "maxReceiveCount"); !ok || n < 5 {
		ps.add("WorkQueue: RedrivePolicy.maxReceiveCount must be at least 5, it is %v", at(work, "RedrivePolicy", "maxReceiveCount"))
	}
	// The numbers themselves: sqsqueue's constants, which infra/bootstrap and the Lambda
	// harness create the queues with.
	for _, c := range []struct {
		what  string
		props map[string]any
		path  []string
		want  int
	}{
		{"WorkQueue: RedrivePolicy.maxReceiveCount", work, []string{"RedrivePolicy", "maxReceiveCount"}, sqsqueue.MaxReceiveCount},
		{"WorkQueue: VisibilityTimeout", work, []string{"VisibilityTimeout"}, int(sqsqueue.WorkVisibility / time.Second)},
		{"WorkQueue: MessageRetentionPeriod", work, []string{"MessageRetentionPeriod"}, int(sqsqueue.WorkRetention / time.Second)},
		{"DeadLetterQueue: VisibilityTimeout", dlq, []string{"VisibilityTimeout"}, int(sqsqueue.DeadLetterVisibility / time.Second)},
		{"DeadLetterQueue: MessageRetentionPeriod", dlq, []string{"MessageRetentionPeriod"}, int(sqsqueue.DeadLetterRetention / time.Second)},
	} {
		if n, ok := intAt(c.props, c.path...); !ok || n != c.want {
			ps.add("%s is %v, sqsqueue's constant says %d (change both, with the reason in its doc comment)", c.what, at(c.props, c.path...), c.want)
		}
	}
	for _, q := range []struct {
		queue, function string
		props           map[string]any
	}{{"WorkQueue", "WorkerFunction", work}, {"DeadLetterQueue", "DeadLetterFunction", dlq}} {
		vis, ok := intAt(q.props, "VisibilityTimeout")
		if !ok {
			vis = 30
		}
		if t := p.timeout(q.function); vis < 6*t {
			ps.add("%s: VisibilityTimeout %d s is less than 6 x %s's Timeout (%d s)", q.queue, vis, q.function, t)
		}
		if !boolAt(q.props, "SqsManagedSseEnabled") && q.props["KmsMasterKeyId"] == nil {
			ps.add("%s: no server-side encryption (SqsManagedSseEnabled or KmsMasterKeyId)", q.queue)
		}
	}
	workRetention, ok := intAt(work, "MessageRetentionPeriod")
	if !ok {
		workRetention = 4 * 24 * 3600
	}
	if r, _ := intAt(dlq, "MessageRetentionPeriod"); r <= workRetention {
		ps.add("DeadLetterQueue: MessageRetentionPeriod %d must exceed the work queue's %d (a dead letter keeps its first enqueue time)", r, workRetention)
	}

	// The queues' consumers: one event source each, with partial batch failures.
	for _, c := range []struct{ function, queue string }{{"WorkerFunction", "WorkQueue"}, {"DeadLetterFunction", "DeadLetterQueue"},
		{"WebhookFunction", "WebhookQueue"}, {"IntakeFunction", "IntakeQueue"}} {
		evs := p.events(c.function, "SQS")
		if len(evs) != 1 {
			ps.add("%s: wants exactly one SQS event (on %s), has %d", c.function, c.queue, len(evs))
		}
		for name, ev := range evs {
			if !isGetAtt(ev["Queue"], c.queue, "Arn") {
				ps.add("%s: event %s must consume !GetAtt %s.Arn", c.function, name, c.queue)
			}
			if !slices.Contains(strings1(ev["FunctionResponseTypes"]), "ReportBatchItemFailures") {
				ps.add("%s: event %s lacks FunctionResponseTypes [ReportBatchItemFailures]; the handler reports partial failures", c.function, name)
			}
			if at(ev, "ScalingConfig", "MaximumConcurrency") == nil {
				ps.add("%s: event %s has no ScalingConfig.MaximumConcurrency", c.function, name)
			}
			if n, ok := intAt(ev, "BatchSize"); ok && n > 10 && ev["MaximumBatchingWindowInSeconds"] == nil {
				ps.add("%s: event %s: BatchSize %d needs a batching window", c.function, name, n)
			}
		}
	}
	for _, id := range p.functionIDs() {
		if !slices.Contains([]string{"WorkerFunction", "DeadLetterFunction", "WebhookFunction", "IntakeFunction"}, id) && len(p.events(id, "SQS")) > 0 {
			ps.add("%s consumes a queue; only the worker, the deadletter, webhook and intake functions do", id)
		}
	}

	// Timeouts the worker relies on.
	workerTimeout := time.Duration(p.timeout("WorkerFunction")) * time.Second
	reserve := (&app.App{}).Worker().Reserve
	if workerTimeout <= demo.MaxDuration+reserve {
		ps.add("WorkerFunction: Timeout %s leaves no room for a demo step (%s) plus the worker's reserve (%s)", workerTimeout, demo.MaxDuration, reserve)
	}
	// The worker keeps a message ahead of its write only for StoreGrace after the
	// announcement: the functions that announce must be done writing well within it.
	for _, id := range []string{"CreateFunction", "RetryFunction"} {
		if t := time.Duration(p.timeout(id)) * time.Second; t >= worker.StoreGrace {
			ps.add("%s: Timeout %s must stay below worker.StoreGrace (%s), within which the worker keeps a message whose task is not stored yet", id, t, worker.StoreGrace)
		}
	}
	return ps
}

// isJoinedRef reports whether v is {"Fn::Join": [",", {"Ref": name}]}: a CommaDelimitedList
// parameter as one comma-separated string.
func isJoinedRef(v any, name string) bool {
	l := listAt(v, "Fn::Join")
	return len(l) == 2 && l[0] == "," && isRef(l[1], name)
}

// ---- the API, parameters, alarms, outputs

func checkAPI(p *project) problems {
	var ps problems
	api := p.resource("HttpApi")
	if strAt(api, "Type") != "AWS::Serverless::HttpApi" {
		ps.add("HttpApi is not an AWS::Serverless::HttpApi")
		return ps
	}
	// The functions verify the JWT themselves (shared/auth); an authorizer in front would
	// answer 401 in API Gateway's own format, not the contract's problem+json.
	if auth := mapAt(api, "Properties", "Auth"); strAt(auth, "DefaultAuthorizer") != "" || at(auth, "Authorizers") != nil {
		ps.add("HttpApi: has an authorizer; the functions verify tokens themselves (remove Auth)")
	}
	if p := strAt(p.tpl, "Parameters", "JwtIssuer", "AllowedPattern"); p != "https://.+" {
		ps.add("parameter JwtIssuer: AllowedPattern %q, want https://.+ (auth.NewVerifier accepts http only to loopback)", p)
	}
	if jwks := mapAt(p.tpl, "Parameters", "JwksUrl"); jwks == nil || strAt(jwks, "Default") != "" || jwks["Default"] == nil {
		ps.add("parameter JwksUrl must default to \"\" (the issuer's %s)", auth.JWKSPath)
	}
	for _, param := range []string{"JwtIssuer", "JwtAudience", "JwksUrl", "MarkerSecret"} {
		if mapAt(p.tpl, "Parameters", param) == nil {
			ps.add("parameter %s is missing", param)
		}
	}
	if !mentions(at(p.tpl, "Outputs", "ApiUrl", "Value"), "HttpApi") {
		ps.add("Outputs: ApiUrl must be the HttpApi's URL")
	}
	found := false
	for _, id := range p.resourcesOfType("AWS::CloudWatch::Alarm") {
		props := mapAt(p.resource(id), "Properties")
		onDLQ := false
		for _, d := range listAt(props, "Dimensions") {
			if strAt(d, "Name") == "QueueName" && isGetAtt(at(d, "Value"), "DeadLetterQueue", "QueueName") {
				onDLQ = true
			}
		}
		n, _ := intAt(props, "Threshold")
		if onDLQ && strAt(props, "MetricName") == "ApproximateNumberOfMessagesVisible" && n == 0 && strAt(props, "ComparisonOperator") == "GreaterThanThreshold" {
			found = true
		}
	}
	if !found {
		ps.add("no alarm on the dead-letter queue's ApproximateNumberOfMessagesVisible > 0")
	}
	return ps
}

// ---- localstack/

// Local names the init hook creates and localstack/env.json points the functions at.
const (
	localName     = "tasklane-local"
	localEndpoint = "http://localstack:4566"
	localQueueURL = localEndpoint + "/queue/us-east-1/000000000000/" + localName
)

func checkLocalStack(p *project) problems {
	var ps problems
	declared := map[string]map[string]bool{} // function → variables
	all := map[string]bool{}
	for _, id := range p.functionIDs() {
		declared[id] = map[string]bool{}
		for k := range p.env(id) {
			declared[id][k] = true
			all[k] = true
		}
	}
	for _, section := range sortedKeys(p.envJSON) {
		vars := p.envJSON[section]
		scope := all
		if section != "Parameters" {
			if declared[section] == nil {
				ps.add("localstack/env.json: section %s is no function of template.yaml", section)
				continue
			}
			scope = declared[section]
		}
		for _, k := range sortedKeys(vars) {
			if !scope[k] {
				ps.add("localstack/env.json: %s sets %s, which template.yaml does not declare there (SAM ignores it)", section, k)
			}
		}
	}
	want := map[string]string{
		"AWS_ENDPOINT_URL":      localEndpoint,
		settings.EnvTableName:   localName,
		settings.EnvQueueURL:    localQueueURL,
		settings.EnvTenantClaim: apigw.DefaultClaims.Tenant,
		settings.EnvRolesClaim:  apigw.DefaultClaims.Roles,
	}
	for _, k := range sortedKeys(want) {
		if got := p.envJSON["Parameters"][k]; got != want[k] {
			ps.add("localstack/env.json: Parameters.%s is %q, want %q (what the init hook creates)", k, got, want[k])
		}
	}
	// The API functions refuse to start without an issuer (settings.Uses.API), and with one the
	// verifier must accept the settings.
	par := p.envJSON["Parameters"]
	if _, err := auth.NewVerifier(auth.Settings{Issuer: par[settings.EnvJWTIssuer], Audiences: strings.Split(par[settings.EnvJWTAudience], ","), JWKSURL: par[settings.EnvJWKSURL]}, auth.Claims{}); err != nil {
		ps.add("localstack/env.json: the JWT settings are not usable: %v", err)
	}
	if len(p.envJSON["Parameters"][settings.EnvMarkerSecret]) < 16 {
		ps.add("localstack/env.json: MARKER_SECRET needs at least 16 characters")
	}
	return ps
}

// ---- operations: logs, concurrency, throttling, alarms

// checkOperations holds the template to what keeps a deployment healthy and observable: every
// function logs to a group with a retention, the worker's reserved concurrency covers its event
// source (a throttled delivery spends a receive count), the API's default stage is throttled,
// and alarms watch the worker's errors and the age of the work queue's oldest message.
func checkOperations(p *project) problems {
	var ps problems
	for _, id := range p.functionIDs() {
		ref := at(p.functionProp(id, "LoggingConfig"), "LogGroup")
		group, _ := at(ref, "Ref").(string)
		if group == "" {
			ps.add("function %s: LoggingConfig.LogGroup must be !Ref a log group of the template (Lambda's own group keeps logs forever)", id)
			continue
		}
		if strAt(p.resource(group), "Type") != "AWS::Logs::LogGroup" {
			ps.add("function %s: its log group %s is not an AWS::Logs::LogGroup", id, group)
		}
		if at(p.resource(group), "Properties", "RetentionInDays") == nil {
			ps.add("log group %s (of %s): no RetentionInDays", group, id)
		}
	}
	if at(p.resource("HttpApiAccessLogs"), "Properties", "RetentionInDays") == nil {
		ps.add("HttpApiAccessLogs: no RetentionInDays")
	}

	reserved := p.functionProp("WorkerFunction", "ReservedConcurrentExecutions")
	for name, ev := range p.events("WorkerFunction", "SQS") {
		max := at(ev, "ScalingConfig", "MaximumConcurrency")
		rn, rok := intAt(map[string]any{"v": reserved}, "v")
		mn, mok := intAt(map[string]any{"v": max}, "v")
		same := reflect.DeepEqual(reserved, max) && reserved != nil
		if !same && !(rok && mok && rn >= mn) {
			ps.add("WorkerFunction: ReservedConcurrentExecutions (%v) must be at least event %s's MaximumConcurrency (%v)", reserved, name, max)
		}
	}

	route := mapAt(p.resource("HttpApi"), "Properties", "DefaultRouteSettings")
	for _, k := range []string{"ThrottlingRateLimit", "ThrottlingBurstLimit"} {
		if route[k] == nil {
			ps.add("HttpApi: DefaultRouteSettings.%s is not set (the default stage is not throttled)", k)
		}
	}

	var workerErrors, queueAge, late bool
	for _, id := range p.resourcesOfType("AWS::CloudWatch::Alarm") {
		props := mapAt(p.resource(id), "Properties")
		if strAt(props, "Namespace") == metric.Namespace && strAt(props, "MetricName") == metric.OldestMessageAge && strAt(props, "Statistic") == "Maximum" {
			late = true
		}
		for _, d := range listAt(props, "Dimensions") {
			switch {
			case strAt(props, "MetricName") == "Errors" && strAt(d, "Name") == "FunctionName" && isRef(at(d, "Value"), "WorkerFunction"):
				workerErrors = true
			case strAt(props, "MetricName") == "ApproximateAgeOfOldestMessage" && strAt(d, "Name") == "QueueName" && isGetAtt(at(d, "Value"), "WorkQueue", "QueueName"):
				queueAge = true
			}
		}
	}
	if !workerErrors {
		ps.add("no alarm on the worker's Errors")
	}
	if !queueAge {
		ps.add("no alarm on the work queue's ApproximateAgeOfOldestMessage")
	}
	if !late {
		ps.add("no alarm on the Maximum of the worker's %s", metric.OldestMessageAge)
	}
	return ps
}
