package apigw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// Defaults and bounds of list parameters.
const (
	DefaultLimit = 25
	MaxLimit     = 100
)

// createBody is the create request document; unknown fields are refused.
type createBody struct {
	Type      *string         `json:"type"`
	Name      *string         `json:"name"`
	Input     json.RawMessage `json:"input"`
	Resources []task.Resource `json:"resources"`
	// RetentionSeconds takes any JSON number without a fraction (3600, 3.6e3); a string
	// ("3600") is refused.
	RetentionSeconds *int64 `json:"retentionSeconds"`
}

func (h *Handler) create(ctx context.Context, r *request) (*response, error) {
	if err := jsonContent(r); err != nil {
		return nil, err
	}
	if err := noQuery(r); err != nil {
		return nil, err
	}
	var b createBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	spec, err := b.spec()
	if err != nil {
		return nil, err
	}
	key := header(r.ev, "Idempotency-Key")
	if _, present := lookupHeader(r.ev, "Idempotency-Key"); present && (key == "" || len(key) > 255 || !printable(key)) {
		return nil, &usecase.ValidationError{Field: "Idempotency-Key", Reason: "must be 1 to 255 printable ASCII characters"}
	}
	created, err := h.svc.Create(ctx, r.principal, usecase.CreateRequest{Spec: spec, IdempotencyKey: key, BodyHash: h.specHash(spec)})
	if err != nil {
		return nil, err
	}
	resp := h.accepted(&created.Task)
	if created.Replayed {
		resp.headers["Idempotent-Replayed"] = "true"
	}
	return resp, nil
}

// spec validates the body's fields.
func (b *createBody) spec() (task.Spec, error) {
	if b.Type == nil || *b.Type == "" {
		return task.Spec{}, &usecase.ValidationError{Field: "type", Reason: "is required"}
	}
	if len(*b.Type) > 100 {
		return task.Spec{}, &usecase.ValidationError{Field: "type", Reason: "must be at most 100 characters"}
	}
	s := task.Spec{Type: *b.Type, Input: b.Input, Resources: b.Resources}
	if b.Name != nil {
		if len(*b.Name) > 256 {
			return task.Spec{}, &usecase.ValidationError{Field: "name", Reason: "must be at most 256 characters"}
		}
		s.Name = *b.Name
	}
	if len(b.Input) > 0 && string(b.Input) != "null" && b.Input[0] != '{' {
		return task.Spec{}, &usecase.ValidationError{Field: "input", Reason: "must be an object"}
	}
	if len(b.Resources) > 100 {
		return task.Spec{}, &usecase.ValidationError{Field: "resources", Reason: "at most 100"}
	}
	for i, res := range b.Resources {
		if res.ResourceID == "" || res.Type == "" || len(res.ResourceID) > 256 || len(res.Type) > 64 {
			return task.Spec{}, &usecase.ValidationError{Field: fmt.Sprintf("resources[%d]", i), Reason: "needs resourceId (1 to 256 bytes) and type (1 to 64 bytes)"}
		}
	}
	if b.RetentionSeconds != nil {
		n := *b.RetentionSeconds
		min, max := int64(task.MinRetention/time.Second), int64(task.MaxRetention/time.Second)
		if n < min || n > max {
			return task.Spec{}, &usecase.ValidationError{Field: "retentionSeconds", Reason: fmt.Sprintf("must be a whole number from %d to %d", min, max)}
		}
		s.Retention = time.Duration(n) * time.Second
	}
	return s, nil
}

// specHash identifies a create for Idempotency-Key by what it asks for, not by how it is
// written: the validated spec with every default applied (no name is "", no resources are
// [], no retention is the default's seconds, and the input is as the type reads it, see
// canonicalInput), encoded. So whitespace, key order, number spelling (100.0 for 100) and
// omitted fields versus their defaults do not matter, as the contract says ("Omitted fields
// and their defaults are the same body"); anything that makes another task does.
func (h *Handler) specHash(s task.Spec) string {
	retention := s.Retention
	if retention == 0 {
		retention = task.DefaultRetention
	}
	resources := s.Resources
	if resources == nil {
		resources = []task.Resource{}
	}
	canon := struct {
		Type             string          `json:"type"`
		Name             string          `json:"name"`
		Input            json.RawMessage `json:"input"`
		Resources        []task.Resource `json:"resources"`
		RetentionSeconds int64           `json:"retentionSeconds"`
	}{s.Type, s.Name, h.canonicalInput(s.Type, s.Input), resources, int64(retention / time.Second)}
	raw, _ := json.Marshal(canon)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// canonicalInput is the input as its type reads it (Type.Canonical), defaults filled in; for
// a type without Canonical, the input as parsed, keys sorted and whitespace dropped, numbers
// kept as written (UseNumber) so that inputs differing beyond float64 precision stay
// different. Absent, null and {} are one input for such a type. An input the type refuses is
// hashed as written: its create fails anyway.
func (h *Handler) canonicalInput(typeName string, input json.RawMessage) json.RawMessage {
	if string(input) == "null" || len(input) == 0 {
		input = nil
	}
	if typ, ok := h.svc.Types.Lookup(typeName); ok && typ.Canonical != nil {
		if c, err := typ.Canonical(input); err == nil {
			return c
		}
	}
	if input == nil {
		return json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return input
	}
	out, _ := json.Marshal(v)
	return out
}

// accepted is the 202 of create, retry and cancel: the task, where to poll it, and when.
func (h *Handler) accepted(t *task.Task) *response {
	url := TaskURL(t.ID)
	headers := map[string]string{"Location": url, "Content-Location": url}
	if !t.Status.Terminal() {
		headers["Retry-After"] = "1"
	}
	return &response{status: http.StatusAccepted, headers: headers, body: h.view(t, true)}
}

func (h *Handler) view(t *task.Task, full bool) TaskView {
	v := view(t, full)
	if v.IsRetryable {
		// A failed task is retryable only if its type allows retries (the domain's
		// Retryable knows statuses, the registry knows types).
		if !h.svc.Types.RetryAllowed(t.Type) {
			v.IsRetryable = false
			v.Links = slices.DeleteFunc(v.Links, func(l Link) bool { return l.Rel == "retry" })
		}
	}
	return v
}

func (h *Handler) get(ctx context.Context, r *request) (*response, error) {
	redirect := true
	for k, vs := range r.query {
		if k != "redirect" || len(vs) != 1 {
			return nil, &usecase.ParamError{Param: k, Reason: "unknown or repeated; only redirect=true|false is accepted"}
		}
		b, err := strconv.ParseBool(vs[0])
		if err != nil {
			return nil, &usecase.ParamError{Param: k, Reason: "must be true or false"}
		}
		redirect = b
	}
	t, err := h.svc.Get(ctx, r.principal, r.params["id"])
	if err != nil {
		return nil, err
	}
	etag := etagOf(&t)
	headers := map[string]string{"ETag": etag, "Cache-Control": "no-cache", "Content-Location": TaskURL(t.ID)}
	if !t.Status.Terminal() {
		headers["Retry-After"] = "1"
	}
	if t.ExpiresAt != nil {
		headers["Expires"] = t.ExpiresAt.UTC().Format(http.TimeFormat)
	}
	if matchETag(header(r.ev, "If-None-Match"), etag) {
		return &response{status: http.StatusNotModified, headers: headers}, nil
	}
	status := http.StatusOK
	if t.Status == task.Success && redirect {
		status = http.StatusSeeOther
		headers["Location"] = resultURL(&t)
	}
	return &response{status: status, headers: headers, body: h.view(&t, true)}, nil
}

func (h *Handler) result(ctx context.Context, r *request) (*response, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	t, err := h.svc.Result(ctx, r.principal, r.params["id"])
	if err != nil {
		return nil, err
	}
	raw := []byte(t.Result)
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	return &response{status: http.StatusOK, raw: raw, headers: map[string]string{
		"Content-Type": "application/json", "ETag": etagOf(&t),
	}}, nil
}

func (h *Handler) retry(ctx context.Context, r *request) (*response, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	if err := emptyBody(r); err != nil {
		return nil, err
	}
	t, err := h.svc.Retry(ctx, r.principal, r.params["id"])
	if err != nil {
		return nil, err
	}
	return h.accepted(&t), nil
}

func (h *Handler) cancel(ctx context.Context, r *request) (*response, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	if err := emptyBody(r); err != nil {
		return nil, err
	}
	t, err := h.svc.Cancel(ctx, r.principal, r.params["id"])
	if err != nil {
		return nil, err
	}
	return h.accepted(&t), nil
}

// ListPage is the list document.
type ListPage struct {
	Tasks  []TaskView `json:"tasks"`
	First  string     `json:"first"`
	Next   string     `json:"next,omitempty"`
	Schema string     `json:"schema"`
}

func (h *Handler) list(ctx context.Context, r *request) (*response, error) {
	q, canon, err := listParams(r.query)
	if err != nil {
		return nil, err
	}
	page, views, err := h.listCapped(ctx, r.principal, q)
	if err != nil {
		return nil, err
	}
	out := ListPage{Tasks: views, Schema: "/v1/schemas/tasks", First: "/v1/tasks"}
	if enc := canon.Encode(); enc != "" {
		out.First += "?" + enc
	}
	if page.NextMarker != "" {
		next := cloneValues(canon)
		next.Set("marker", page.NextMarker)
		out.Next = "/v1/tasks?" + next.Encode()
	}
	return ok(out), nil
}

// MaxListBytes caps the tasks of a list page, counted as encoded. Lambda refuses a response
// over 6 MB (and API Gateway then answers 500 itself), and a listed task can be large: 100
// resources of 256 bytes, each a control character written \u0001 in JSON, are some 190 kB,
// so 100 of them would be about 19 MB. 1 MiB leaves ample room for the rest of the page and
// the headers, keeps a page quick to send and parse, and still holds five of the biggest
// tasks (and all 100 of ordinary ones).
const MaxListBytes = 1 << 20

// listCapped lists one page whose tasks, encoded, fit in MaxListBytes. A page over the cap is
// asked for again with the limit of the tasks that did fit (at least one), so that its next
// marker is the store's own position right after the last task shown and the walk goes on
// from there; no task is skipped or shown twice. That costs a second store read, but only
// for pages of unusually large tasks. The page may then hold fewer tasks than the limit,
// which the contract allows (a page holds at most limit tasks).
func (h *Handler) listCapped(ctx context.Context, p usecase.Principal, q usecase.ListParams) (usecase.Listed, []TaskView, error) {
	for {
		page, err := h.svc.List(ctx, p, q)
		if err != nil {
			return usecase.Listed{}, nil, err
		}
		views := make([]TaskView, len(page.Tasks))
		size, fit := 0, 0
		for i := range page.Tasks {
			views[i] = h.view(&page.Tasks[i], false)
			b, err := encodeJSON(views[i])
			if err != nil {
				return usecase.Listed{}, nil, err
			}
			if size += len(b) + 1; size > MaxListBytes && i > 0 { // +1: the comma
				break
			}
			fit = i + 1
		}
		if fit == len(views) || q.Limit <= fit {
			return page, views, nil
		}
		// A store may return fewer than asked for (expired tasks dropped) yet never more;
		// fit < len(views) <= q.Limit, so every round asks for fewer and the loop ends.
		q.Limit = fit
	}
}

// listParams validates a list's query and returns it with its canonical form (without the
// marker), from which first and next are built.
func listParams(v url.Values) (usecase.ListParams, url.Values, error) {
	q := usecase.ListParams{SortKey: task.SortCreated, Desc: true, Limit: DefaultLimit}
	canon := url.Values{}
	single := func(k string) (string, error) {
		if len(v[k]) != 1 {
			return "", &usecase.ParamError{Param: k, Reason: "must be given once"}
		}
		if v[k][0] == "" {
			return "", &usecase.ParamError{Param: k, Reason: "must not be empty"}
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
				return q, nil, &usecase.ParamError{Param: k, Reason: fmt.Sprintf("must be a whole number from 1 to %d", MaxLimit)}
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
						return q, nil, &usecase.ParamError{Param: k, Reason: fmt.Sprintf("%q is not one of pending, processing, success, failure, cancelled", s)}
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
				return q, nil, &usecase.ParamError{Param: k, Reason: "must be at most 100 characters"}
			}
			q.Type = s
			canon.Set(k, s)
		case "sort_key":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			if s != string(task.SortCreated) && s != string(task.SortUpdated) {
				return q, nil, &usecase.ParamError{Param: k, Reason: "must be createdAt or updatedAt"}
			}
			q.SortKey = task.SortKey(s)
			canon.Set(k, s)
		case "sort_dir":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			if s != "asc" && s != "desc" {
				return q, nil, &usecase.ParamError{Param: k, Reason: "must be asc or desc"}
			}
			q.Desc = s == "desc"
			canon.Set(k, s)
		case "owner":
			s, err := single(k)
			if err != nil {
				return q, nil, err
			}
			if len(s) > 256 {
				return q, nil, &usecase.ParamError{Param: k, Reason: "must be at most 256 characters"}
			}
			q.Owner = s
			canon.Set(k, s)
		default:
			return q, nil, &usecase.ParamError{Param: k, Reason: "is not a parameter of this call (limit, marker, status, type, sort_key, sort_dir, owner)"}
		}
	}
	return q, canon, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// TaskTypeView describes a registered type for /v1/task-types.
type TaskTypeView struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	SubTasks    []string `json:"subTasks"`
	MaxAttempts int      `json:"maxAttempts"`
	Retryable   bool     `json:"retryable"`
}

func (h *Handler) taskTypes(_ context.Context, r *request) (*response, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	var out []TaskTypeView
	for _, t := range h.svc.Types.All() {
		steps, _ := t.Plan(nil)
		names := make([]string, len(steps))
		for i, s := range steps {
			names[i] = s.Name
		}
		out = append(out, TaskTypeView{Name: t.Name, Description: t.Description, SubTasks: names, MaxAttempts: t.Budget(), Retryable: !t.NoRetry})
	}
	return ok(map[string]any{"taskTypes": out}), nil
}

func (h *Handler) schemaTask(_ context.Context, r *request) (*response, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	return &response{status: http.StatusOK, raw: taskSchema, headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func (h *Handler) schemaTasks(_ context.Context, r *request) (*response, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	return &response{status: http.StatusOK, raw: tasksSchema, headers: map[string]string{"Content-Type": "application/json"}}, nil
}

// jsonContent refuses bodies that are not JSON (415) before reading them.
func jsonContent(r *request) error {
	ct := header(r.ev, "Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errMediaType
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return errMediaType
	}
	return nil
}

// decodeStrict parses exactly one JSON object with no unknown fields.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &usecase.ValidationError{Field: "body", Reason: "is empty; a JSON object is required"}
	}
	err := strictjson.Decode(body, v)
	if err == nil {
		return nil
	}
	var strict *strictjson.Error
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &strict):
		return &usecase.ValidationError{Field: strict.Field, Reason: strict.Reason}
	case errors.As(err, &syn):
		return &usecase.ValidationError{Field: "body", Reason: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.As(err, &typ) && typ.Field == "":
		return &usecase.ValidationError{Field: "body", Reason: "must be a JSON object"}
	case errors.As(err, &typ):
		return &usecase.ValidationError{Field: typ.Field, Reason: "must be " + jsonKind(typ.Type)}
	default:
		return &usecase.ValidationError{Field: "body", Reason: "malformed JSON"}
	}
}

// jsonKind names a Go type the way a client knows it: as a JSON kind.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// emptyBody accepts no body, or an empty JSON object, for retry and cancel.
func emptyBody(r *request) error {
	b := bytes.TrimSpace(r.body)
	if len(b) == 0 || string(b) == "{}" {
		return nil
	}
	return &usecase.ValidationError{Field: "body", Reason: "must be empty"}
}

func noQuery(r *request) error {
	for k := range r.query {
		return &usecase.ParamError{Param: k, Reason: "this call takes no query parameters"}
	}
	return nil
}

// etagOf changes on every stored change of the task.
func etagOf(t *task.Task) string { return fmt.Sprintf(`"%s.%d"`, t.ID, t.Version) }

// matchETag implements If-None-Match: a list of tags, weak or strong, or *.
func matchETag(ifNoneMatch, etag string) bool {
	for _, tag := range strings.Split(ifNoneMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
