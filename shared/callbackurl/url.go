// Package callbackurl is where a task's webhooks may go: the policy a create's callbackUrl is
// held to (CheckURL) and the dial control that holds every delivery to it again on the
// resolved address (Control). It stands apart from shared/webhook so that the use cases can
// check a URL without linking the delivery machinery.
package callbackurl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// MaxURLLength bounds a callbackUrl: longer URLs are refused by many servers anyway.
const MaxURLLength = 2048

// CheckURL says why raw cannot be a task's callbackUrl, or nil. Deployed (local false) it
// must be https to a public host: a literal IP that is private, loopback, link-local,
// unspecified or otherwise not globally routable is refused here, and a name that
// resolves to one is refused when a delivery dials it (Control), so that DNS rebinding
// cannot reach it either. Locally (local true, the local runner's setting) any https URL
// is accepted and http only to a loopback host, so that a developer's receiver on
// 127.0.0.1 gets the webhooks. Credentials in the URL are refused in both: they would be
// stored and shown in the task.
func CheckURL(raw string, local bool) error {
	if len(raw) > MaxURLLength {
		return fmt.Errorf("must be at most %d characters", MaxURLLength)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' || c == '<' || c == '>' {
			return errors.New("must be printable ASCII without spaces, quotes, backslashes or angle brackets (percent-encode them)")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute URL")
	}
	if u.User != nil {
		return errors.New("must not carry credentials")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !local {
			return errors.New("must be https")
		}
		if !loopbackHost(host) {
			return errors.New("must be https (http only to a loopback host locally)")
		}
		return nil
	default:
		return errors.New("must be https")
	}
	if local {
		return nil
	}
	if loopbackName(host) {
		return errors.New("must not name a loopback host")
	}
	if ip, err := netip.ParseAddr(host); err == nil && Forbidden(ip) {
		return errors.New("must not be a private, loopback, link-local or unspecified address")
	}
	return nil
}

// loopbackHost reports whether host is localhost or a loopback address.
func loopbackHost(host string) bool {
	if loopbackName(host) {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// loopbackName reports whether host is localhost or a name under .localhost (RFC 6761).
func loopbackName(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// notGlobal are ranges outside net/netip's predicates that no public receiver has: "this
// network", shared address space (carrier-grade NAT), IETF protocol assignments,
// documentation, benchmarking and reserved ranges, NAT64 well-known prefix aside.
var notGlobal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// Forbidden reports whether a deployed delivery must not reach ip: private (RFC 1918, fc00::/7,
// which holds the IPv6 instance metadata address), loopback, link-local (169.254.169.254, the
// instance metadata service, among them), unspecified, multicast, or another range that is
// not globally routable. IPv4-mapped IPv6 addresses are judged as the IPv4 address.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range notGlobal {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ErrForbiddenAddress is a delivery's dial refused by Control.
var ErrForbiddenAddress = errors.New("callbackurl: the receiver's address is private, loopback or link-local")

// Control is a net.Dialer Control that refuses to connect to a Forbidden address. It runs on
// the address actually dialled, after name resolution, so a name that resolves (or is
// rebound) to a private address is refused as a literal one is at create. local allows every
// address (the local runner delivers to 127.0.0.1).
func Control(local bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if local {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || Forbidden(ip) {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
		}
		return nil
	}
}
