package ratelimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the address ranges whose X-Forwarded-For is believed: the
// load balancers and ingress in front of the service. Anyone else could
// write any address into the header and pick their own rate-limit key.
type Proxies []netip.Prefix

// ParseProxies reads CIDRs or single addresses ("10.0.0.0/8",
// "192.168.1.7").
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an address or CIDR", s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or CIDR", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (p Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client that sent r. The peer
// address is used unless the peer is a trusted proxy; then X-Forwarded-For
// is read from the right, skipping trusted hops, and the first address
// that is not a trusted proxy is the client. Entries left of it were
// written by the client and are ignored.
func (p Proxies) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := parseAddr(host)
	if err != nil || len(p) == 0 || !p.trusts(peer) {
		return host
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := parseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: keep the last hop we could trust
		}
		client = a
		if !p.trusts(a) {
			break
		}
	}
	return client.String()
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, fmt.Errorf("parse address: %w", err)
	}
	return a.Unmap(), nil
}
