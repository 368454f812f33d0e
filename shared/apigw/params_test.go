package apigw

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

const (
	listKey = "GET /v1/tasks"
	getKey  = "GET /v1/tasks/{id}"
)

// defaultList is the list query of a request that gives no parameters.
var defaultList = usecase.ListParams{SortKey: task.SortCreated, Desc: true, Limit: DefaultLimit}

// parse parses raw (a query string) as route takes it.
func parse(t *testing.T, route, raw string) (query, error) {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return parseQuery(route, v)
}

// wantRefused checks that err is a query FieldError on param whose reason is reason.
func wantRefused(t *testing.T, raw string, err error, param, reason string) {
	t.Helper()
	var fe *task.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("%q: err = %v, want a *task.FieldError", raw, err)
	}
	want := &task.FieldError{In: task.InQuery, Field: param, Reason: reason}
	if *fe != *want {
		t.Errorf("%q: err = %+v, want %+v", raw, *fe, *want)
	}
	if !errors.Is(err, task.ErrInvalidInput) {
		t.Errorf("%q: err does not wrap ErrInvalidInput", raw)
	}
}

// TestParamsListGood: each list parameter's good values, as the query the use case gets
// and the canonical form the first and next links repeat.
func TestParamsListGood(t *testing.T) {
	t.Parallel()
	with := func(f func(*usecase.ListParams)) usecase.ListParams {
		q := defaultList
		f(&q)
		return q
	}
	for _, c := range []struct {
		raw   string
		list  usecase.ListParams
		canon string
	}{
		{"", defaultList, ""},
		{"limit=1", with(func(q *usecase.ListParams) { q.Limit = 1 }), "limit=1"},
		{"limit=100", with(func(q *usecase.ListParams) { q.Limit = 100 }), "limit=100"},
		{"limit=05", with(func(q *usecase.ListParams) { q.Limit = 5 }), "limit=5"},
		{"marker=abc", with(func(q *usecase.ListParams) { q.Marker = "abc" }), ""},
		{"status=failure", with(func(q *usecase.ListParams) { q.Statuses = []task.Status{task.Failure} }), "status=failure"},
		{"status=success,pending", with(func(q *usecase.ListParams) { q.Statuses = []task.Status{task.Success, task.Pending} }), "status=pending&status=success"},
		{"status=success&status=pending,success", with(func(q *usecase.ListParams) { q.Statuses = []task.Status{task.Success, task.Pending} }), "status=pending&status=success"},
		{"status=+pending+,+failure", with(func(q *usecase.ListParams) { q.Statuses = []task.Status{task.Pending, task.Failure} }), "status=pending&status=failure"},
		{"type=demo", with(func(q *usecase.ListParams) { q.Type = "demo" }), "type=demo"},
		{"type=" + strings.Repeat("t", 100), with(func(q *usecase.ListParams) { q.Type = strings.Repeat("t", 100) }), "type=" + strings.Repeat("t", 100)},
		{"sort_key=createdAt", defaultList, "sort_key=createdAt"},
		{"sort_key=updatedAt", with(func(q *usecase.ListParams) { q.SortKey = task.SortUpdated }), "sort_key=updatedAt"},
		{"sort_dir=asc", with(func(q *usecase.ListParams) { q.Desc = false }), "sort_dir=asc"},
		{"sort_dir=desc", defaultList, "sort_dir=desc"},
		{"owner=u-1", with(func(q *usecase.ListParams) { q.Owner = "u-1" }), "owner=u-1"},
		{"owner=" + strings.Repeat("o", 256), with(func(q *usecase.ListParams) { q.Owner = strings.Repeat("o", 256) }), "owner=" + strings.Repeat("o", 256)},
		{"marker=m&owner=o&sort_dir=asc&sort_key=updatedAt&type=demo&status=failure&limit=3",
			usecase.ListParams{Owner: "o", Statuses: []task.Status{task.Failure}, Type: "demo", SortKey: task.SortUpdated, Limit: 3, Marker: "m"},
			"limit=3&owner=o&sort_dir=asc&sort_key=updatedAt&status=failure&type=demo"},
	} {
		q, err := parse(t, listKey, c.raw)
		if err != nil {
			t.Errorf("%q: %v", c.raw, err)
			continue
		}
		if !reflect.DeepEqual(q.list, c.list) {
			t.Errorf("%q: list = %+v, want %+v", c.raw, q.list, c.list)
		}
		if got := q.canon.Encode(); got != c.canon {
			t.Errorf("%q: canonical = %q, want %q", c.raw, got, c.canon)
		}
		if !q.redirect {
			t.Errorf("%q: redirect default changed", c.raw)
		}
	}
}

// TestParamsListBad: each list parameter's bad values, unknown names and repeats are refused
// naming the parameter, with the reason clients read in the problem's detail.
func TestParamsListBad(t *testing.T) {
	t.Parallel()
	const notOne = "is not one of pending, processing, success, failure, cancelled"
	for _, c := range []struct{ raw, param, reason string }{
		{"limit=0", "limit", "must be a whole number from 1 to 100"},
		{"limit=101", "limit", "must be a whole number from 1 to 100"},
		{"limit=-1", "limit", "must be a whole number from 1 to 100"},
		{"limit=abc", "limit", "must be a whole number from 1 to 100"},
		{"limit=5.0", "limit", "must be a whole number from 1 to 100"},
		{"limit=+5", "limit", "must be a whole number from 1 to 100"}, // + is a space in a query
		{"limit=", "limit", "must not be empty"},
		{"limit=1&limit=2", "limit", "must be given once"},
		{"marker=", "marker", "must not be empty"},
		{"marker=a&marker=b", "marker", "must be given once"},
		{"status=bogus", "status", `"bogus" ` + notOne},
		{"status=", "status", `"" ` + notOne},
		{"status=pending,", "status", `"" ` + notOne},
		{"status=Pending", "status", `"Pending" ` + notOne},
		{"status=pending&status=nope", "status", `"nope" ` + notOne},
		{"type=", "type", "must not be empty"},
		{"type=" + strings.Repeat("t", 101), "type", "must be at most 100 characters"},
		{"type=a&type=b", "type", "must be given once"},
		{"sort_key=created", "sort_key", "must be createdAt or updatedAt"},
		{"sort_key=", "sort_key", "must not be empty"},
		{"sort_key=createdAt&sort_key=createdAt", "sort_key", "must be given once"},
		{"sort_dir=up", "sort_dir", "must be asc or desc"},
		{"sort_dir=ASC", "sort_dir", "must be asc or desc"},
		{"sort_dir=", "sort_dir", "must not be empty"},
		{"owner=", "owner", "must not be empty"},
		{"owner=" + strings.Repeat("o", 257), "owner", "must be at most 256 characters"},
		{"owner=a&owner=b", "owner", "must be given once"},
		{"x=1", "x", "is not a parameter of this call (limit, marker, status, type, sort_key, sort_dir, owner)"},
		{"Limit=3", "Limit", "is not a parameter of this call (limit, marker, status, type, sort_key, sort_dir, owner)"},
		{"redirect=true", "redirect", "is not a parameter of this call (limit, marker, status, type, sort_key, sort_dir, owner)"},
		{"limit=2&x=1", "x", "is not a parameter of this call (limit, marker, status, type, sort_key, sort_dir, owner)"},
	} {
		_, err := parse(t, listKey, c.raw)
		wantRefused(t, c.raw, err, c.param, c.reason)
	}
}

// TestParamsGet: get takes redirect (true by default) and nothing else.
func TestParamsGet(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]bool{"": true, "redirect=true": true, "redirect=false": false, "redirect=1": true, "redirect=0": false, "redirect=FALSE": false} {
		q, err := parse(t, getKey, raw)
		if err != nil || q.redirect != want {
			t.Errorf("%q: redirect = %v, %v; want %v", raw, q.redirect, err, want)
		}
	}
	const only = "unknown or repeated; only redirect=true|false is accepted"
	for _, c := range []struct{ raw, param, reason string }{
		{"redirect=maybe", "redirect", "must be true or false"},
		{"redirect=", "redirect", "must be true or false"},
		{"redirect=true&redirect=true", "redirect", only},
		{"x=1", "x", only},
		{"Redirect=true", "Redirect", only},
		{"limit=2", "limit", only},
		{"redirect=1&x=2", "x", only},
	} {
		_, err := parse(t, getKey, c.raw)
		wantRefused(t, c.raw, err, c.param, c.reason)
	}
}

// TestParamsRoutes: every route but list and get takes no query parameter at all, not even
// list's or get's; list and get accept exactly their own.
func TestParamsRoutes(t *testing.T) {
	t.Parallel()
	for _, r := range routes {
		if r.Path == FallbackPath {
			continue
		}
		var want []string
		switch r.Key() {
		case listKey:
			want = []string{"limit", "marker", "status", "type", "sort_key", "sort_dir", "owner"}
		case getKey:
			want = []string{"redirect"}
		}
		var got []string
		for _, p := range acceptedBy(r.Key()) {
			got = append(got, p.name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s accepts %v, want %v", r.Key(), got, want)
		}
		if len(want) > 0 {
			continue
		}
		if _, err := parse(t, r.Key(), ""); err != nil {
			t.Errorf("%s with no query: %v", r.Key(), err)
		}
		for _, raw := range []string{"x=1", "limit=2", "redirect=true", "status=pending&status=failure"} {
			_, err := parse(t, r.Key(), raw)
			name, _, _ := strings.Cut(raw, "=")
			wantRefused(t, r.Key()+" "+raw, err, name, "this call takes no query parameters")
		}
	}
}

// TestParamsTableNamesRoutes: every route key in the table is a route, and no parameter is
// in it twice.
func TestParamsTableNamesRoutes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.name] {
			t.Errorf("parameter %s is in the table twice", p.name)
		}
		seen[p.name] = true
		if len(p.routes) == 0 {
			t.Errorf("parameter %s is accepted by no route", p.name)
		}
		for _, key := range p.routes {
			if !slices.ContainsFunc(routes, func(r Route) bool { return r.Key() == key }) {
				t.Errorf("parameter %s names %q, which is not a route", p.name, key)
			}
		}
	}
}

// anyone authenticates every request as one tenant.
type anyone struct{}

func (anyone) Authenticate(context.Context, string) (usecase.Principal, error) {
	return usecase.Principal{Tenant: "t"}, nil
}

// TestServeChecksInOrder: a route's body rule and its query are checked in the order the API
// has always answered: a create's media type (415) before its query, the query before a
// retry's or cancel's body. None of these cases reaches the use cases.
func TestServeChecksInOrder(t *testing.T) {
	t.Parallel()
	h := &Handler{authn: anyone{}}
	for _, c := range []struct {
		method, path, query, contentType, body string
		want                                   error
	}{
		{"POST", "/v1/tasks", "x=1", "text/plain", `{}`, errMediaType},
		{"POST", "/v1/tasks", "x=1", "application/json", `{}`, &task.FieldError{In: task.InQuery, Field: "x", Reason: "this call takes no query parameters"}},
		{"PATCH", "/v1/tasks/" + "01JDK6Q8W7C2N3X9RT0V5M4B1A", "x=1", "", `junk`, &task.FieldError{In: task.InQuery, Field: "x", Reason: "this call takes no query parameters"}},
		{"DELETE", "/v1/tasks/" + "01JDK6Q8W7C2N3X9RT0V5M4B1A", "", "", `junk`, &task.FieldError{Field: "body", Reason: "must be empty"}},
		{"GET", "/v1/tasks", "limit=0", "", "", &task.FieldError{In: task.InQuery, Field: "limit", Reason: "must be a whole number from 1 to 100"}},
		{"GET", "/v1/tasks", "%zz", "", "", &task.FieldError{In: task.InQuery, Field: "query", Reason: "malformed query string"}},
	} {
		ev := &events.APIGatewayV2HTTPRequest{RawPath: c.path, RawQueryString: c.query, Body: c.body, Headers: map[string]string{"content-type": c.contentType}}
		ev.RequestContext.HTTP.Method = c.method
		_, err := h.serve(context.Background(), ev)
		var fe, want *task.FieldError
		switch {
		case errors.As(c.want, &want):
			if !errors.As(err, &fe) || *fe != *want {
				t.Errorf("%s %s?%s: %v, want %v", c.method, c.path, c.query, err, c.want)
			}
		case !errors.Is(err, c.want):
			t.Errorf("%s %s?%s: %v, want %v", c.method, c.path, c.query, err, c.want)
		}
	}
}
