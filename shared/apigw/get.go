package apigw

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tasklane/tasklane/shared/task"
)

func (h *Handler) get(ctx context.Context, r *request) (*response, error) {
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
	if t.Status == task.Success && r.query.redirect {
		status = http.StatusSeeOther
		headers["Location"] = resultURL(&t)
	}
	return &response{status: status, headers: headers, body: h.viewAs(r.principal, &t)}, nil
}

func (h *Handler) result(ctx context.Context, r *request) (*response, error) {
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
