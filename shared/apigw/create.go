package apigw

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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
	key := header(r.ev, "Idempotency-Key")
	if _, present := lookupHeader(r.ev, "Idempotency-Key"); present && (key == "" || len(key) > 255 || !printable(key)) {
		return nil, &task.FieldError{In: task.InHeader, Field: "Idempotency-Key", Reason: "must be 1 to 255 printable ASCII characters"}
	}
	created, err := h.svc.Create(ctx, r.principal, usecase.CreateRequest{Spec: spec, IdempotencyKey: key, BodyHash: h.specHash(spec)})
	if err != nil {
		return nil, err
	}
	logscope.Add(ctx, logscope.TaskID, created.Task.ID)
	resp := h.accepted(&created.Task)
	if created.Replayed {
		resp.headers["Idempotent-Replayed"] = "true"
	}
	return resp, nil
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
