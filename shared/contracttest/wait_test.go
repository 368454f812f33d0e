package contracttest_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestPreferWait: GET with Prefer: wait=N holds the answer until the task changes from the
// version the client names (If-None-Match) and answers it at once when it changes, or
// answers 304 when N passes without a change; Preference-Applied says the wait honoured.
func TestPreferWait(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(steps(step("Slow", "durationMs", 1500), step("Next")))
		// Once it is processing, wait for the change that follows.
		e.waitStatus(id, "processing")
		r := e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil)
		etag := r.header.Get("ETag")
		start := time.Now()
		r = e.do("GET", "/v1/tasks/"+id+"?redirect=false", nil, "If-None-Match", etag, "Prefer", "wait=15")
		took := time.Since(start)
		if r.status != http.StatusOK || r.header.Get("ETag") == etag {
			t.Fatalf("after a wait: %d, ETag %q (was %q): %s", r.status, r.header.Get("ETag"), etag, r.body)
		}
		if got := r.header.Get("Preference-Applied"); got != "wait=15" {
			t.Errorf("Preference-Applied %q, want wait=15", got)
		}
		if took > 10*time.Second {
			t.Errorf("the wait took %v; the step ends after 1.5 s", took)
		}
	})
}

// TestPreferWaitTimesOut: a task that does not change is answered 304 after the wait, and a
// poll without If-None-Match waits for a change from the task as first read.
func TestPreferWaitTimesOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(nil)
		r := e.do("GET", "/v1/tasks/"+id, nil)
		etag := r.header.Get("ETag")
		for _, h := range [][]string{{"If-None-Match", etag, "Prefer", "wait=2"}, {"Prefer", "wait=2"}} {
			start := time.Now()
			r = e.do("GET", "/v1/tasks/"+id, nil, h...)
			took := time.Since(start)
			want := http.StatusNotModified
			if len(h) == 2 {
				want = http.StatusOK
			}
			if r.status != want || r.header.Get("ETag") != etag {
				t.Errorf("%v: %d ETag %q, want %d %q", h, r.status, r.header.Get("ETag"), want, etag)
			}
			// It waited the 2 s asked (the lower bound), and not the 20 s of the longest wait
			// (the upper one, with room for a loaded emulator's slow reads).
			if took < 2*time.Second || took > 10*time.Second {
				t.Errorf("%v: answered after %v, want about 2 s", h, took)
			}
			if got := r.header.Get("Preference-Applied"); got != "wait=2" {
				t.Errorf("%v: Preference-Applied %q", h, got)
			}
		}
	}, noWorker)
}

// TestPreferWaitValues: a wait above 20 s is 20; one that cannot be read is ignored; a task
// that is terminal, or that changed since the client's version, is answered at once.
func TestPreferWaitValues(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(steps(step("Only")))
		e.waitStatus(id, "success")
		for _, tc := range []struct{ prefer, applied string }{
			{"wait=99", "wait=20"}, {"respond-async, wait=8", "wait=8"}, {`WAIT="6"`, "wait=6"},
			{"wait=0", ""}, {"wait=abc", ""}, {"wait=-1", ""}, {"return=minimal", ""},
		} {
			start := time.Now()
			r := e.do("GET", "/v1/tasks/"+id, nil, "Prefer", tc.prefer, "If-None-Match", `"stale.1"`)
			if r.status != http.StatusSeeOther || r.header.Get("Preference-Applied") != tc.applied {
				t.Errorf("Prefer %q: %d, Preference-Applied %q, want 303 %q", tc.prefer, r.status, r.header.Get("Preference-Applied"), tc.applied)
			}
			// Every readable wait asked for is 6 s or more: an answer well before that was
			// not held, however slow the emulator is under load (a bound nearer the request's
			// own time would measure the machine, not the handler).
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Prefer %q on a finished task took %v: it waited", tc.prefer, took)
			}
		}
	})
}

// TestRetryAfterIsHonest: Retry-After says how long a running step is expected to take
// (the demo step's durationMs) and how long a backoff has left, within 1..60.
func TestRetryAfterIsHonest(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		slow := e.create(steps(step("Slow", "durationMs", 8000)))
		flaky := e.create(steps(step("Flaky", "transientFailures", 1)))
		e.waitStatus(slow, "processing")
		r := e.do("GET", "/v1/tasks/"+slow, nil)
		if n := retryAfter(t, r); n < 4 || n > 8 {
			t.Errorf("a step of 8 s that just started: Retry-After %d, want 4..8", n)
		}
		e.waitFor("a failed attempt", func() bool {
			m := e.do("GET", "/v1/tasks/"+flaky, nil).json(t)
			errs, _ := m["errors"].([]any)
			return len(errs) > 0
		})
		r = e.do("GET", "/v1/tasks/"+flaky, nil)
		if n := retryAfter(t, r); n < 5 || n > 10 {
			t.Errorf("a backoff of 10 s under way: Retry-After %d, want 5..10", n)
		}
		pending := e.do("POST", "/v1/tasks", map[string]any{"type": "demo"})
		if n := retryAfter(t, pending); n != 1 {
			t.Errorf("a new task: Retry-After %d, want 1", n)
		}
	}, func(o *options) { o.backoff = 10 * time.Second })
}

func retryAfter(t *testing.T, r reply) int {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("Retry-After %q: %v", r.header.Get("Retry-After"), err)
	}
	return n
}
