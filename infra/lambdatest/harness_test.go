package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/infra/template"
	"github.com/tasklane/tasklane/shared/apigw"
	"github.com/tasklane/tasklane/shared/authtest"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/sqsqueue"
)

// subVar is a ${Name} or ${Resource.Attr} of !Sub.
var subVar = regexp.MustCompile(`\$\{[A-Za-z0-9:.]+\}`)

// repoRoot is the repository root, two levels above this package.
var repoRoot = filepath.Join("..", "..")

// parameters are the values of template.yaml's parameters in these tests, the one place to
// set them (a parameter missing here takes the template's Default). The JWT settings are
// placeholders until the functions verify tokens themselves; then JwtIssuer becomes a local
// issuer's URL.
func parameters(t testing.TB, iss *authtest.Issuer) map[string]string {
	t.Helper()
	return map[string]string{
		"JwtIssuer":    iss.URL,
		"JwtAudience":  authtest.Audience,
		"MarkerSecret": "lambdatest-marker-secret-0123456789",
	}
}

// sampleToken is the placeholder of localstack/events (a user pastes their IdP's token
// there); the bootstraps get a token of the stack's issuer for sampleTenant instead.
const (
	sampleToken  = "Bearer REPLACE_WITH_A_TOKEN"
	sampleTenant = "tenant-a"
	sampleUser   = "lambdatest-user"
)

// authorize is what every API event passes through before it is invoked: it puts a token of
// the stack's issuer (whose JWKS the functions fetch, as deployed) where the event has a
// placeholder: localstack's sample token, or shared/apigw's {{token:<tenant>:<roles>}}.
func (s *stack) authorize(t testing.TB, ev *events.APIGatewayV2HTTPRequest) {
	t.Helper()
	for k, v := range ev.Headers {
		if !strings.EqualFold(k, "authorization") {
			continue
		}
		if v == sampleToken {
			v = "Bearer " + s.iss.Token(map[string]any{"tenant": sampleTenant, "sub": sampleUser})
		}
		ev.Headers[k] = string(s.iss.Expand([]byte(v), sampleUser))
	}
}

// ---- the bootstraps

var built struct {
	once sync.Once
	dir  string // one executable per directory under functions/, named after it
	err  error
}

// bootstrap returns the path of the bootstrap of functions/<name>, building all of them
// once per test binary (one go build, sharing the build cache).
func bootstrap(t testing.TB, name string) string {
	t.Helper()
	built.once.Do(func() { built.dir, built.err = buildAll() })
	if built.err != nil {
		t.Fatalf("build the bootstraps: %v", built.err)
	}
	p := filepath.Join(built.dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("bootstrap of functions/%s: %v", name, err)
	}
	return p
}

// lambdaFlags reads the Makefile's Lambda build environment and flags
// (`make print-lambda-flags`), split into words by the shell.
func lambdaFlags() (env, flags []string, err error) {
	cmd := exec.Command("make", "-s", "--no-print-directory", "-C", repoRoot, "print-lambda-flags")
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("make print-lambda-flags: %v\n%s", err, stderr.String())
	}
	words := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	i := slices.Index(words, "--")
	if i < 0 {
		return nil, nil, fmt.Errorf("make print-lambda-flags printed no \"--\": %q", out)
	}
	return words[:i], words[i+1:], nil
}

func buildAll() (string, error) {
	genv, flags, err := lambdaFlags()
	if err != nil {
		return "", err
	}
	if !slices.Contains(flags, "lambda.norpc") {
		return "", fmt.Errorf("the Makefile's LAMBDA_GOFLAGS %q lack -tags lambda.norpc", flags)
	}
	dir, err := os.MkdirTemp("", "lambdatest-bootstraps-")
	if err != nil {
		return "", err
	}
	args := append(append([]string{"build"}, flags...), "-o", dir+string(filepath.Separator), "./functions/...")
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	cmd.Env = append(append(os.Environ(), genv...), "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", strings.Join(genv, " "), strings.Join(cmd.Args, " "), err, out)
	}
	return dir, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// rie returns the Runtime Interface Emulator's path: $TASKLANE_RIE (infra/test.sh sets it)
// or .tools/bin/aws-lambda-rie. Without it the test fails under CI and is skipped elsewhere.
func rie(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the bootstraps are linux executables")
	}
	p := os.Getenv("TASKLANE_RIE")
	if p == "" {
		abs, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin", "aws-lambda-rie"))
		if err != nil {
			t.Fatal(err)
		}
		p = abs
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Runtime Interface Emulator is missing (%v): infra/rie.sh installs it; make test runs it", err)
		}
		t.Skipf("the Runtime Interface Emulator is missing (%v); run infra/rie.sh", err)
	}
	return p
}

// ---- a stack: the template's table and queues on the emulator, and its functions

// stack is one deployment of template.yaml on the emulators: a fresh table and queues, and
// the functions, each started under its own RIE on first use.
type stack struct {
	tpl                 map[string]any
	region              string
	ddb                 *dynamodb.Client
	sqs                 *sqs.Client
	table               string
	queueName, dlqName  string
	queueURL, dlqURL    string
	queueARN, dlqARN    string
	iss                 *authtest.Issuer // the identity provider whose tokens the API functions verify
	params              map[string]string
	endpoints           map[string]string // AWS_ENDPOINT_URL_* for the functions
	mu                  sync.Mutex
	functions           map[string]*function
	accountID, tableARN string
	eventBus            string // the stack's TasklaneEventBus (events_test.go)
	// bodyQueues are the webhook and intake queues (webhooks_test.go).
	bodyQueues map[string]bodyQueue
}

func newStack(t *testing.T) *stack { return newStackWith(t, nil) }

// newStackWith is newStack with some of the template's parameters set otherwise
// (UpdatedAtIndex or AdminUpdatedAtIndex "true" makes the table with that index, as the
// template would).
func newStackWith(t *testing.T, params map[string]string) *stack {
	t.Helper()
	rie(t)
	cfg := awstest.Config(t, "DYNAMODB", "SQS", "EVENTBRIDGE") // fails under CI, skips elsewhere, without emulators
	raw, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := template.ParseTemplate(raw)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	iss := authtest.NewIssuer(t)
	s := &stack{tpl: tpl, region: cfg.Region, ddb: dynamodb.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg),
		table: awstest.Name("lambdatest"), queueName: awstest.Name("lambdatest"), iss: iss, params: parameters(t, iss),
		functions: map[string]*function{}, accountID: "123456789012"}
	maps.Copy(s.params, params)
	s.dlqName = s.queueName + sqsqueue.DeadLetterSuffix
	s.endpoints = map[string]string{}
	for _, svc := range []string{"DYNAMODB", "SQS", "EVENTBRIDGE"} {
		v := os.Getenv("AWS_ENDPOINT_URL_" + svc)
		if v == "" {
			v = os.Getenv("AWS_ENDPOINT_URL")
		}
		s.endpoints["AWS_ENDPOINT_URL_"+svc] = v
	}
	ctx := context.Background()
	optIns := dynamostore.OptIns{UpdatedAt: s.params["UpdatedAtIndex"] == "true", AdminUpdatedAt: s.params["AdminUpdatedAtIndex"] == "true"}
	if err := dynamostore.CreateTable(ctx, s.ddb, s.table, optIns.TableOptions()...); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = s.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(s.table)})
	})
	desc, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err != nil {
		t.Fatal(err)
	}
	s.tableARN = aws.ToString(desc.Table.TableArn)
	if s.queueURL, s.dlqURL, err = sqsqueue.CreateDeployedQueues(ctx, s.sqs, s.queueName); err != nil {
		t.Fatalf("create queues: %v", err)
	}
	t.Cleanup(func() {
		for _, u := range []string{s.queueURL, s.dlqURL} {
			_, _ = s.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	s.createEventBus(t, cfg) // events_test.go
	s.createBodyQueues(t)    // webhooks_test.go
	if s.queueARN, err = sqsqueue.QueueARN(ctx, s.sqs, s.queueURL); err != nil {
		t.Fatal(err)
	}
	if s.dlqARN, err = sqsqueue.QueueARN(ctx, s.sqs, s.dlqURL); err != nil {
		t.Fatal(err)
	}
	return s
}

// resolve turns a template value (a string, a number, or an intrinsic) into the string
// CloudFormation would put into an environment variable of this stack.
func (s *stack) resolve(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int, float64, bool:
		return fmt.Sprint(x), nil
	case map[string]any:
		if len(x) != 1 {
			return "", fmt.Errorf("%v is no intrinsic function", x)
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				name, _ := arg.(string)
				return s.ref(name)
			case "Fn::GetAtt":
				l, _ := arg.([]any)
				if len(l) != 2 {
					return "", fmt.Errorf("!GetAtt %v", arg)
				}
				return s.getAtt(fmt.Sprint(l[0]), fmt.Sprint(l[1]))
			case "Fn::Sub":
				str, ok := arg.(string)
				if !ok {
					return s.resolveSubList(arg) // webhooks_test.go
				}
				var err error
				out := subVar.ReplaceAllStringFunc(str, func(m string) string {
					name := strings.TrimSuffix(strings.TrimPrefix(m, "${"), "}")
					var v string
					var e error
					if res, attr, ok := strings.Cut(name, "."); ok {
						v, e = s.getAtt(res, attr)
					} else {
						v, e = s.ref(name)
					}
					if e != nil && err == nil {
						err = e
					}
					return v
				})
				return out, err
			case "Fn::If":
				return s.resolveIf(arg) // events_test.go
			case "Fn::Join":
				l, _ := arg.([]any)
				if len(l) != 2 {
					return "", fmt.Errorf("!Join %v", arg)
				}
				var parts []string
				items, _ := l[1].([]any)
				for _, it := range items {
					p, err := s.resolve(it)
					if err != nil {
						return "", err
					}
					parts = append(parts, p)
				}
				if len(items) == 0 { // !Join [",", !Ref AList]
					p, err := s.resolve(l[1])
					if err != nil {
						return "", err
					}
					parts = []string{p}
				}
				return strings.Join(parts, fmt.Sprint(l[0])), nil
			}
			return "", fmt.Errorf("intrinsic %s is not supported by the harness", fn)
		}
	}
	return "", fmt.Errorf("value %v (%T) cannot be an environment variable", v, v)
}

// ref is !Ref name: a parameter's test value (or Default), or a resource's name or URL.
func (s *stack) ref(name string) (string, error) {
	switch name {
	case "AWS::Region":
		return s.region, nil
	case "AWS::AccountId":
		return s.accountID, nil
	case "TasksTable":
		return s.table, nil
	case "WorkQueue":
		return s.queueURL, nil
	case "DeadLetterQueue":
		return s.dlqURL, nil
	case "TasklaneEventBus":
		return s.eventBus, nil
	}
	if v, ok := s.webhookRef(name); ok { // webhooks_test.go
		return v, nil
	}
	params, _ := s.tpl["Parameters"].(map[string]any)
	if p, ok := params[name].(map[string]any); ok {
		if v, ok := s.params[name]; ok {
			return v, nil
		}
		if d, ok := p["Default"]; ok {
			return fmt.Sprint(d), nil
		}
		return "", fmt.Errorf("parameter %s has no Default and no value in parameters()", name)
	}
	return "", fmt.Errorf("!Ref %s: the harness does not create it", name)
}

// getAtt is !GetAtt resource.attr for the resources the harness creates.
func (s *stack) getAtt(res, attr string) (string, error) {
	v, ok := map[string]string{
		"TasksTable.Arn":            s.tableARN,
		"WorkQueue.Arn":             s.queueARN,
		"WorkQueue.QueueName":       s.queueName,
		"WorkQueue.QueueUrl":        s.queueURL,
		"DeadLetterQueue.Arn":       s.dlqARN,
		"DeadLetterQueue.QueueName": s.dlqName,
		"DeadLetterQueue.QueueUrl":  s.dlqURL,
	}[res+"."+attr]
	if !ok {
		v, ok = s.webhookAtt(res, attr) // webhooks_test.go
	}
	if !ok {
		return "", fmt.Errorf("!GetAtt %s.%s: the harness does not create it", res, attr)
	}
	return v, nil
}

// environment is exactly what the function id declares in template.yaml (Globals and its
// own), resolved for this stack, plus what Lambda and the emulators add: the SDK's
// endpoint variables, region, credentials, the function's name, timeout and memory.
func (s *stack) environment(t testing.TB, id string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range template.FunctionEnv(s.tpl, id) {
		r, err := s.resolve(v)
		if err != nil {
			t.Fatalf("%s: environment variable %s: %v", id, k, err)
		}
		env[k] = r
	}
	for k, v := range s.endpoints {
		env[k] = v
	}
	env["AWS_REGION"], env["AWS_DEFAULT_REGION"] = s.region, s.region
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		env[k] = os.Getenv(k)
		if env[k] == "" {
			env[k] = "test"
		}
	}
	env["AWS_LAMBDA_FUNCTION_NAME"] = "tasklane-" + template.FunctionName(id)
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(s.number(t, id, "Timeout", 3))
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(s.number(t, id, "MemorySize", 128))
	return env
}

// number is a numeric function property with Globals applied, or SAM's default.
func (s *stack) number(t testing.TB, id, prop string, def int) int {
	v := template.FunctionProp(s.tpl, id, prop)
	if v == nil {
		return def
	}
	n, err := strconv.Atoi(fmt.Sprint(v))
	if err != nil {
		t.Fatalf("%s: %s is %v, not a number", id, prop, v)
	}
	return n
}

// function returns the function with logical id id, started under its own RIE on first use.
func (s *stack) function(t *testing.T, id string) *function {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.functions[id]; ok {
		return f
	}
	if !slices.Contains(template.FunctionIDs(s.tpl), id) {
		t.Fatalf("template.yaml has no function %s", id)
	}
	f := startFunction(t, rie(t), bootstrap(t, template.FunctionName(id)), id, s.environment(t, id))
	s.functions[id] = f
	return f
}

// ---- one function under the Runtime Interface Emulator

// function is one bootstrap under its own RIE, which serves one invocation at a time.
type function struct {
	id      string
	env     map[string]string
	url     string
	timeout time.Duration
	mu      sync.Mutex // one invocation at a time, as RIE serves them
	out     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// freePorts returns n distinct free loopback ports. The listeners stay open until all n are
// chosen, so that the kernel cannot hand the same port out twice (RIE given one port for both
// of its addresses resets the first invocation).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// startFunction starts RIE on two free loopback ports (its invocation API and the Runtime
// API the bootstrap talks to) with exactly env as the environment: RIE hands its own
// environment to the bootstrap. The process group is killed when the test ends, and RIE's
// and the function's output is logged if the test failed.
//
// A free port can be taken between freePorts closing it and RIE binding it (by another
// package's listener, or as the source port of any outgoing connection: a loaded machine
// running the suites in parallel makes thousands), so a start whose RIE could not bind is
// tried again on other ports.
func startFunction(t *testing.T, rie, bootstrap, id string, env map[string]string) *function {
	t.Helper()
	for try := 1; ; try++ {
		f, out, taken := tryStartFunction(t, rie, bootstrap, id, env)
		if !taken {
			return f
		}
		if try == 3 {
			t.Fatalf("%s: RIE found its ports taken %d times:\n%s", id, try, out)
		}
		t.Logf("%s: RIE's port was taken (try %d); starting it on other ports", id, try)
	}
}

// tryStartFunction is one start of startFunction: the function once RIE listens on both of
// its addresses, or taken when RIE exited because an address was in use.
func tryStartFunction(t *testing.T, rie, bootstrap, id string, env map[string]string) (f *function, output string, taken bool) {
	t.Helper()
	ports := freePorts(t, 2)
	invokeAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	runtimeAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", runtimeAddr, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = []string{}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	slices.Sort(cmd.Env)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start RIE: %v", id, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	timeout, _ := strconv.Atoi(env["AWS_LAMBDA_FUNCTION_TIMEOUT"])
	f = &function{id: id, env: env, url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations",
		timeout: time.Duration(timeout) * time.Second, out: out}
	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range []string{invokeAddr, runtimeAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				if strings.Contains(out.String(), "address already in use") {
					return nil, out.String(), true
				}
				t.Fatalf("%s: RIE exited before it listened:\n%s", id, out.String())
			default:
			}
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("%s: RIE does not listen on %s:\n%s", id, addr, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s (RIE and bootstrap output):\n%s", id, out.String())
		}
	})
	return f, "", false
}

// invoke sends payload to the function as Lambda would (POST to the invocation API) and
// decodes its answer into out. A function that cannot start or that returns an error (an
// answer with errorType, or not 200) fails the test.
func (f *function) invoke(t testing.TB, payload, out any) {
	t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: invoke: %v", f.id, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: invoke: %v", f.id, err)
	}
	var failed struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(raw, &failed)
	if resp.StatusCode != http.StatusOK || failed.ErrorType != "" || failed.ErrorMessage != "" {
		t.Fatalf("%s: invocation answered %d: %s\n(output so far:\n%s)", f.id, resp.StatusCode, raw, f.out.String())
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: answer %s: %v", f.id, raw, err)
		}
	}
}

// awaitOutput waits up to 10 s for the function's output to satisfy ok, and fails the test
// with what and the output if it never does. The bootstrap's lines reach out through RIE's
// pipe after the invocation has answered, so output checked at once can miss a line the
// function did write.
func (f *function) awaitOutput(t testing.TB, what string, ok func(out string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(f.out.String()) {
		if time.Now().After(deadline) {
			t.Errorf("%s: %s:\n%s", f.id, what, f.out.String())
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- events

// apiFunction is the logical id of the function behind an API event's route.
func apiFunction(t testing.TB, ev events.APIGatewayV2HTTPRequest) string {
	t.Helper()
	for _, r := range apigw.Routes() {
		if r.Key() == ev.RouteKey {
			return strings.ToUpper(r.Function[:1]) + r.Function[1:] + "Function"
		}
	}
	t.Fatalf("route key %q is no route of apigw.Routes()", ev.RouteKey)
	return ""
}

// call invokes the function behind ev's route with ev, after authorize, and returns its
// answer.
func (s *stack) call(t *testing.T, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	s.authorize(t, &ev)
	var resp events.APIGatewayV2HTTPResponse
	s.function(t, apiFunction(t, ev)).invoke(t, ev, &resp)
	return resp
}

// apiEvent reads an API Gateway v2 event: testdata "apigw/NAME" (shared/apigw/testdata, with
// {{taskId}} replaced by id) or "localstack/NAME" (localstack/events).
func apiEvent(t testing.TB, name, id string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	readEvent(t, name, id, &ev)
	return ev
}

func readEvent(t testing.TB, name, id string, into any) {
	t.Helper()
	dir, file, _ := strings.Cut(name, "/")
	path := map[string]string{
		"apigw":      filepath.Join(repoRoot, "shared", "apigw", "testdata", file),
		"localstack": filepath.Join(repoRoot, "localstack", "events", file),
	}[dir]
	if path == "" {
		t.Fatalf("event %s: want apigw/NAME or localstack/NAME", name)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("{{taskId}}"), []byte(id))
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("event %s: %v", name, err)
	}
}
