package apigw

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/worker"
)

// MaxWait is the longest Prefer: wait a poll is held for (the contract's 20 s, well under
// API Gateway's 30 s integration timeout). The get function's Timeout (template.yaml,
// GetTimeout) leaves room to answer after it.
const MaxWait = 20 * time.Second

// GetTimeout is the get function's Timeout in template.yaml: MaxWait and time to answer.
const GetTimeout = 25 * time.Second

// answerMargin is kept from the handler's deadline for the answer after a wait.
const answerMargin = time.Second

// Polls of a waiting get: the first after minPoll, each later one twice as late, at most
// maxPoll apart. A 20 s wait makes about 23 reads (see README "What a wait costs").
const (
	minPoll = 100 * time.Millisecond
	maxPoll = time.Second
)

func (h *Handler) get(ctx context.Context, r *request) (*response, error) {
	t, err := h.svc.Get(ctx, r.principal, r.params["id"])
	if err != nil {
		return nil, err
	}
	inm := header(r.ev, "If-None-Match")
	wait, prefer := preferWait(header(r.ev, "Prefer"))
	if prefer {
		if t, err = h.await(ctx, r, t, inm, wait); err != nil {
			return nil, err
		}
	}
	etag := etagOf(&t)
	headers := map[string]string{"ETag": etag, "Cache-Control": "no-cache", "Content-Location": TaskURL(t.ID)}
	if !t.Status.Terminal() {
		headers["Retry-After"] = strconv.Itoa(h.retryAfter(&t, h.svc.Now()))
	}
	if prefer {
		headers["Preference-Applied"] = fmt.Sprintf("wait=%d", int(wait/time.Second))
	}
	if t.ExpiresAt != nil {
		headers["Expires"] = t.ExpiresAt.UTC().Format(http.TimeFormat)
	}
	if matchETag(inm, etag) {
		return &response{status: http.StatusNotModified, headers: headers}, nil
	}
	status := http.StatusOK
	if t.Status == task.Success && r.query.redirect {
		status = http.StatusSeeOther
		headers["Location"] = resultURL(&t)
	}
	return &response{status: status, headers: headers, body: h.viewAs(r.principal, &t)}, nil
}

// preferWait reads RFC 7240's wait preference from a Prefer header: wait=N, N whole seconds
// from 1, more than MaxWait treated as MaxWait. A preference it cannot read (wait=0,
// wait=abc) is ignored, as RFC 7240 asks of a preference a server does not understand.
func preferWait(prefer string) (time.Duration, bool) {
	for _, p := range strings.Split(prefer, ",") {
		// A preference may carry parameters after ";"; wait has none.
		p, _, _ = strings.Cut(p, ";")
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil || n < 1 {
			return 0, false
		}
		if n > uint64(MaxWait/time.Second) {
			n = uint64(MaxWait / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	return 0, false
}

// await holds a poll while the task t is not terminal and has not changed: from the version
// the client names in If-None-Match when it names the current one, else from t as first
// read. It re-reads the task with backoff (minPoll doubling to maxPoll) until it changes,
// wait is over, or the handler's deadline comes near, and returns the task as last read.
// The store is polled rather than told: a read costs half a read unit, and the get function
// has no stream to listen to.
func (h *Handler) await(ctx context.Context, r *request, t task.Task, inm string, wait time.Duration) (task.Task, error) {
	from := etagOf(&t)
	if inm != "" && !matchETag(inm, from) {
		return t, nil // already changed since the client's version: answer at once
	}
	deadline := time.Now().Add(wait)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-answerMargin).Before(deadline) {
		deadline = dl.Add(-answerMargin)
	}
	for delay := minPoll; !t.Status.Terminal() && etagOf(&t) == from; delay = min(2*delay, maxPoll) {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		timer := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return t, nil
		case <-timer.C:
		}
		next, err := h.svc.Get(ctx, r.principal, t.ID)
		if err != nil {
			if ctx.Err() != nil {
				return t, nil
			}
			return t, err // gone meanwhile (expired): a 404, as any read of it now
		}
		t = next
	}
	return t, nil
}

// retryAfter is the seconds until the task t, not terminal, is likely to change, 1 to 60: a
// backoff under way (a subtask that failed an attempt waits worker.Backoff after its last
// error), or what is left of a running subtask's expected duration (its type's Expect);
// otherwise 1 (a pending task is claimed, a step of unknown length may end, at any moment).
func (h *Handler) retryAfter(t *task.Task, now time.Time) int {
	var until time.Time
	if i := t.NextSubTask(); t.Status == task.Processing && i >= 0 {
		s := t.SubTasks[i]
		switch {
		case s.Status == task.Pending && s.Attempts > 0:
			if e, ok := lastError(t, s.Name); ok {
				until = e.At.Add(worker.Backoff(h.BackoffBase, s.Attempts))
			}
		case s.Status == task.Processing && s.StartedAt != nil:
			if typ, ok := h.svc.Types.Lookup(t.Type); ok && typ.Expect != nil {
				if d := typ.Expect(t, i); d > 0 {
					// StartedAt is the first attempt's; a later attempt started after the
					// newest error of the subtask.
					start := *s.StartedAt
					if e, ok := lastError(t, s.Name); ok && e.At.After(start) {
						start = e.At
					}
					until = start.Add(d)
				}
			}
		}
	}
	secs := math.Ceil(until.Sub(now).Seconds())
	return int(max(1, min(60, secs)))
}

// lastError is the newest error recorded for subtask name.
func lastError(t *task.Task, name string) (task.Error, bool) {
	for i := len(t.Errors) - 1; i >= 0; i-- {
		if t.Errors[i].SubTask == name {
			return t.Errors[i], true
		}
	}
	return task.Error{}, false
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
