package apigw

import "context"

func (h *Handler) retry(ctx context.Context, r *request) (*response, error) {
	t, err := h.svc.Retry(ctx, r.principal, r.params["id"])
	if err != nil {
		return nil, err
	}
	return h.accepted(&t), nil
}

func (h *Handler) cancel(ctx context.Context, r *request) (*response, error) {
	t, err := h.svc.Cancel(ctx, r.principal, r.params["id"])
	if err != nil {
		return nil, err
	}
	return h.accepted(&t), nil
}
