// Package whsec is Standard Webhooks' signing (standardwebhooks.com): the deployment's
// "whsec_" secret and the webhook-signature of a message. The webhooks (shared/webhook) and
// the catalog's http steps (shared/executor) sign with it, so that a receiver verifies both
// with the same library.
package whsec

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts a Standard Webhooks secret: "whsec_" then the key in standard base64.
const SecretPrefix = "whsec_"

// Secret is the deployment's signing key.
type Secret struct{ key []byte }

// MinKeyBytes is the shortest key accepted: Standard Webhooks asks for 24 to 64 random bytes.
const MinKeyBytes = 24

// ParseSecret reads a "whsec_<base64>" secret. The reference libraries accept the base64
// without the prefix too; so does this.
func ParseSecret(s string) (Secret, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix))
	if err != nil {
		return Secret{}, errors.New("webhook secret: not whsec_ followed by base64")
	}
	if len(key) < MinKeyBytes {
		return Secret{}, errors.New("webhook secret: the key must be at least 24 bytes")
	}
	return Secret{key: key}, nil
}

// NewSecret draws a random 32-byte secret, for a local run without WEBHOOK_SECRET.
func NewSecret() Secret {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return Secret{key: key}
}

// String is the secret as WEBHOOK_SECRET holds it (whsec_...).
func (s Secret) String() string { return SecretPrefix + base64.StdEncoding.EncodeToString(s.key) }

// Valid reports whether s holds a key (the zero Secret signs nothing).
func (s Secret) Valid() bool { return len(s.key) >= MinKeyBytes }

// Headers names of Standard Webhooks.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Sign is the webhook-signature value for a message: "v1," then the base64 HMAC-SHA256 of
// "id.timestamp.body" under the key, timestamp in Unix seconds.
func (s Secret) Sign(id string, at time.Time, body []byte) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(id))
	mac.Write([]byte("."))
	mac.Write([]byte(strconv.FormatInt(at.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignedHeaders are the three headers of one delivery attempt of body, made at at.
func (s Secret) SignedHeaders(id string, at time.Time, body []byte) map[string]string {
	return map[string]string{
		HeaderID:        id,
		HeaderTimestamp: strconv.FormatInt(at.Unix(), 10),
		HeaderSignature: s.Sign(id, at, body),
	}
}
