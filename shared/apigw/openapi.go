package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/tasklane/tasklane/shared/strictjson"
)

// The OpenAPI 3.1 document served at GET /v1/openapi.json is built, not written: its paths
// and methods are the route table's, its query parameters the parameter table's (params.go),
// its 404 and 415 answers follow from each route's path and body rule, and its schemas are
// the very JSON Schemas the API serves (schema/*.json, their $defs hoisted into
// components). What the tables do not say of a route is in operations below: the one place
// to describe a new route, and a test (openapi_test.go) fails until a route has its entry.
// The golden file shared/apigw/testdata/golden/openapi.json shows every change to the
// document in review (`go test ./shared/apigw -run OpenAPI -update` rewrites it).

// operation is what the document says of one route beyond the tables.
type operation struct {
	id, summary string
	// headers are the request headers the route reads, by name in parameterDefs.
	headers []string
	// body is the request body's schema (a component name), "" for none.
	body    string
	replies []reply
	// problems are the problem+json statuses of this route besides those every route can
	// answer (commonProblems) and those its path and body rule imply (problemsOf).
	problems []int
}

// reply is one success (or 3xx, 304) answer of an operation.
type reply struct {
	status int
	// schema is the JSON body's component schema; "" for no body.
	schema string
	// headers are always sent; optional ones only sometimes (both by name in headerDefs).
	headers, optional []string
}

// commonProblems are the problem+json statuses any route can answer: a bad or unknown query
// parameter (400), no valid token (401), a body over 256 KiB (413), an internal error (500).
var commonProblems = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusInternalServerError}

// taskAccepted is the 202 that accepted a change (accepted).
var taskAccepted = reply{status: http.StatusAccepted, schema: "Task", headers: []string{"Location", "Content-Location"}, optional: []string{"Retry-After"}}

// operations describes each route of the table by route key (the catch-all route is not in
// the document: it only answers 404 and 405).
var operations = map[string]operation{
	"POST /v1/tasks": {id: "createTask", summary: "Create a task",
		headers: []string{"Idempotency-Key"}, body: "CreateTask",
		replies: []reply{{status: http.StatusAccepted, schema: "Task", headers: []string{"Location", "Content-Location"},
			optional: []string{"Retry-After", "Idempotent-Replayed"}}},
		problems: []int{http.StatusForbidden, http.StatusUnprocessableEntity}},
	"GET /v1/tasks": {id: "listTasks", summary: "List tasks, newest first",
		replies:  []reply{{status: http.StatusOK, schema: "Tasks"}},
		problems: []int{http.StatusForbidden}},
	"GET /v1/tasks/{id}": {id: "getTask", summary: "Get a task; 303 to its result once it succeeded",
		headers: []string{"If-None-Match", "Prefer"},
		replies: []reply{
			{status: http.StatusOK, schema: "Task", headers: getHeaders, optional: getOptional},
			{status: http.StatusSeeOther, schema: "Task", headers: append([]string{"Location"}, getHeaders...), optional: getOptional},
			{status: http.StatusNotModified, headers: getHeaders, optional: getOptional},
		}},
	"GET /v1/tasks/{id}/result": {id: "getTaskResult", summary: "Get a succeeded task's result",
		replies:  []reply{{status: http.StatusOK, schema: "Result", headers: []string{"ETag"}}},
		problems: []int{http.StatusConflict}},
	"PATCH /v1/tasks/{id}": {id: "retryTask", summary: "Retry a failed task (empty body)",
		replies: []reply{taskAccepted}, problems: []int{http.StatusConflict}},
	"POST /v1/tasks/{id}/retry": {id: "retryTaskPost", summary: "Retry a failed task",
		replies: []reply{taskAccepted}, problems: []int{http.StatusConflict}},
	"DELETE /v1/tasks/{id}": {id: "cancelTask", summary: "Cancel a pending or processing task",
		replies: []reply{taskAccepted}, problems: []int{http.StatusConflict}},
	"POST /v1/tasks/{id}/cancel": {id: "cancelTaskPost", summary: "Cancel a pending or processing task",
		replies: []reply{taskAccepted}, problems: []int{http.StatusConflict}},
	"GET /v1/schemas/task": {id: "getTaskSchema", summary: "The JSON Schema of a task",
		replies: []reply{{status: http.StatusOK, schema: "JSONSchema"}}},
	"GET /v1/schemas/tasks": {id: "getTasksSchema", summary: "The JSON Schema of a list page",
		replies: []reply{{status: http.StatusOK, schema: "JSONSchema"}}},
	"GET /v1/task-types": {id: "listTaskTypes", summary: "The registered task types",
		replies: []reply{{status: http.StatusOK, schema: "TaskTypes"}}},
	"GET /v1/openapi.json": {id: "getOpenAPI", summary: "This OpenAPI document",
		replies: []reply{{status: http.StatusOK, schema: "OpenAPI"}}},
	"POST /v1/callbacks/{token}": {id: "reportCallback", summary: "Report a callback step (heartbeat, succeed, fail); the token is the only credential",
		body:     "CallbackReport",
		replies:  []reply{{status: http.StatusOK, schema: "CallbackAnswer"}},
		problems: []int{http.StatusConflict}},
}

var (
	getHeaders  = []string{"ETag", "Cache-Control", "Content-Location"}
	getOptional = []string{"Retry-After", "Expires", "Preference-Applied"}
)

// pathParams are the routes' path parameters (each in parameterDefs).
var pathParams = []string{"id", "token"}

// parameterDefs are the request headers and the path parameters, as OpenAPI parameters.
var parameterDefs = map[string]map[string]any{
	"id": {"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"},
		"description": "The task's id (a ULID); anything else is a 404"},
	"token": {"name": "token", "in": "path", "required": true, "schema": map[string]any{"type": "string"},
		"description": "The callback's sealed token (from the callback's url); a forged or ended one is a 404"},
	"Idempotency-Key": {"name": "Idempotency-Key", "in": "header",
		"schema":      map[string]any{"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
		"description": "The same key with the same body within 24 h replays the original task; with another body it is a 422"},
	"If-None-Match": {"name": "If-None-Match", "in": "header", "schema": map[string]any{"type": "string"},
		"description": "The task's ETag: 304 while it is unchanged (and, with Prefer: wait, the wait is for a change)"},
	"Prefer": {"name": "Prefer", "in": "header", "schema": map[string]any{"type": "string", "examples": []any{"wait=20"}},
		"description": "RFC 7240 wait=N (1..20 s, more is 20): while the task is not terminal (and matches If-None-Match), wait up to N s for it to change"},
}

// querySchemas are the schemas of the parameter table's parameters, by name.
var querySchemas = map[string]map[string]any{
	"limit":  {"type": "integer", "minimum": 1, "maximum": MaxLimit, "default": DefaultLimit},
	"marker": {"type": "string", "description": "Opaque, from a page's next link"},
	"status": {"type": "array", "items": map[string]any{"type": "string"},
		"description": "Statuses to list (pending, processing, success, failure, cancelled): repeated or comma-separated"},
	"type":     {"type": "string", "maxLength": 100},
	"sort_key": {"enum": []any{"createdAt", "updatedAt"}, "default": "createdAt"},
	"sort_dir": {"enum": []any{"asc", "desc"}, "default": "desc"},
	"owner":    {"type": "string", "maxLength": 256, "description": "The tenant to list; only an admin may name another"},
	"redirect": {"type": "boolean", "default": true, "description": "false: a succeeded task answers 200, not 303"},
}

// headerDefs are the response headers, by name.
var headerDefs = map[string]map[string]any{
	"X-Request-Id":        {"description": "The client's X-Request-Id if it sent a sane one, else the request's own", "schema": map[string]any{"type": "string", "minLength": 1}},
	"Location":            {"description": "The task's URL (202), or its result's (303)", "schema": map[string]any{"type": "string", "format": "uri-reference"}},
	"Content-Location":    {"description": "The task's URL", "schema": map[string]any{"type": "string", "format": "uri-reference"}},
	"Retry-After":         {"description": "Seconds until the task is likely to change; sent while it is not terminal", "schema": map[string]any{"type": "string", "pattern": "^([1-9]|[1-5][0-9]|60)$"}},
	"ETag":                {"description": "Changes on every stored change of the task", "schema": map[string]any{"type": "string", "pattern": "^\"[^\"]+\"$"}},
	"Cache-Control":       {"schema": map[string]any{"const": "no-cache"}},
	"Expires":             {"description": "When the task is gone (HTTP-date of expiresAt), once it is set", "schema": map[string]any{"type": "string", "minLength": 1}},
	"Preference-Applied":  {"description": "The wait that was honoured (RFC 7240)", "schema": map[string]any{"type": "string", "pattern": "^wait=([1-9]|1[0-9]|20)$"}},
	"Idempotent-Replayed": {"description": "The create was a replay of an earlier one with the same Idempotency-Key", "schema": map[string]any{"const": "true"}},
	"WWW-Authenticate":    {"description": "Bearer, with error=\"invalid_token\" for a refused token (RFC 6750)", "schema": map[string]any{"type": "string", "pattern": "^Bearer"}},
}

// otherSchemas are the components that are not served schema documents.
var otherSchemas = map[string]any{
	"Result":     map[string]any{"description": "The task's result, as its type defines it ({} for none)"},
	"JSONSchema": map[string]any{"type": "object", "description": "A JSON Schema (draft 2020-12) document"},
	"OpenAPI":    map[string]any{"type": "object", "required": []any{"openapi", "info", "paths"}, "description": "An OpenAPI 3.1 document"},
	"TaskType": map[string]any{"type": "object", "additionalProperties": false,
		"required": []any{"name", "description", "subTasks", "maxAttempts", "retryable"},
		"properties": map[string]any{
			"name":        map[string]any{"type": "string"},
			"description": map[string]any{"type": "string"},
			"subTasks":    map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "The names of the default plan's subtasks"},
			"maxAttempts": map[string]any{"type": "integer", "minimum": 1},
			"retryable":   map[string]any{"type": "boolean"},
			// A catalog type's (TaskTypeView): its steps and the schema its input is checked
			// against.
			"steps": map[string]any{"type": "array", "items": map[string]any{"type": "object", "additionalProperties": false,
				"required": []any{"name", "executor"},
				"properties": map[string]any{
					"name":           map[string]any{"type": "string"},
					"description":    map[string]any{"type": "string"},
					"executor":       map[string]any{"type": "string", "enum": []any{"lambda", "http", "callback", "wait"}},
					"timeoutSeconds": map[string]any{"type": "integer", "minimum": 1},
					"backoffSeconds": map[string]any{"type": "integer", "minimum": 0},
				}}},
			"inputSchema": map[string]any{"$ref": "#/components/schemas/JSONSchema"},
		}},
	// CallbackReport is callbackBody; CallbackAnswer is CallbackAnswer (shared/apigw/callback.go).
	"CallbackReport": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"action"},
		"properties": map[string]any{
			"action":   map[string]any{"enum": []any{"heartbeat", "succeed", "fail"}},
			"progress": map[string]any{"type": "integer", "minimum": 0, "maximum": 100},
			"message":  map[string]any{"type": "string", "maxLength": 1000},
			"output":   map[string]any{"description": "The step's output (succeed)"},
			"error": map[string]any{"type": "object", "additionalProperties": false,
				"properties": map[string]any{"errorCode": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "retryable": map[string]any{"type": "boolean"}}},
		}},
	"CallbackAnswer": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"name", "status", "attempts", "index", "task"},
		"properties": map[string]any{
			"name": map[string]any{"type": "string"}, "description": map[string]any{"type": "string"},
			"status":    map[string]any{"enum": []any{"pending", "processing", "success", "failure", "cancelled"}},
			"attempts":  map[string]any{"type": "integer", "minimum": 0},
			"startedAt": map[string]any{"type": "string"}, "finishedAt": map[string]any{"type": "string"}, "waitUntil": map[string]any{"type": "string"},
			"output":   map[string]any{"description": "What the step returned"},
			"callback": map[string]any{"type": "object", "description": "The attempt's callback, while it runs"},
			"index":    map[string]any{"type": "integer", "minimum": 0},
			"task": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"id", "status", "cancelRequested", "progress"},
				"properties": map[string]any{"id": map[string]any{"type": "string"}, "status": map[string]any{"type": "string"},
					"cancelRequested": map[string]any{"type": "boolean"}, "progress": map[string]any{"type": "integer", "minimum": 0, "maximum": 100}}},
			"nextCallback": map[string]any{"type": "object", "description": "The next step's callback (a service task), when the report started it"},
		}},
	"TaskTypes": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"taskTypes"},
		"properties": map[string]any{"taskTypes": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/TaskType"}}}},
}

// schemaDoc is a schema document that becomes a component: its component name, the $ref
// it is known by ($id) where it has one, and its text.
type schemaDoc struct {
	name, id string
	doc      *[]byte
}

// servedSchemas are the schema documents of the components.
var servedSchemas = []schemaDoc{
	{"Task", "/v1/schemas/task", &taskSchema},
	{"Tasks", "/v1/schemas/tasks", &tasksSchema},
	{"Problem", "", &problemSchema},
	{"CreateTask", "", &createSchema},
}

// OpenAPI returns the document served at /v1/openapi.json.
var OpenAPI = sync.OnceValues(buildOpenAPI)

func (h *Handler) openapi(_ context.Context, _ *request) (*response, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err // a 500; the tests keep it from happening
	}
	return &response{status: http.StatusOK, raw: doc, headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func buildOpenAPI() ([]byte, error) {
	schemas := map[string]any{}
	for name, s := range otherSchemas {
		schemas[name] = s
	}
	for _, s := range servedSchemas {
		if err := hoist(schemas, s.name, *s.doc); err != nil {
			return nil, err
		}
	}
	params := map[string]any{}
	for name, p := range parameterDefs {
		params[name] = p
	}
	for _, p := range queryParams() {
		params["query."+p.name] = p.def
	}
	headers := map[string]any{}
	for name, h := range headerDefs {
		headers[name] = h
	}
	paths := map[string]any{}
	for _, r := range routes {
		if r.Path == FallbackPath {
			continue
		}
		op, ok := operations[r.Key()]
		if !ok {
			return nil, fmt.Errorf("route %s has no entry in apigw's operations (openapi.go)", r.Key())
		}
		item, _ := paths[r.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = op.document(r)
	}
	for key := range operations {
		if !slices.ContainsFunc(routes, func(r Route) bool { return r.Key() == key }) {
			return nil, fmt.Errorf("apigw's operations describe %s, which the route table lacks", key)
		}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Tasklane tasks API",
			"version": "1",
			"description": "Asynchronous tasks: create, poll (with Prefer: wait), list, cancel, retry. Every error is " +
				"application/problem+json with a stable errorCode; every response carries X-Request-Id.",
		},
		"servers":  []any{map[string]any{"url": "/"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas":    schemas,
			"parameters": params,
			"headers":    headers,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "A JWT of the deployment's issuer; locally, dev:<tenant>[:<roles>]"}},
		},
	}
	raw, err := strictjson.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// queryParam is one parameter of the table as an OpenAPI parameter.
type queryParam struct {
	name string
	def  map[string]any
}

// queryParams turns the parameter table into OpenAPI parameters (a repeatable one is an exploded
// array).
func queryParams() []queryParam {
	var out []queryParam
	for _, p := range params {
		def := map[string]any{"name": p.name, "in": "query", "schema": querySchemas[p.name]}
		if p.repeatable {
			def["style"], def["explode"] = "form", true
		}
		out = append(out, queryParam{p.name, def})
	}
	return out
}

// document is the operation object of route r.
func (op operation) document(r Route) map[string]any {
	var params []any
	for _, p := range pathParams {
		if strings.Contains(r.Path, "{"+p+"}") {
			params = append(params, ref("parameters", p))
		}
	}
	for _, h := range op.headers {
		params = append(params, ref("parameters", h))
	}
	params = append(params, map[string]any{"name": "X-Request-Id", "in": "header", "schema": map[string]any{"type": "string", "maxLength": 200},
		"description": "Echoed in the response when printable ASCII"})
	for _, p := range acceptedBy(r.Key()) {
		params = append(params, ref("parameters", "query."+p.name))
	}
	out := map[string]any{"operationId": op.id, "summary": op.summary, "parameters": params}
	if op.body != "" {
		out["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": ref("schemas", op.body)}}}
	}
	responses := map[string]any{}
	for _, rep := range op.replies {
		hs := map[string]any{"X-Request-Id": requiredHeader("X-Request-Id")}
		for _, h := range rep.headers {
			hs[h] = requiredHeader(h)
		}
		for _, h := range rep.optional {
			hs[h] = ref("headers", h)
		}
		resp := map[string]any{"description": http.StatusText(rep.status), "headers": hs}
		if rep.schema != "" {
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": ref("schemas", rep.schema)}}
		}
		responses[strconv.Itoa(rep.status)] = resp
	}
	for _, status := range op.problemsOf(r) {
		hs := map[string]any{"X-Request-Id": requiredHeader("X-Request-Id")}
		if status == http.StatusUnauthorized {
			hs["WWW-Authenticate"] = requiredHeader("WWW-Authenticate")
		}
		responses[strconv.Itoa(status)] = map[string]any{"description": http.StatusText(status) + " (" + strings.Join(codesOf(status), ", ") + ")",
			"headers": hs,
			"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("schemas", "Problem")}}}
	}
	out["responses"] = responses
	return out
}

// problemsOf is every problem status route r can answer.
func (op operation) problemsOf(r Route) []int {
	out := append(slices.Clone(commonProblems), op.problems...)
	for _, p := range pathParams {
		if strings.Contains(r.Path, "{"+p+"}") {
			out = append(out, http.StatusNotFound) // an unknown task, or a forged or ended callback
		}
	}
	if r.body == jsonBody {
		out = append(out, http.StatusUnsupportedMediaType)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// codesOf lists the problem table's errorCodes of status.
func codesOf(status int) []string {
	var out []string
	for _, r := range append(slices.Clip(problems), internal) {
		if r.status == status && !slices.Contains(out, r.code) {
			out = append(out, r.code)
		}
	}
	return out
}

// requiredHeader is the response header name, always sent. (OpenAPI lets a reference to a
// shared header carry no "required", so a required header is written out in full.)
func requiredHeader(name string) map[string]any {
	h := headerDefs[name]
	out := map[string]any{"required": true, "schema": h["schema"]}
	if d, ok := h["description"]; ok {
		out["description"] = d
	}
	return out
}

func ref(kind, name string) map[string]any {
	return map[string]any{"$ref": "#/components/" + kind + "/" + name}
}

// hoist adds the schema document raw to schemas as name, with its $defs as components of
// their own (capitalised: "#/$defs/status" becomes "#/components/schemas/Status") and its
// references to served schemas pointing at their components. Tools that read OpenAPI
// resolve component references more reliably than $defs inside a component or a relative
// $id.
func hoist(schemas map[string]any, name string, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("schema %s: %w", name, err)
	}
	delete(doc, "$schema")
	delete(doc, "$id")
	defs, _ := doc["$defs"].(map[string]any)
	delete(doc, "$defs")
	add := func(n string, s any) error {
		if _, taken := schemas[n]; taken {
			return fmt.Errorf("schema %s: component %s is defined twice", name, n)
		}
		if err := rewriteRefs(s); err != nil {
			return fmt.Errorf("schema %s: %w", name, err)
		}
		schemas[n] = s
		return nil
	}
	for d, s := range defs {
		if err := add(upperFirst(d), s); err != nil {
			return err
		}
	}
	return add(name, doc)
}

// rewriteRefs points v's references at components.
func rewriteRefs(v any) error {
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["$ref"].(string); ok {
			switch {
			case strings.HasPrefix(r, "#/$defs/"):
				v["$ref"] = "#/components/schemas/" + upperFirst(strings.TrimPrefix(r, "#/$defs/"))
			default:
				i := slices.IndexFunc(servedSchemas, func(s schemaDoc) bool { return s.id != "" && s.id == r })
				if i < 0 {
					return fmt.Errorf("unknown $ref %q", r)
				}
				v["$ref"] = "#/components/schemas/" + servedSchemas[i].name
			}
		}
		for _, e := range v {
			if err := rewriteRefs(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := rewriteRefs(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
