package apigw

import (
	"context"
	"net/url"

	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/usecase"
)

// ListPage is the list document.
type ListPage struct {
	Tasks  []TaskView `json:"tasks"`
	First  string     `json:"first"`
	Next   string     `json:"next,omitempty"`
	Schema string     `json:"schema"`
}

func (h *Handler) list(ctx context.Context, r *request) (*response, error) {
	canon := r.query.canon
	page, views, err := h.listCapped(ctx, r.principal, r.query.list)
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
			b, err := strictjson.Marshal(views[i])
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

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
