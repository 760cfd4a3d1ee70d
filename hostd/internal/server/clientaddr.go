package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The client's address keys the per-client rate limits and the engine's per-client login
// backoff, so a client must not be able to choose it. It is the connection's peer, except when
// the peer is a trusted proxy (Options.TrustedProxies, the load balancers in front of the
// daemon): the client is then the right-most address of X-Forwarded-For that is not a trusted
// proxy. Everything left of it was written by the client itself, or by proxies nobody vouches
// for, and is never read.

// maxForwardedHops bounds how many X-Forwarded-For entries are read, right to left: a chain of
// trusted proxies is short, and a header that lists thousands of addresses costs no more than
// this many parses.
const maxForwardedHops = 32

// ParseTrustedProxies parses CIDRs ("10.0.0.0/8") and single addresses ("192.0.2.7", read as
// a /32 or /128) of trusted proxies. An IPv4-mapped IPv6 prefix is read as its IPv4 one.
func ParseTrustedProxies(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		e = strings.TrimSpace(e)
		var p netip.Prefix
		if strings.Contains(e, "/") {
			var err error
			if p, err = netip.ParsePrefix(e); err != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", e)
			}
		} else {
			a, err := netip.ParseAddr(e)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or a CIDR such as 10.0.0.0/8", e)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("%q: an address with a zone cannot be a trusted proxy", e)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// clientAddrs finds the client's address of a request.
type clientAddrs struct {
	trusted []netip.Prefix
}

// trusts reports whether a is a trusted proxy.
func (c clientAddrs) trusts(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// of returns the client address of r: the peer, or when the peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not one (forwardedClient).
func (c clientAddrs) of(r *http.Request) string {
	peer, ok := parseHostAddr(r.RemoteAddr)
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	if len(c.trusted) == 0 || !c.trusts(peer) {
		return peer.String()
	}
	return forwardedClient(r.Header.Values("X-Forwarded-For"), peer, c.trusts).String()
}

// forwardedClient reads X-Forwarded-For (its header lines in order, each a comma-separated list
// that proxies append to) from the right: each address that trusted says is a proxy passed the
// request on, and the first one that is not is the client. peer is the trusted proxy that sent
// the request. An entry that is not an address ends the reading: what lies left of it cannot
// be told apart from what the client wrote, and the last trusted hop read (peer when none)
// stands for the client. When every address read is trusted (the client sits inside a trusted
// network, or the chain is longer than maxForwardedHops), the left-most one read is the client.
func forwardedClient(lines []string, peer netip.Addr, trusted func(netip.Addr) bool) netip.Addr {
	client := peer
	hops := 0
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for {
			j := strings.LastIndexByte(rest, ',')
			if entry := strings.TrimSpace(rest[j+1:]); entry != "" { // "a, , b": an empty entry says nothing
				hops++
				a, ok := parseHostAddr(entry)
				if !ok {
					return client
				}
				if !trusted(a) {
					return a
				}
				client = a
				if hops >= maxForwardedHops {
					return client
				}
			}
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
	}
	return client
}

// parseHostAddr parses an address as a peer or an X-Forwarded-For entry writes it: "192.0.2.1",
// "2001:db8::1", "192.0.2.1:443", "[2001:db8::1]:443" or "[2001:db8::1]". The address comes
// back without its zone and, for an IPv4-mapped IPv6 address, as IPv4.
func parseHostAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		switch {
		case err2 == nil:
			a = ap.Addr()
		case len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']':
			if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, false
			}
		default:
			return netip.Addr{}, false
		}
	}
	return a.WithZone("").Unmap(), true
}
