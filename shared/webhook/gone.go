package webhook

import (
	"context"
	"sync"
	"time"
)

// GoneList remembers the URLs that answered 410 Gone, so that no further delivery goes
// there. Deployed it is an item per URL in the task table (dynamostore.Store.Gone): one
// eventually consistent read per delivery (0.5 RRU) and one write per URL that ever answers
// 410; the Deliverer also keeps the URLs it saw gone in memory, so a sandbox reads each of
// them once. Locally it is Memory.
type GoneList interface {
	// Gone reports whether url answered 410 before.
	Gone(ctx context.Context, url string) (bool, error)
	// MarkGone records that url answered 410 at at.
	MarkGone(ctx context.Context, url string, at time.Time) error
}

// Memory is a GoneList in the process's memory (the local runner's: a restart forgets).
type Memory struct {
	mu   sync.Mutex
	gone map[string]time.Time
}

// Gone implements GoneList.
func (m *Memory) Gone(_ context.Context, url string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.gone[url]
	return ok, nil
}

// MarkGone implements GoneList.
func (m *Memory) MarkGone(_ context.Context, url string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone == nil {
		m.gone = map[string]time.Time{}
	}
	m.gone[url] = at
	return nil
}
