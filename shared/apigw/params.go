package apigw

import (
	"fmt"
	"net/url"
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

// listParams validates a list's query and returns it with its canonical form (without the
// marker), from which first and next are built.
func listParams(v url.Values) (usecase.ListParams, url.Values, error) {
	q := usecase.ListParams{SortKey: task.SortCreated, Desc: true, Limit: DefaultLimit}
	canon := url.Values{}
	single := func(k string) (string, error) {
		if len(v[k]) != 1 {
			return "", &task.FieldError{In: task.InQuery, Field: k, Reason: "must be given once"}
		}
		if v[k][0] == "" {
			return "", &task.FieldError{In: task.InQuery, Field: k, Reason: "must not be empty"}
		}
		return v[k][0], nil
	}
	for k := range v {
		switch k {
		case "limit":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > MaxLimit {
				return q, nil, &task.FieldError{In: task.InQuery, Field: k, Reason: fmt.Sprintf("must be a whole number from 1 to %d", MaxLimit)}
			}
			q.Limit = n
			canon.Set(k, strconv.Itoa(n))
		case "marker":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			q.Marker = s
		case "status":
			seen := map[task.Status]bool{}
			for _, raw := range v[k] {
				for _, s := range strings.Split(raw, ",") {
					st := task.Status(strings.TrimSpace(s))
					if !st.Valid() {
						return q, nil, &task.FieldError{In: task.InQuery, Field: k, Reason: fmt.Sprintf("%q is not one of pending, processing, success, failure, cancelled", s)}
					}
					if !seen[st] {
						seen[st] = true
						q.Statuses = append(q.Statuses, st)
					}
				}
			}
			for _, st := range task.Statuses {
				if seen[st] {
					canon.Add(k, string(st))
				}
			}
		case "type":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			if len(s) > 100 {
				return q, nil, &task.FieldError{In: task.InQuery, Field: k, Reason: "must be at most 100 characters"}
			}
			q.Type = s
			canon.Set(k, s)
		case "sort_key":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			if s != string(task.SortCreated) && s != string(task.SortUpdated) {
				return q, nil, &task.FieldError{In: task.InQuery, Field: k, Reason: "must be createdAt or updatedAt"}
			}
			q.SortKey = task.SortKey(s)
			canon.Set(k, s)
		case "sort_dir":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			if s != "asc" && s != "desc" {
				return q, nil, &task.FieldError{In: task.InQuery, Field: k, Reason: "must be asc or desc"}
			}
			q.Desc = s == "desc"
			canon.Set(k, s)
		case "owner":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			if len(s) > 256 {
				return q, nil, &task.FieldError{In: task.InQuery, Field: k, Reason: "must be at most 256 characters"}
			}
			q.Owner = s
			canon.Set(k, s)
		default:
			return q, nil, &task.FieldError{In: task.InQuery, Field: k, Reason: "is not a parameter of this call (limit, marker, status, type, sort_key, sort_dir, owner)"}
		}
	}
	return q, canon, nil
}

func noQuery(r *request) error {
	for k := range r.query {
		return &task.FieldError{In: task.InQuery, Field: k, Reason: "this call takes no query parameters"}
	}
	return nil
}
