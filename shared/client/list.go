package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ListOptions filter and order a list. The zero value lists the caller's tasks, newest
// first, 25 a page.
type ListOptions struct {
	Status []Status // any of these; none: every status
	Type   string
	// Limit is the page size, 1..100; 0 for the API's default (25).
	Limit int
	// SortKey is "createdAt" (the default) or "updatedAt"; SortDir "desc" (the default) or
	// "asc".
	SortKey, SortDir string
	// Owner lists that tenant's tasks; only an admin may name another tenant.
	Owner string
}

func (o ListOptions) query() string {
	q := url.Values{}
	if len(o.Status) > 0 {
		s := make([]string, len(o.Status))
		for i, st := range o.Status {
			s[i] = string(st)
		}
		q.Set("status", strings.Join(s, ","))
	}
	if o.Type != "" {
		q.Set("type", o.Type)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.SortKey != "" {
		q.Set("sort_key", o.SortKey)
	}
	if o.SortDir != "" {
		q.Set("sort_dir", o.SortDir)
	}
	if o.Owner != "" {
		q.Set("owner", o.Owner)
	}
	if len(q) == 0 {
		return "/v1/tasks"
	}
	return "/v1/tasks?" + q.Encode()
}

// ListPage reads the first page of a list.
func (c *Client) ListPage(ctx context.Context, opts ListOptions) (*Page, error) {
	return c.page(ctx, opts.query())
}

// NextPage reads the page after p; it returns nil, nil after the last page.
func (c *Client) NextPage(ctx context.Context, p *Page) (*Page, error) {
	if p.Next == "" {
		return nil, nil
	}
	return c.page(ctx, p.Next)
}

func (c *Client) page(ctx context.Context, path string) (*Page, error) {
	rep, err := c.do(ctx, call{method: http.MethodGet, path: path, ok: []int{http.StatusOK}})
	if err != nil {
		return nil, err
	}
	var p Page
	if err := decode(rep, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Pages walks a list page by page, following each page's next link until the last page.
// An error ends the walk: it is yielded once, with a nil page. Listed tasks carry no Input
// or Result.
func (c *Client) Pages(ctx context.Context, opts ListOptions) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		p, err := c.ListPage(ctx, opts)
		for {
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(p, nil) || p.Next == "" {
				return
			}
			p, err = c.NextPage(ctx, p)
		}
	}
}

// List walks every task of a list, across pages, in the list's order; the API guarantees
// that a walk by createdAt sees every task that exists throughout it exactly once. An error
// ends the walk: it is yielded once, with a nil task.
//
//	for t, err := range c.List(ctx, client.ListOptions{Status: []client.Status{client.Failure}}) {
//		if err != nil { return err }
//		fmt.Println(t.ID)
//	}
func (c *Client) List(ctx context.Context, opts ListOptions) iter.Seq2[*Task, error] {
	return func(yield func(*Task, error) bool) {
		for p, err := range c.Pages(ctx, opts) {
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range p.Tasks {
				if !yield(&p.Tasks[i], nil) {
					return
				}
			}
		}
	}
}
