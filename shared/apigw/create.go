package apigw

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/logscope"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
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
	// CallbackURL receives the task's signed webhooks; the use case checks it
	// (callbackurl.CheckURL), since whether http to loopback is allowed is a setting.
	CallbackURL *string `json:"callbackUrl"`
	// Owner, ServiceNamespace and SubTasks make a service task (type external, the service
	// role only; see usecase's checkServiceCreate).
	Owner            *string          `json:"owner"`
	ServiceNamespace *string          `json:"serviceNamespace"`
	SubTasks         []subTaskRequest `json:"subTasks"`
}

// subTaskRequest is one step of a service task.
type subTaskRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

func (h *Handler) create(ctx context.Context, r *request) (*response, error) {
	var b createBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	spec, err := b.spec()
	if err != nil {
		return nil, err
	}
	owner, err := b.serviceTask(&spec)
	if err != nil {
		return nil, err
	}
	key := header(r.ev, "Idempotency-Key")
	if _, present := lookupHeader(r.ev, "Idempotency-Key"); present && (key == "" || len(key) > 255 || !printable(key)) {
		return nil, &task.FieldError{In: task.InHeader, Field: "Idempotency-Key", Reason: "must be 1 to 255 printable ASCII characters"}
	}
	created, err := h.svc.Create(ctx, r.principal, usecase.CreateRequest{Spec: spec, IdempotencyKey: key, BodyHash: h.specHash(spec, owner), Owner: owner})
	if err != nil {
		return nil, err
	}
	logscope.Add(ctx, logscope.TaskID, created.Task.ID)
	resp := h.accepted(&created.Task)
	resp.body = h.viewAs(r.principal, &created.Task) // a service task's first callback, to its service
	if created.Replayed {
		resp.headers["Idempotent-Replayed"] = "true"
	}
	return resp, nil
}

// serviceTask validates a service task's fields into s and returns the owner; who may give
// them is the use case's to decide (403 for anyone but a service principal).
func (b *createBody) serviceTask(s *task.Spec) (string, error) {
	owner := ""
	if b.Owner != nil {
		if !auth.ValidTenant(*b.Owner) {
			return "", &task.FieldError{Field: "owner", Reason: "must be a tenant: 1 to 128 characters of A-Z a-z 0-9 . _ : @ -"}
		}
		owner = *b.Owner
	}
	if b.ServiceNamespace != nil {
		if *b.ServiceNamespace == "" {
			return "", &task.FieldError{Field: "serviceNamespace", Reason: "must not be empty"}
		}
		s.ServiceNamespace = *b.ServiceNamespace
	}
	if b.SubTasks != nil && len(b.SubTasks) == 0 {
		return "", &task.FieldError{Field: "subTasks", Reason: "must hold 1 to 50 steps"}
	}
	for i, st := range b.SubTasks {
		if st.Name == nil || *st.Name == "" || len(*st.Name) > 100 {
			return "", &task.FieldError{Field: fmt.Sprintf("subTasks[%d].name", i), Reason: "is required: 1 to 100 bytes"}
		}
		step := task.Step{Name: *st.Name}
		if st.Description != nil {
			if len(*st.Description) > 500 {
				return "", &task.FieldError{Field: fmt.Sprintf("subTasks[%d].description", i), Reason: "must be at most 500 bytes"}
			}
			step.Description = *st.Description
		}
		s.SubTasks = append(s.SubTasks, step)
	}
	return owner, nil
}

// spec validates the body's fields.
func (b *createBody) spec() (task.Spec, error) {
	if b.Type == nil || *b.Type == "" {
		return task.Spec{}, &task.FieldError{Field: "type", Reason: "is required"}
	}
	if len(*b.Type) > 100 {
		return task.Spec{}, &task.FieldError{Field: "type", Reason: "must be at most 100 characters"}
	}
	s := task.Spec{Type: *b.Type, Input: b.Input, Resources: b.Resources}
	if b.Name != nil {
		if len(*b.Name) > 256 {
			return task.Spec{}, &task.FieldError{Field: "name", Reason: "must be at most 256 characters"}
		}
		s.Name = *b.Name
	}
	if len(b.Input) > 0 && string(b.Input) != "null" && b.Input[0] != '{' {
		return task.Spec{}, &task.FieldError{Field: "input", Reason: "must be an object"}
	}
	if len(b.Resources) > 100 {
		return task.Spec{}, &task.FieldError{Field: "resources", Reason: "at most 100"}
	}
	for i, res := range b.Resources {
		if res.ResourceID == "" || res.Type == "" || len(res.ResourceID) > 256 || len(res.Type) > 64 {
			return task.Spec{}, &task.FieldError{Field: fmt.Sprintf("resources[%d]", i), Reason: "needs resourceId (1 to 256 bytes) and type (1 to 64 bytes)"}
		}
	}
	if b.RetentionSeconds != nil {
		n := *b.RetentionSeconds
		min, max := int64(task.MinRetention/time.Second), int64(task.MaxRetention/time.Second)
		if n < min || n > max {
			return task.Spec{}, &task.FieldError{Field: "retentionSeconds", Reason: fmt.Sprintf("must be a whole number from %d to %d", min, max)}
		}
		s.Retention = time.Duration(n) * time.Second
	}
	if b.CallbackURL != nil {
		if *b.CallbackURL == "" {
			return task.Spec{}, &task.FieldError{Field: "callbackUrl", Reason: "must not be empty"}
		}
		s.CallbackURL = *b.CallbackURL
	}
	return s, nil
}
