package apigw

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// Defaults and bounds of list parameters.
const (
	DefaultLimit = 25
	MaxLimit     = 100
)

// query is what a request's query parameters say, with the defaults of those it does not
// give. Each route reads its own part.
type query struct {
	// list is GET /v1/tasks's query.
	list usecase.ListParams
	// canon is the list's parameters in canonical form, without the marker: its first and
	// next links repeat them.
	canon url.Values
	// redirect is GET /v1/tasks/{id}'s: whether a succeeded task answers 303 to its result.
	redirect bool
}

// param is one query parameter: its name, whether it may be given more than once, how one
// value is read into the query (returning why it is bad), and the routes, by route key,
// that accept it. A route accepts no parameter the table does not give it.
type param struct {
	name       string
	repeatable bool
	// emptyOK hands an empty value to read, which says what is wrong with it, rather than
	// refusing it as empty.
	emptyOK bool
	// usage shows the parameter's values, for a route that accepts only this one.
	usage  string
	read   func(q *query, v string) error
	routes []string
}

var (
	listRoute = []string{"GET /v1/tasks"}
	getRoute  = []string{"GET /v1/tasks/{id}"}
)

// params is the table of every query parameter of the API. Unknown parameters, repeated
// ones that are not repeatable and bad values are refused as 400 INVALID_PARAMETER naming
// the parameter (a *task.FieldError in the query).
var params = []param{
	{name: "limit", routes: listRoute, read: func(q *query, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return fmt.Errorf("must be a whole number from 1 to %d", MaxLimit)
		}
		q.list.Limit = n
		q.canon.Set("limit", strconv.Itoa(n))
		return nil
	}},
	{name: "marker", routes: listRoute, read: func(q *query, v string) error {
		q.list.Marker = v
		return nil
	}},
	{name: "status", routes: listRoute, repeatable: true, emptyOK: true, read: readStatus},
	{name: "type", routes: listRoute, read: func(q *query, v string) error {
		if len(v) > 100 {
			return errors.New("must be at most 100 characters")
		}
		q.list.Type = v
		q.canon.Set("type", v)
		return nil
	}},
	{name: "sort_key", routes: listRoute, read: func(q *query, v string) error {
		if v != string(task.SortCreated) && v != string(task.SortUpdated) {
			return errors.New("must be createdAt or updatedAt")
		}
		q.list.SortKey = task.SortKey(v)
		q.canon.Set("sort_key", v)
		return nil
	}},
	{name: "sort_dir", routes: listRoute, read: func(q *query, v string) error {
		if v != "asc" && v != "desc" {
			return errors.New("must be asc or desc")
		}
		q.list.Desc = v == "desc"
		q.canon.Set("sort_dir", v)
		return nil
	}},
	{name: "owner", routes: listRoute, read: func(q *query, v string) error {
		if len(v) > 256 {
			return errors.New("must be at most 256 characters")
		}
		q.list.Owner = v
		q.canon.Set("owner", v)
		return nil
	}},
	{name: "redirect", routes: getRoute, emptyOK: true, usage: "redirect=true|false", read: func(q *query, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		q.redirect = b
		return nil
	}},
}

// readStatus reads one status value, a comma-separated list of statuses. Every value of the
// parameter adds to the filter; the canonical form lists each status once, in the order of
// task.Statuses.
func readStatus(q *query, v string) error {
	for _, s := range strings.Split(v, ",") {
		st := task.Status(strings.TrimSpace(s))
		if !st.Valid() {
			return fmt.Errorf("%q is not one of pending, processing, success, failure, cancelled", s)
		}
		if !slices.Contains(q.list.Statuses, st) {
			q.list.Statuses = append(q.list.Statuses, st)
		}
	}
	q.canon.Del("status")
	for _, st := range task.Statuses {
		if slices.Contains(q.list.Statuses, st) {
			q.canon.Add("status", string(st))
		}
	}
	return nil
}

// parseQuery reads v as route (a route key) takes it, through the params table. Parameters
// are looked at in name order, so that of several bad ones the same is always named.
func parseQuery(route string, v url.Values) (query, error) {
	q := query{
		list:     usecase.ListParams{SortKey: task.SortCreated, Desc: true, Limit: DefaultLimit},
		canon:    url.Values{},
		redirect: true,
	}
	accepted := acceptedBy(route)
	for _, name := range slices.Sorted(maps.Keys(v)) {
		bad := func(reason string) error { return &task.FieldError{In: task.InQuery, Field: name, Reason: reason} }
		i := slices.IndexFunc(accepted, func(p param) bool { return p.name == name })
		if i < 0 {
			return q, bad(unknownReason(accepted))
		}
		p := accepted[i]
		if !p.repeatable && len(v[name]) > 1 {
			return q, bad(repeatedReason(accepted))
		}
		for _, s := range v[name] {
			if s == "" && !p.emptyOK {
				return q, bad("must not be empty")
			}
			if err := p.read(&q, s); err != nil {
				return q, bad(err.Error())
			}
		}
	}
	return q, nil
}

// acceptedBy lists the parameters route accepts, in table order.
func acceptedBy(route string) []param {
	var out []param
	for _, p := range params {
		if slices.Contains(p.routes, route) {
			out = append(out, p)
		}
	}
	return out
}

// unknownReason tells a client what a route accepts instead: nothing, its one parameter's
// usage, or the names of its parameters.
func unknownReason(accepted []param) string {
	switch len(accepted) {
	case 0:
		return "this call takes no query parameters"
	case 1:
		return "unknown or repeated; only " + accepted[0].usage + " is accepted"
	}
	names := make([]string, len(accepted))
	for i, p := range accepted {
		names[i] = p.name
	}
	return "is not a parameter of this call (" + strings.Join(names, ", ") + ")"
}

// repeatedReason is said of a parameter given twice that is not repeatable.
func repeatedReason(accepted []param) string {
	if len(accepted) == 1 {
		return unknownReason(accepted)
	}
	return "must be given once"
}
