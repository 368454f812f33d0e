package task_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/task"
)

func TestNewIDShape(t *testing.T) {
	t.Parallel()
	for _, now := range []time.Time{
		time.Unix(0, 0),
		t0,
		t0.In(time.FixedZone("x", 9*3600)),
		time.UnixMilli(1<<48 - 1), // the last millisecond a ULID can hold
	} {
		id := task.NewID(now)
		if len(id) != 26 {
			t.Errorf("NewID(%v) = %q: %d chars, want 26", now, id, len(id))
		}
		if !task.ValidID(id) {
			t.Errorf("ValidID(NewID(%v) = %q) = false", now, id)
		}
	}
	// The time prefix (10 chars, 48 bits) of the epoch is all zeros, of the maximum all 7ZZ...
	if p := task.NewID(time.Unix(0, 0))[:10]; p != "0000000000" {
		t.Errorf("epoch prefix = %q", p)
	}
	if p := task.NewID(time.UnixMilli(1<<48 - 1))[:10]; p != "7ZZZZZZZZZ" {
		t.Errorf("max prefix = %q", p)
	}
}

// TestNewIDTimePrefix decodes the 48-bit time prefix and checks it is the millisecond given.
func TestNewIDTimePrefix(t *testing.T) {
	t.Parallel()
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	for _, now := range []time.Time{t0, t0.Add(1234567 * time.Millisecond), time.UnixMilli(1)} {
		id := task.NewID(now)
		var ms uint64
		for _, c := range id[:10] {
			ms = ms<<5 | uint64(strings.IndexRune(alphabet, c))
		}
		if int64(ms) != now.UnixMilli() {
			t.Errorf("NewID(%v) prefix decodes to %d, want %d", now, ms, now.UnixMilli())
		}
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	prev := task.NewID(t0)
	for i := 1; i <= 2000; i++ {
		// Across milliseconds, whatever the random part, order follows time.
		id := task.NewID(t0.Add(time.Duration(i) * time.Millisecond))
		if id <= prev {
			t.Fatalf("NewID at +%dms = %q sorts before or with %q", i, id, prev)
		}
		prev = id
	}
	if a, b := task.NewID(t0), task.NewID(t0.Add(365*24*time.Hour)); a >= b {
		t.Errorf("a year later %q does not sort after %q", b, a)
	}
}

func TestNewIDUnique(t *testing.T) {
	t.Parallel()
	const n = 10000
	seen := make(map[string]struct{}, n)
	for i := 0; i < n; i++ {
		id := task.NewID(t0) // the same millisecond: only the random part differs
		if _, dup := seen[id]; dup {
			t.Fatalf("duplicate id %q after %d", id, i)
		}
		seen[id] = struct{}{}
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	const good = "01JDK6Q8W7C2N3X9RT0V5M4B1A"
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"contract example", good, true},
		{"all zeros", strings.Repeat("0", 26), true},
		{"maximum", "7" + strings.Repeat("Z", 25), true},
		{"every allowed letter", "0ABCDEFGHJKMNPQRSTVWXYZ012", true},
		{"empty", "", false},
		{"25 chars", good[:25], false},
		{"27 chars", good + "0", false},
		{"first char 8", "8" + good[1:], false},
		{"first char Z", "Z" + good[1:], false},
		{"lowercase", strings.ToLower(good), false},
		{"one lowercase", good[:25] + "a", false},
		{"contains U", good[:10] + "U" + good[11:], false},
		{"contains I", good[:10] + "I" + good[11:], false},
		{"contains L", good[:10] + "L" + good[11:], false},
		{"contains O", good[:10] + "O" + good[11:], false},
		{"contains dash", good[:10] + "-" + good[11:], false},
		{"contains space", good[:10] + " " + good[11:], false},
		{"non-ASCII", good[:24] + "é", false}, // é is two bytes: 26 bytes in all
		{"path traversal", "../../../../../../../etc/p", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := task.ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}
