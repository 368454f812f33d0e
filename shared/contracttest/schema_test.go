package contracttest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Every response body the contract tests receive is validated against the schema the API
// serves for it (conform, called by do and raw and by the goroutines that send their own
// requests), so that no test can forget: a task against GET /v1/schemas/task, a list page
// against GET /v1/schemas/tasks, and every problem+json body against
// shared/apigw/schema/problem.json (RFC 9457 with the contract's errorCode; not served).
// Bodies with no schema (a task's result, which its type defines, the task types, the
// schemas themselves, which compiling checks against the meta-schema) are left alone.

// schemaBase is where the served schemas are placed for the compiler; their $ids are
// relative ("/v1/schemas/task"), so they resolve against it.
const schemaBase = "http://tasklane.test"

// schemas are the compiled schemas of one API.
type schemas struct {
	task, tasks, problem *jsonschema.Schema
}

// compiledSchemas caches schemas by the served documents, so that the many environments of a
// run, which all serve the same ones, compile them once.
var compiledSchemas sync.Map // served task + tasks schema → *schemas

// loadSchemas fetches the schemas e's API serves and compiles them with the problem schema.
// It uses a plain client (do validates against what it loads); headers (name, value pairs)
// authenticate it.
func (e *env) loadSchemas(headers ...string) *schemas {
	e.t.Helper()
	fetch := func(path string) []byte {
		req, err := http.NewRequest("GET", e.url+path, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			e.t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return b
	}
	task, tasks := fetch("/v1/schemas/task"), fetch("/v1/schemas/tasks")
	doc, err := loadOpenAPI(fetch("/v1/openapi.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.doc = doc
	key := string(task) + "\x00" + string(tasks)
	if s, ok := compiledSchemas.Load(key); ok {
		return s.(*schemas)
	}
	problem, err := os.ReadFile("../apigw/schema/problem.json")
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := compileSchemas(task, tasks, problem)
	if err != nil {
		e.t.Fatal(err)
	}
	compiledSchemas.Store(key, s)
	return s
}

func compileSchemas(task, tasks, problem []byte) (*schemas, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	docs := map[string][]byte{"/v1/schemas/task": task, "/v1/schemas/tasks": tasks, "/problem.json": problem}
	for path, raw := range docs {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", path, err)
		}
		if err := c.AddResource(schemaBase+path, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", path, err)
		}
	}
	var s schemas
	for path, dst := range map[string]**jsonschema.Schema{"/v1/schemas/task": &s.task, "/v1/schemas/tasks": &s.tasks, "/problem.json": &s.problem} {
		sch, err := c.Compile(schemaBase + path)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", path, err)
		}
		*dst = sch
	}
	return &s, nil
}

var (
	taskPath  = regexp.MustCompile(`^/v1/tasks/[^/]+$`)
	actPath   = regexp.MustCompile(`^/v1/tasks/[^/]+/(cancel|retry)$`)
	tasksPath = "/v1/tasks"
)

// schemaFor is the schema a response to method path must satisfy, nil when none applies.
func (s *schemas) schemaFor(method, path string, r reply) (*jsonschema.Schema, string) {
	path, _, _ = strings.Cut(path, "?")
	ct, _, _ := strings.Cut(r.header.Get("Content-Type"), ";")
	switch {
	case len(r.body) == 0 || method == http.MethodHead:
		return nil, ""
	case ct == "application/problem+json":
		return s.problem, "problem"
	case ct != "application/json" || r.status >= 400:
		return nil, ""
	case path == tasksPath && method == http.MethodGet:
		return s.tasks, "tasks"
	case path == tasksPath && method == http.MethodPost, taskPath.MatchString(path), actPath.MatchString(path):
		return s.task, "task"
	}
	return nil, ""
}

// conform reports how the response r to method path breaks the schema that applies to it;
// nil when it conforms or no schema applies. It does not touch e.t, so that goroutines may
// call it.
func (e *env) conform(method, path string, r reply) error {
	if e.doc != nil {
		if err := e.doc.conformOpenAPI(method, path, r); err != nil {
			return err
		}
	}
	sch, name := e.schemas.schemaFor(method, path, r)
	if sch == nil {
		return nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		return fmt.Errorf("%s %s: %s body is not JSON: %v\n%s", method, path, name, err, r.body)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("%s %s: %d body does not conform to the %s schema: %v\n%s", method, path, r.status, name, err, r.body)
	}
	return nil
}

// TestSchemaValidation: the validator can fail. Documents that break the served schemas in
// ways a lax check (required keys only) would miss are rejected, and real ones pass.
func TestSchemaValidation(t *testing.T) {
	t.Parallel()
	e := setup(t, "embedded")
	id := e.create(steps(step("Only")))
	done := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil)
	page := e.do("GET", "/v1/tasks", nil)
	prob := e.do("GET", "/v1/tasks/nope", nil)
	for _, tc := range []struct {
		name, method, path string
		r                  reply
		from, to           string // replace from by to in the body; "" keeps it as served
	}{
		{"task", "GET", "/v1/tasks/" + id, done, "", ""},
		{"task with an unknown status", "GET", "/v1/tasks/" + id, done, `"status":"`, `"status":"done","x":"`},
		{"task with an undeclared field", "GET", "/v1/tasks/" + id, done, `"id":`, `"colour":"red","id":`},
		{"task with a time without milliseconds", "GET", "/v1/tasks/" + id, done, `.` + createdMillis(t, done) + `Z"`, `Z"`},
		{"task with a string progress", "GET", "/v1/tasks/" + id, done, `"progress":`, `"progress":"100","x":`},
		{"task without an id", "GET", "/v1/tasks/" + id, done, `"id":`, `"notId":`},
		{"page", "GET", "/v1/tasks", page, "", ""},
		{"page with a wrong schema", "GET", "/v1/tasks", page, `"schema":"/v1/schemas/tasks"`, `"schema":"/v1/schemas/task"`},
		{"page whose task breaks the task schema", "GET", "/v1/tasks", page, `"status":"`, `"status":"done","x":"`},
		{"problem", "GET", "/v1/tasks/nope", prob, "", ""},
		{"problem without errorCode", "GET", "/v1/tasks/nope", prob, `"errorCode":`, `"code":`},
		{"problem with a lower-case errorCode", "GET", "/v1/tasks/nope", prob, `"errorCode":"TASK_NOT_FOUND"`, `"errorCode":"task_not_found"`},
		{"problem with a string status", "GET", "/v1/tasks/nope", prob, `"status":404`, `"status":"404"`},
	} {
		r := tc.r
		if tc.from != "" {
			if !bytes.Contains(r.body, []byte(tc.from)) {
				t.Fatalf("%s: body lacks %q: %s", tc.name, tc.from, r.body)
			}
			r.body = bytes.Replace(r.body, []byte(tc.from), []byte(tc.to), 1)
		}
		err := e.conform(tc.method, tc.path, r)
		if want := tc.from != ""; (err != nil) != want {
			t.Errorf("%s: conform = %v, want an error: %v", tc.name, err, want)
		}
	}
}

// createdMillis is the milliseconds of a task's createdAt, as served.
func createdMillis(t *testing.T, r reply) string {
	t.Helper()
	s, _ := r.json(t)["createdAt"].(string)
	if len(s) != len("2006-01-02T15:04:05.000Z") {
		t.Fatalf("createdAt %q", s)
	}
	return s[20:23]
}
