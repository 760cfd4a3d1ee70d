package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClientAddress(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		peer string
		xff  []string // X-Forwarded-For lines
		want string
	}{
		{"no proxy: the peer", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"an untrusted peer's header is not read", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a trusted peer: the address it forwards", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client's own entries are left of the real one", "10.1.2.3:80", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"trusted hops are skipped", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1, 192.0.2.7, 10.9.9.9"}, "198.51.100.1"},
		{"several header lines read as one list", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"a trusted peer that forwards nothing: the peer", "10.1.2.3:80", nil, "10.1.2.3"},
		{"garbage right of the client: the last trusted hop", "10.1.2.3:80", []string{"198.51.100.1, not-an-address, 10.9.9.9"}, "10.9.9.9"},
		{"garbage from the proxy itself: the peer", "10.1.2.3:80", []string{"nonsense"}, "10.1.2.3"},
		{"every address trusted: the left-most", "10.1.2.3:80", []string{"10.7.7.7, 10.8.8.8"}, "10.7.7.7"},
		{"empty entries are skipped", "10.1.2.3:80", []string{" , 198.51.100.1 ,, "}, "198.51.100.1"},
		{"entries with ports", "10.1.2.3:80", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"IPv6 client", "[fd00::1]:80", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv6 in brackets", "[fd00::1]:80", []string{"[2001:db8::5]:443"}, "2001:db8::5"},
		{"IPv4-mapped peer is IPv4", "[::ffff:10.1.2.3]:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped client is IPv4", "10.1.2.3:80", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"a zone is dropped", "10.1.2.3:80", []string{"fe80::1%eth0"}, "fe80::1"},
		{"a peer that is no address is kept as it is", "pipe", nil, "pipe"},
	}
	c := clientAddrs{trusted: trusted}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, l := range tc.xff {
				r.Header.Add("X-Forwarded-For", l)
			}
			if diff := cmp.Diff(tc.want, c.of(r)); diff != "" {
				t.Errorf("peer %s, X-Forwarded-For %q (-want +got):\n%s", tc.peer, tc.xff, diff)
			}
		})
	}
	// Without trusted proxies, the header is never read.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := (clientAddrs{}).of(r); got != "10.1.2.3" {
		t.Errorf("no trusted proxies: %s, want the peer", got)
	}
}

func TestForwardedChainIsBounded(t *testing.T) {
	trusted, _ := ParseTrustedProxies([]string{"10.0.0.0/8"})
	c := clientAddrs{trusted: trusted}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:80"
	// The client sits left of more trusted hops than are read: the last one read stands for it.
	hops := make([]string, 100)
	for i := range hops {
		hops[i] = netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i % 256)}).String()
	}
	r.Header.Set("X-Forwarded-For", "198.51.100.1, "+strings.Join(hops, ", "))
	if got, want := c.of(r), hops[len(hops)-maxForwardedHops]; got != want {
		t.Errorf("a chain of %d trusted hops: %s, want %s (the %dth from the right)", len(hops), got, want, maxForwardedHops)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies([]string{"10.0.0.0/8", " 192.0.2.7 ", "2001:db8::/32", "::ffff:10.0.0.0/104", "10.1.2.3/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "fe80::1%eth0", "10.0.0.0/8/8"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzForwardedFor: whatever X-Forwarded-For holds, the client is the peer or an address the
// header names, never a trusted proxy unless every address read was one, and always a valid
// address.
func FuzzForwardedFor(f *testing.F) {
	for _, seed := range []string{
		"", "198.51.100.1", "1.1.1.1, 198.51.100.1, 10.0.0.2", "nonsense", " , ,", "[2001:db8::1]:443",
		"::ffff:10.0.0.1", "fe80::1%eth0, 10.0.0.1", strings.Repeat("10.0.0.1,", 40) + "x",
		"198.51.100.1\n10.0.0.1", "1.2.3.4:99999",
	} {
		f.Add(seed, "10.0.0.9")
	}
	trusted, _ := ParseTrustedProxies([]string{"10.0.0.0/8", "fd00::/8"})
	c := clientAddrs{trusted: trusted}
	f.Fuzz(func(t *testing.T, header, peer string) {
		peerAddr, ok := parseHostAddr(peer)
		if !ok || !c.trusts(peerAddr) {
			return // only a trusted peer's header is read (TestClientAddress)
		}
		lines := strings.Split(header, "\n")
		got := forwardedClient(lines, peerAddr, c.trusts)
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("client %v: not a plain address", got)
		}
		if got == peerAddr {
			return
		}
		named := false
		for _, l := range lines {
			for _, e := range strings.Split(l, ",") {
				if a, ok := parseHostAddr(strings.TrimSpace(e)); ok && a == got {
					named = true
				}
			}
		}
		if !named {
			t.Fatalf("client %v is neither the peer nor named by %q", got, header)
		}
		if want := referenceClient(lines, peerAddr, c.trusts); got != want {
			t.Fatalf("X-Forwarded-For %q from %v: client %v, the plain reading gives %v", header, peerAddr, got, want)
		}
	})
}

// referenceClient is forwardedClient written plainly: every entry in order, then read from the
// right.
func referenceClient(lines []string, peer netip.Addr, trusted func(netip.Addr) bool) netip.Addr {
	var entries []string
	for _, l := range lines {
		for _, e := range strings.Split(l, ",") {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
	}
	client := peer
	for i, hops := len(entries)-1, 0; i >= 0 && hops < maxForwardedHops; i, hops = i-1, hops+1 {
		a, ok := parseHostAddr(entries[i])
		if !ok {
			return client
		}
		if !trusted(a) {
			return a
		}
		client = a
	}
	return client
}
