package client

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// MaxWait is the longest Prefer: wait the API honours (the contract's 20 s, under API
// Gateway's 30 s limit of a request).
const MaxWait = 20

// WaitOptions tune Wait.
type WaitOptions struct {
	// Progress, if set, is called with the task when Wait first reads it and again on each
	// change (a new ETag), the last time with the task that ended the wait.
	Progress func(*Task)
	// Wait is the Prefer: wait asked of each GET, in seconds (1..MaxWait); 0 for MaxWait.
	Wait int
	// MaxInterval caps the pause between two reads when the API does not wait itself
	// (before it honours Prefer: wait, or behind a proxy that drops it), whatever its
	// Retry-After says; 0 for no cap beyond the hint's own (60 s at most).
	MaxInterval time.Duration
}

// Wait reads the task until its run ends (success, failure or cancelled) and returns it as
// it ended: a failure or a cancel is not an error, see Task.Status. It ends early with
// ctx's error when ctx ends, or with the first error of a read (after the client's
// retries).
//
// Each read after the first is conditional (If-None-Match) and asks the API to hold the
// answer until the task changes (Prefer: wait=N, RFC 7240). When the API says it waited
// (Preference-Applied), Wait reads again at once; when it did not, Wait pauses for the
// API's Retry-After (the seconds until the task is likely to change, 1 at least) first.
// Wait works the same against an API that ignores Prefer: wait, only with more reads.
func (c *Client) Wait(ctx context.Context, id string, opts WaitOptions) (*Task, error) {
	wait := opts.Wait
	if wait <= 0 || wait > MaxWait {
		wait = MaxWait
	}
	t, _, err := c.get(ctx, id, "")
	if err != nil {
		return nil, err
	}
	report := func(t *Task) {
		if opts.Progress != nil {
			opts.Progress(t)
		}
	}
	report(t)
	for !t.Status.Terminal() {
		began := time.Now()
		next, rep, err := c.waitOnce(ctx, t, wait)
		if err != nil {
			return nil, err
		}
		if next != t {
			report(next)
		}
		// The API waited if it says so and either the task changed or the answer took
		// its time: a 304 at once that claims a wait would otherwise make a busy loop.
		held := rep.waited && (next != t || time.Since(began) >= time.Second)
		if !held && !next.Status.Terminal() {
			pause := max(rep.hint, time.Second)
			if opts.MaxInterval > 0 {
				pause = min(pause, opts.MaxInterval)
			}
			if err := sleep(ctx, pause); err != nil {
				return nil, err
			}
		}
		t = next
	}
	return t, nil
}

// waited is what a conditional, waiting read learnt besides the task.
type waited struct {
	waited bool          // the API held the answer (Preference-Applied)
	hint   time.Duration // its Retry-After
}

// waitOnce is one conditional read of prev's task with Prefer: wait. On 304 it returns prev.
func (c *Client) waitOnce(ctx context.Context, prev *Task, wait int) (*Task, waited, error) {
	h := http.Header{"Prefer": {"wait=" + strconv.Itoa(wait)}}
	if prev.ETag != "" {
		h.Set("If-None-Match", prev.ETag)
	}
	rep, err := c.do(ctx, call{method: http.MethodGet, path: taskPath(prev.ID), headers: h,
		ok: []int{http.StatusOK, http.StatusSeeOther, http.StatusNotModified}})
	if err != nil {
		return nil, waited{}, err
	}
	w := waited{waited: rep.header.Get("Preference-Applied") != "", hint: retryAfter(rep.header)}
	if rep.status == http.StatusNotModified {
		return prev, w, nil
	}
	t, err := taskOf(rep)
	return t, w, err
}
