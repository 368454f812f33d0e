package webhook

import "github.com/tasklane/tasklane/shared/whsec"

// The webhooks' secret and signature are Standard Webhooks', shared with the catalog's http
// steps: see shared/whsec.
type Secret = whsec.Secret

const (
	SecretPrefix    = whsec.SecretPrefix
	MinKeyBytes     = whsec.MinKeyBytes
	HeaderID        = whsec.HeaderID
	HeaderTimestamp = whsec.HeaderTimestamp
	HeaderSignature = whsec.HeaderSignature
)

var (
	ParseSecret = whsec.ParseSecret
	NewSecret   = whsec.NewSecret
)
