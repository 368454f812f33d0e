package auth

import (
	"context"
	"strings"

	"github.com/tasklane/tasklane/shared/usecase"
)

// DefaultTenant is who a request without credentials acts as locally.
const DefaultTenant = "local"

// DevTokenPrefix starts a local bearer token: "dev:<tenant>" acts as that tenant,
// "dev:<tenant>:<roles>" (comma-separated, e.g. "dev:ops:admin", "dev:svc:service") as that
// tenant with those roles.
const DevTokenPrefix = "dev:"

// Dev is the local runner's Authenticator when no issuer is configured: no Authorization acts
// as DefaultTenant, a dev token names the tenant and roles, anything else is 401 as a bad token
// would be. It trusts its caller completely, so shared/app never wires it in Lambda.
type Dev struct{}

// Authenticate implements Authenticator.
func (Dev) Authenticate(_ context.Context, authorization string) (usecase.Principal, error) {
	if strings.TrimSpace(authorization) == "" {
		return usecase.Principal{Tenant: DefaultTenant, User: DefaultTenant}, nil
	}
	tok, err := bearer(authorization)
	if err != nil {
		return usecase.Principal{}, err
	}
	rest, ok := strings.CutPrefix(tok, DevTokenPrefix)
	if !ok {
		return usecase.Principal{}, invalid("not a dev token (no JWT_ISSUER is configured, so only dev:<tenant>[:<roles>] is accepted)", nil)
	}
	tenant, roles, _ := strings.Cut(rest, ":")
	// The roles part may separate roles with commas (the contract's form) or further colons
	// (dev:<tenant>:admin:service, as the runner always accepted).
	var rs []any
	for _, r := range strings.FieldsFunc(roles, func(r rune) bool { return r == ',' || r == ':' || r == ' ' }) {
		rs = append(rs, r)
	}
	var rolesClaim any
	if rs != nil {
		rolesClaim = rs
	}
	return principal(tenant, rolesClaim, tenant, Claims{Tenant: "dev token tenant", Roles: "dev token roles"})
}
