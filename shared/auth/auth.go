// Package auth turns a request's Authorization header into the principal it runs as. The
// functions verify bearer tokens themselves (issuer, audience, signature against the issuer's
// JWKS, expiry) rather than trusting an API Gateway authorizer, so that a request reaching a
// function any other way (`sam local start-api`, a direct invoke, a misconfigured route) is
// held to the same rules as one through the deployed API.
//
// Two Authenticators exist: Verifier checks real JWTs (Lambda, or locally with JWT_ISSUER
// set); Dev accepts the local runner's dev tokens ("dev:<tenant>[:<roles>]") and is never
// wired in Lambda (see shared/app).
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/tasklane/tasklane/shared/usecase"
)

// Authenticator is how a handler learns who asks: the raw Authorization header in, the
// principal out, or an error that is (errors.Is) usecase.ErrUnauthenticated for a missing or bad
// token. Any other error (the issuer's keys cannot be fetched) is the server's fault.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (usecase.Principal, error)
}

// Claims names the JWT claims the principal is read from.
type Claims struct {
	// Tenant is the claim holding the tenant id, e.g. "tenant" or "custom:tenant".
	Tenant string
	// Roles is the claim holding the roles; the role "admin" sees all tenants.
	Roles string
}

// DefaultClaims are the claim names when configuration names none.
var DefaultClaims = Claims{Tenant: "tenant", Roles: "roles"}

// AdminRole is the role that sees every tenant's tasks.
const AdminRole = "admin"

// MaxTenant is the longest tenant id accepted (the contract's 1..128 characters).
const MaxTenant = 128

// Error is an unauthenticated request. Reason is for the log (it may name the claim or the
// check that failed); clients get Detail, which says only whether a token was missing or bad.
type Error struct {
	// InvalidToken is true when a token was given but is not acceptable (RFC 6750's
	// error="invalid_token"); false when there was no bearer token at all.
	InvalidToken bool
	Reason       string
	Err          error
}

func (e *Error) Error() string {
	s := "unauthenticated: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes every Error an usecase.ErrUnauthenticated, the sentinel the problem table maps to 401.
func (e *Error) Is(target error) bool { return target == usecase.ErrUnauthenticated }

func (e *Error) Unwrap() error { return e.Err }

// Detail is the client-facing sentence: it never says which check failed, so that a caller
// probing with forged tokens learns nothing about the configuration.
func (e *Error) Detail() string {
	if e.InvalidToken {
		return "The bearer token is not valid."
	}
	return "The request needs a bearer token (Authorization: Bearer <token>)."
}

// WWWAuthenticate is the challenge to send with the 401 (RFC 6750 section 3).
func (e *Error) WWWAuthenticate() string {
	if e.InvalidToken {
		return `Bearer error="invalid_token"`
	}
	return "Bearer"
}

func noToken(reason string) error { return &Error{Reason: reason} }

func invalid(reason string, err error) error {
	return &Error{InvalidToken: true, Reason: reason, Err: err}
}

// ErrKeysUnavailable is returned when a token cannot be checked because the issuer's keys
// cannot be fetched: not the client's fault, so not a 401 (clients would drop good tokens).
var ErrKeysUnavailable = errors.New("the issuer's signing keys are unavailable")

// bearer extracts the token of "Bearer <token>" (the scheme is case-insensitive, RFC 7235).
func bearer(authorization string) (string, error) {
	authorization = strings.TrimSpace(authorization)
	if authorization == "" {
		return "", noToken("no Authorization header")
	}
	scheme, tok, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", noToken("the Authorization header is not a bearer token")
	}
	// One space and a token68 (RFC 6750 section 2.1): anything looser is refused, not
	// repaired, so that every component reads the header the same way.
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", invalid("the bearer token is empty or has spaces", nil)
	}
	return tok, nil
}

// ValidTenant says whether s is a tenant id: 1..128 characters of [A-Za-z0-9._:@-]. Tenant
// ids end up in keys, index partitions and markers, so anything else is refused up front.
func ValidTenant(s string) bool {
	if len(s) == 0 || len(s) > MaxTenant {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == ':' || c == '@' || c == '-':
		default:
			return false
		}
	}
	return true
}

// principal builds the principal from claim values as a token carries them.
func principal(tenant any, roles any, user string, claims Claims) (usecase.Principal, error) {
	t, ok := tenant.(string)
	if !ok {
		if tenant == nil {
			return usecase.Principal{}, invalid("no tenant claim "+claims.Tenant, nil)
		}
		return usecase.Principal{}, invalid("tenant claim "+claims.Tenant+" is not a string", nil)
	}
	if !ValidTenant(t) {
		return usecase.Principal{}, invalid("tenant claim "+claims.Tenant+" is not 1..128 characters of [A-Za-z0-9._:@-]", nil)
	}
	p := usecase.Principal{Tenant: t, User: user}
	switch r := roles.(type) {
	case nil:
	case string:
		p.Roles = SplitRoles(r)
	case []any:
		for _, v := range r {
			s, ok := v.(string)
			if !ok {
				return usecase.Principal{}, invalid("roles claim "+claims.Roles+" has an element that is not a string", nil)
			}
			if s = strings.TrimSpace(s); s != "" {
				p.Roles = append(p.Roles, s)
			}
		}
	case []string:
		p.Roles = r
	default:
		return usecase.Principal{}, invalid("roles claim "+claims.Roles+" is neither a string nor an array of strings", nil)
	}
	// Only the roles claim grants admin, not OAuth scopes: clients can often ask for scopes
	// themselves.
	for _, role := range p.Roles {
		if role == AdminRole {
			p.Admin = true
		}
	}
	return p, nil
}

// SplitRoles reads a roles claim given as a string: a JSON array `["a","b"]`, an array
// flattened as API Gateway passes it ("[a b]"), or a list separated by commas or spaces.
func SplitRoles(v string) []string {
	v = strings.TrimSpace(v)
	var arr []string
	if strings.HasPrefix(v, "[\"") && json.Unmarshal([]byte(v), &arr) == nil {
		return arr
	}
	v = strings.Trim(v, "[]")
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}
