package callback_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/callback"
	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/task"
)

type bundle struct {
	sealer *marker.Sealer
	tok    callback.Token
}

func setup(t *testing.T) bundle {
	t.Helper()
	s, err := marker.New([]byte("a secret of at least sixteen bytes"))
	if err != nil {
		t.Fatal(err)
	}
	return bundle{sealer: s, tok: callback.Token{TaskID: "01JDK6Q8W7C2N3X9RT0V5M4B1A", CallbackRef: task.CallbackRef{Index: 2, Attempt: 3, Run: 1}}}
}

// A token opens to what was sealed; an altered, truncated or forged token, a marker, and a
// token of another deployment's secret do not.
func TestSealOpen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok := callback.Seal(b.sealer, b.tok)
	got, err := callback.Open(b.sealer, tok)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(b.tok, got); d != "" {
		t.Errorf("opened (-want +got):\n%s", d)
	}
	if tok == callback.Seal(b.sealer, b.tok) {
		t.Error("two seals of one token are the same string: tokens are not randomised")
	}
	flipped := []byte(tok)
	flipped[len(flipped)/2] ^= 1
	other, _ := marker.New([]byte("another deployment's secret!!"))
	for name, bad := range map[string]string{
		"empty":     "",
		"altered":   string(flipped),
		"truncated": tok[:len(tok)-3],
		"forged":    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"marker":    b.sealer.Seal([]byte("x"), "v1\x00t"),
		"foreign":   callback.Seal(other, b.tok),
	} {
		if _, err := callback.Open(b.sealer, bad); !errors.Is(err, callback.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
