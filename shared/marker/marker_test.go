package marker_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tasklane/tasklane/shared/marker"
)

func sealer(t testing.TB, secret string) *marker.Sealer {
	t.Helper()
	s, err := marker.New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := sealer(t, "secret")
	for _, pos := range [][]byte{[]byte("2026-11-25T16:00:00.000Z#01JDK6Q8W7C2N3X9RT0V5M4B1A"), {}, {0, 1, 2, 255}, bytes.Repeat([]byte("x"), 2000)} {
		m := s.Seal(pos, "tenant-a\x00q")
		got, err := s.Open(m, "tenant-a\x00q")
		if err != nil || !bytes.Equal(got, pos) {
			t.Fatalf("round trip of %q: %q, %v", pos, got, err)
		}
		if strings.Contains(m, "01JDK6Q8") || strings.ContainsAny(m, "+/=") {
			t.Errorf("marker %q is not opaque and URL-safe", m)
		}
	}
}

func TestOpaque(t *testing.T) {
	t.Parallel()
	s := sealer(t, "secret")
	a, b := s.Seal([]byte("p"), "q"), s.Seal([]byte("p"), "q")
	if a == b {
		t.Error("the same position sealed twice gives the same marker: positions would be linkable")
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	s := sealer(t, "secret")
	good := s.Seal([]byte("position"), "tenant-a\x00status=failure")
	flip := []byte(good)
	flip[len(flip)/2] ^= 1
	if flip[len(flip)/2] == good[len(good)/2] {
		t.Fatal("flip did nothing")
	}
	cases := []struct {
		name, marker, binding string
		sealer                *marker.Sealer
	}{
		{"flipped character", string(flip), "tenant-a\x00status=failure", s},
		{"truncated", good[:len(good)-3], "tenant-a\x00status=failure", s},
		{"appended", good + "AA", "tenant-a\x00status=failure", s},
		{"empty", "", "tenant-a\x00status=failure", s},
		{"garbage", "not a marker!", "tenant-a\x00status=failure", s},
		{"another tenant", good, "tenant-b\x00status=failure", s},
		{"another query", good, "tenant-a\x00status=success", s},
		{"another deployment's key", good, "tenant-a\x00status=failure", sealer(t, "other secret")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if pos, err := c.sealer.Open(c.marker, c.binding); !errors.Is(err, marker.ErrInvalid) {
				t.Errorf("opened to %q, %v; want ErrInvalid", pos, err)
			}
		})
	}
}

func TestEmptySecret(t *testing.T) {
	t.Parallel()
	if _, err := marker.New(nil); err == nil {
		t.Error("an empty secret was accepted")
	}
}

func FuzzOpen(f *testing.F) {
	s := sealer(f, "secret")
	f.Add(s.Seal([]byte("pos"), "b"), "b")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, m, binding string) {
		// Arbitrary input either opens (only a real marker can) and then round-trips, or
		// is refused with ErrInvalid; it never panics or yields another error.
		pos, err := s.Open(m, binding)
		if err != nil {
			if !errors.Is(err, marker.ErrInvalid) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := s.Open(s.Seal(pos, binding), binding)
		if err != nil || !bytes.Equal(again, pos) {
			t.Fatalf("re-sealed marker does not round-trip: %q %v", again, err)
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	s := sealer(b, "secret")
	pos := []byte("2026-11-25T16:00:00.000Z#01JDK6Q8W7C2N3X9RT0V5M4B1A")
	for b.Loop() {
		m := s.Seal(pos, "tenant-a\x00createdAt\x00true")
		if _, err := s.Open(m, "tenant-a\x00createdAt\x00true"); err != nil {
			b.Fatal(err)
		}
	}
}
