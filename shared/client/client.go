package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environment variables FromEnv reads (the `tasklane` CLI's too).
const (
	EnvURL   = "TASKLANE_URL"   // the API's base URL; default DefaultURL
	EnvToken = "TASKLANE_TOKEN" // the bearer token; locally "dev:<tenant>[:<roles>]"
)

// DefaultURL is where `make run` serves the API.
const DefaultURL = "http://127.0.0.1:3000"

// Options configure a Client. The zero value of each field is its default.
type Options struct {
	// Token is sent as "Authorization: Bearer <Token>"; none when empty.
	Token string
	// HTTPClient sends the requests; default a client of its own (each attempt is bounded
	// by Timeout, each call by its context). Its redirect policy is not used: the client
	// never follows the API's 303.
	HTTPClient *http.Client
	// MaxRetries is how many times a call is sent again after a 429, a 5xx or a network
	// error; default 4. Negative: never.
	MaxRetries int
	// Backoff is the first retry's delay; each next one doubles, with full jitter, up to
	// MaxBackoff. A Retry-After in the answer is honoured instead, up to MaxBackoff.
	// Defaults 200 ms and 10 s.
	Backoff, MaxBackoff time.Duration
	// UserAgent is sent as User-Agent; default "tasklane-go-client".
	UserAgent string
	// Timeout bounds each attempt of a call (a connection that hangs is retried like a
	// network error); default 60 s, which leaves Wait's reads their 20 s of Prefer: wait.
	Timeout time.Duration
}

// Client calls one Tasklane API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	opts Options
	http *http.Client
}

// New returns a client of the API at baseURL (e.g. "http://127.0.0.1:3000"; a path prefix
// such as a stage is kept).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("tasklane: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("tasklane: base URL %q: want http(s)://host[:port]", baseURL)
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "tasklane-go-client"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		hc = &c
	}
	// The 303 of a succeeded task carries the task itself; following it would fetch the
	// result document instead.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: u, opts: opts, http: hc}, nil
}

// FromEnv returns a client of the API at TASKLANE_URL (default DefaultURL) with the token
// TASKLANE_TOKEN, with opts for the rest (opts.Token is overridden when TASKLANE_TOKEN is
// set).
func FromEnv(opts Options) (*Client, error) {
	base := os.Getenv(EnvURL)
	if base == "" {
		base = DefaultURL
	}
	if tok := os.Getenv(EnvToken); tok != "" {
		opts.Token = tok
	}
	return New(base, opts)
}

// BaseURL is the API's base URL as the client uses it.
func (c *Client) BaseURL() string { return c.base.String() }

// call is one API request: sent, retried and checked by do.
type call struct {
	method  string
	path    string // absolute path with query ("/v1/tasks?limit=2"), or a URL of the API
	body    []byte // nil: none
	headers http.Header
	// ok lists the statuses that are answers; anything else of 4xx is an *Error.
	ok []int
	// anonymous leaves the client's token out (a callback's token is its credential).
	anonymous bool
}

// reply is a received answer with its body read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends c, retrying 429, 5xx and network errors with backoff, until an answer in ok or
// another 4xx, the retries are spent, or ctx ends.
func (c *Client) do(ctx context.Context, cl call) (*reply, error) {
	target, err := c.resolve(cl.path)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		rep, err := c.send(ctx, cl, target)
		retryable, hint := false, time.Duration(0)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			retryable = true
		case rep.status == http.StatusTooManyRequests || rep.status >= 500:
			retryable, hint = true, retryAfter(rep.header)
			err = problemOf(rep)
		case slices.Contains(cl.ok, rep.status):
			return rep, nil
		default:
			return nil, problemOf(rep)
		}
		if !retryable || attempt >= c.opts.MaxRetries {
			return nil, err
		}
		if err := sleep(ctx, c.delay(attempt, hint)); err != nil {
			return nil, err
		}
	}
}

func (c *Client) send(ctx context.Context, cl call, target string) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range cl.headers {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.Token != "" && !cl.anonymous {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// resolve turns a path of the API, or a link the API gave (relative or absolute), into a
// URL under the base URL.
func (c *Client) resolve(path string) (string, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return "", fmt.Errorf("tasklane: %q: %w", path, err)
	}
	if ref.IsAbs() {
		return ref.String(), nil
	}
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + ref.Path
	u.RawPath = ""
	if ref.RawPath != "" {
		u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + ref.RawPath
	}
	u.RawQuery = ref.RawQuery
	return u.String(), nil
}

// delay is the wait before retry attempt+1: the API's Retry-After when it gave one, else
// exponential backoff with full jitter; both capped at MaxBackoff.
func (c *Client) delay(attempt int, hint time.Duration) time.Duration {
	if hint > 0 {
		return min(hint, c.opts.MaxBackoff)
	}
	d := min(c.opts.Backoff<<min(attempt, 20), c.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a Retry-After header in seconds or as an HTTP-date; 0 when absent or
// unreadable.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// problemOf is the *Error of a refused answer.
func problemOf(r *reply) error {
	e := &Error{Status: r.status}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); strings.HasSuffix(mt, "json") {
		_ = json.Unmarshal(r.body, e)
		e.Status = r.status // the status line is the answer's, whatever the body says
	}
	if e.Title == "" {
		e.Title = http.StatusText(r.status)
	}
	if e.RequestID == "" {
		e.RequestID = r.header.Get("X-Request-Id")
	}
	return e
}

func decode(r *reply, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("tasklane: reading the answer (%d): %w", r.status, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// IsCode reports whether err is an *Error of the API with that errorCode.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.ErrorCode == code
}
