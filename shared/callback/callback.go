// Package callback makes and opens the tokens of callback URLs (/v1/callbacks/{token}): the
// one credential an outside service has to report a callback step's attempt (the contract's
// "Callbacks"). A token is sealed like the list markers (shared/marker: AES-256-GCM with the
// deployment's MARKER_SECRET), with its own binding, so that a marker never opens as a token
// nor a token as a marker. It holds the task id, the subtask, the attempt and the run
// (retryCount): it cannot be read, altered or forged, and it names one attempt only, so that
// a token of an ended attempt (a timeout, a cancel, a retry) finds nothing to report.
package callback

import (
	"encoding/binary"
	"errors"

	"github.com/tasklane/tasklane/shared/marker"
	"github.com/tasklane/tasklane/shared/task"
)

// binding is the additional authenticated data of every token (see the package comment).
const binding = "tasklane callback v1"

// Path is the route of callbacks, with the token's parameter.
const Path = "/v1/callbacks/{token}"

// ErrInvalid: the token does not open (forged, altered, truncated, or another deployment's).
var ErrInvalid = errors.New("invalid callback token")

// Token is what a callback token names.
type Token struct {
	TaskID string
	task.CallbackRef
}

// Seal makes the token of t.
func Seal(s *marker.Sealer, t Token) string {
	b := make([]byte, 0, 12+len(t.TaskID))
	b = binary.AppendUvarint(b, uint64(t.Index))
	b = binary.AppendUvarint(b, uint64(t.Attempt))
	b = binary.AppendUvarint(b, uint64(t.Run))
	b = append(b, t.TaskID...)
	return s.Seal(b, binding)
}

// Open returns what token names, or ErrInvalid.
func Open(s *marker.Sealer, token string) (Token, error) {
	if len(token) == 0 || len(token) > 256 {
		return Token{}, ErrInvalid
	}
	b, err := s.Open(token, binding)
	if err != nil {
		return Token{}, ErrInvalid
	}
	var n [3]uint64
	for i := range n {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > 1<<20 {
			return Token{}, ErrInvalid
		}
		n[i], b = v, b[k:]
	}
	t := Token{TaskID: string(b), CallbackRef: task.CallbackRef{Index: int(n[0]), Attempt: int(n[1]), Run: int(n[2])}}
	if !task.ValidID(t.TaskID) {
		return Token{}, ErrInvalid
	}
	return t, nil
}

// URL is the callback URL of a token (relative to the API's base, as every link of the API).
func URL(token string) string { return "/v1/callbacks/" + token }
