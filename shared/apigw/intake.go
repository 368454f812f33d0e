package apigw

import (
	"encoding/json"

	"github.com/tasklane/tasklane/shared/auth"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/usecase"
)

// IntakeMessage is an intake queue message read (shared/intake): who the task is for and the
// create, as the API would have made it.
type IntakeMessage struct {
	// Tenant is trusted: who may send to the intake queue is the queue's IAM policy.
	Tenant string
	// Request carries the message's idempotencyKey, or none (the caller keys it by the
	// message id then), and the body's hash for it.
	Request usecase.CreateRequest
}

// intakeBody is a create body (createBody's fields, which a test holds equal) plus the
// intake message's own fields. Unknown fields are refused as in the API.
type intakeBody struct {
	Type             *string         `json:"type"`
	Name             *string         `json:"name"`
	Input            json.RawMessage `json:"input"`
	Resources        []task.Resource `json:"resources"`
	RetentionSeconds *int64          `json:"retentionSeconds"`
	CallbackURL      *string         `json:"callbackUrl"`

	Tenant         *string `json:"tenant"`
	IdempotencyKey *string `json:"idempotencyKey"`
}

// DecodeIntake reads an intake message's body by the API's own rules for a create body (the
// same fields and checks, the same hash of what it asks for, so that a key reused with
// another body is refused as it is over HTTP), plus "tenant" (required, a tenant id as a
// token's claim must be) and optional "idempotencyKey" (1..255 printable ASCII). Every error
// is a *task.FieldError or task.ErrUnknownType's, as the API's 400s are; ErrorCode names it.
func DecodeIntake(svc *usecase.Service, body []byte) (IntakeMessage, error) {
	if len(body) > MaxBody {
		return IntakeMessage{}, &task.FieldError{Field: "body", Reason: "is larger than 256 KiB"}
	}
	var b intakeBody
	if err := decodeStrict(body, &b); err != nil {
		return IntakeMessage{}, err
	}
	if b.Tenant == nil || !auth.ValidTenant(*b.Tenant) {
		return IntakeMessage{}, &task.FieldError{Field: "tenant", Reason: "is required: 1 to 128 characters of [A-Za-z0-9._:@-]"}
	}
	cb := createBody{Type: b.Type, Name: b.Name, Input: b.Input, Resources: b.Resources, RetentionSeconds: b.RetentionSeconds, CallbackURL: b.CallbackURL}
	spec, err := cb.spec()
	if err != nil {
		return IntakeMessage{}, err
	}
	req := usecase.CreateRequest{Spec: spec, BodyHash: (&Handler{svc: svc}).specHash(spec, "")}
	if b.IdempotencyKey != nil {
		k := *b.IdempotencyKey
		if k == "" || len(k) > 255 || !printable(k) {
			return IntakeMessage{}, &task.FieldError{Field: "idempotencyKey", Reason: "must be 1 to 255 printable ASCII characters"}
		}
		req.IdempotencyKey = k
	}
	return IntakeMessage{Tenant: *b.Tenant, Request: req}, nil
}

// ErrorCode is the errorCode the API would answer err with (the problem table's), e.g. for
// the reason of a refused intake message.
func ErrorCode(err error) string {
	for _, r := range problems {
		if r.is(err) {
			return r.code
		}
	}
	return internal.code
}
