// Package apigw is the API Gateway adapter: it turns HTTP API (payload 2.0) events into calls
// of the usecase.Service and their results and errors into responses. One table of routes
// says which function serves what and what body each takes (template.yaml is checked against
// it); one table of query parameters says which route accepts which (params.go); one table
// of problems maps every error to a status and errorCode (problem.go). handler.go is the
// Lambda entry point and the request and response plumbing; each resource's operations have
// their own file (create.go, get.go, list.go, actions.go, discovery.go), and body.go reads
// request bodies.
package apigw

import (
	"context"
	"strings"

	"github.com/tasklane/tasklane/shared/callback"
	"github.com/tasklane/tasklane/shared/function"
)

// Route is one API route: method and path as API Gateway writes a route key, and the
// function that serves it.
type Route struct {
	Method   string
	Path     string
	Function string
	body     bodyRule
	serve    func(h *Handler, ctx context.Context, r *request) (*response, error)
}

// bodyRule is what a route takes as a request body. Its query parameters are in the
// parameter table (params.go).
type bodyRule int

const (
	anyBody  bodyRule = iota // not read
	jsonBody                 // a JSON media type (else 415); the operation decodes it
	noBody                   // none, or an empty JSON object
)

// public reports whether the route takes no credentials: the callbacks, whose token is the
// credential (shared/callback), so that an outside service needs nothing but the URL.
func (r Route) Public() bool { return r.Path == callback.Path }

// Key is the route key API Gateway puts in the event ("GET /v1/tasks/{id}").
func (r Route) Key() string { return r.Method + " " + r.Path }

// FallbackPath is the greedy catch-all route's path: requests no other route takes (unknown
// paths, unsupported methods) reach the get function, which answers 404 or 405 as problems.
const FallbackPath = "/{proxy+}"

// routes is the route table. The result route goes to the get function (same read-only
// permissions); the discovery routes go to the list function (read-only, warm from lists).
// It is filled in init because its operations refer back to it.
var routes []Route

func init() {
	routes = []Route{
		{"POST", "/v1/tasks", function.Create, jsonBody, (*Handler).create},
		{"GET", "/v1/tasks", function.List, anyBody, (*Handler).list},
		{"GET", "/v1/tasks/{id}", function.Get, anyBody, (*Handler).get},
		{"GET", "/v1/tasks/{id}/result", function.Get, anyBody, (*Handler).result},
		{"PATCH", "/v1/tasks/{id}", function.Retry, noBody, (*Handler).retry},
		{"POST", "/v1/tasks/{id}/retry", function.Retry, noBody, (*Handler).retry},
		{"DELETE", "/v1/tasks/{id}", function.Cancel, noBody, (*Handler).cancel},
		{"POST", "/v1/tasks/{id}/cancel", function.Cancel, noBody, (*Handler).cancel},
		{"GET", "/v1/schemas/task", function.List, anyBody, (*Handler).schemaTask},
		{"GET", "/v1/schemas/tasks", function.List, anyBody, (*Handler).schemaTasks},
		{"GET", "/v1/task-types", function.List, anyBody, (*Handler).taskTypes},
		{"GET", "/v1/openapi.json", function.List, anyBody, (*Handler).openapi},
		{"POST", callback.Path, function.Callback, jsonBody, (*Handler).callback},
		{"ANY", FallbackPath, function.Get, anyBody, (*Handler).fallback},
	}
}

// Routes returns the route table (a copy), for the local runner and the template drift test.
func Routes() []Route {
	return append([]Route(nil), routes...)
}

// Functions returns the API function names, in route-table order, each once.
func Functions() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range routes {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return out
}

// Match finds the route API Gateway would choose for method and path, with the path
// parameters: an exact method and path-template match, else the catch-all route.
func Match(method, path string) (Route, map[string]string) {
	for _, r := range routes {
		if r.Path == FallbackPath {
			continue
		}
		if params, ok := matchPath(r.Path, path); ok && r.Method == method {
			return r, params
		}
	}
	fb := routes[len(routes)-1]
	return fb, map[string]string{"proxy": strings.TrimPrefix(path, "/")}
}

// allowed lists the methods routed for path (for a 405's Allow header); empty when no route
// has that path.
func allowed(path string) []string {
	var out []string
	for _, r := range routes {
		if r.Path == FallbackPath {
			continue
		}
		if _, ok := matchPath(r.Path, path); ok {
			out = append(out, r.Method)
		}
	}
	return out
}

// matchPath matches a path against a template whose segments may be {name}.
func matchPath(template, path string) (map[string]string, bool) {
	// Only the leading slash is dropped: API Gateway routes "/v1/tasks/" apart from
	// "/v1/tasks", and so must the local runner.
	ts := strings.Split(strings.TrimPrefix(template, "/"), "/")
	ps := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(ts) != len(ps) {
		return nil, false
	}
	params := map[string]string{}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if ps[i] == "" {
				return nil, false
			}
			params[t[1:len(t)-1]] = ps[i]
			continue
		}
		if t != ps[i] {
			return nil, false
		}
	}
	return params, true
}
