// Package marker seals a store's page position into the opaque `marker` of list URLs.
//
// A marker is AES-256-GCM over the position, with the tenant and the canonical query as
// additional authenticated data: clients cannot read it (opaque), cannot alter or forge it
// (tamper-evident), and cannot replay it for another tenant or another filter or order
// (bound). The key comes from configuration, so every function instance of a deployment
// opens the markers of every other.
package marker

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// ErrInvalid is returned for any marker that does not open: altered, forged, truncated, or
// made for another tenant or query. Callers answer 400 INVALID_MARKER.
var ErrInvalid = errors.New("invalid marker")

// Sealer seals and opens markers with one key.
type Sealer struct {
	aead cipher.AEAD
}

// New derives the sealing key from secret (any length; at least 32 random bytes in
// production).
func New(secret []byte) (*Sealer, error) {
	if len(secret) == 0 {
		return nil, errors.New("marker: empty secret")
	}
	key := sha256.Sum256(append([]byte("tasklane marker v1\x00"), secret...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal makes the marker for position, bound to binding (tenant and canonical query).
func (s *Sealer) Seal(position []byte, binding string) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, position, []byte(binding))
	return base64.RawURLEncoding.EncodeToString(out)
}

// Open returns the position sealed in marker, or ErrInvalid.
func (s *Sealer) Open(marker, binding string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(marker)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, ErrInvalid
	}
	n := s.aead.NonceSize()
	pos, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(binding))
	if err != nil {
		return nil, ErrInvalid
	}
	return pos, nil
}
