package engine

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The dummy hash an unknown user name is checked against has the cost of the file's hashes.
func TestPasswordFileDummyHashHasTheFilesCost(t *testing.T) {
	for _, costs := range [][]int{{4}, {5, 5, 4}, {6}} {
		users := map[string][]byte{}
		for i, c := range costs {
			h, err := bcrypt.GenerateFromPassword([]byte("pw"), c)
			if err != nil {
				t.Fatal(err)
			}
			users[fmt.Sprint("u", i)] = h
		}
		p := newPasswordFile(users)
		got, err := bcrypt.Cost(p.dummy)
		if err != nil || got != costs[0] {
			t.Errorf("costs %v: dummy hash cost %d (%v), want %d", costs, got, err, costs[0])
		}
		if _, err := p.login(t.Context(), credentials{username: "nobody", password: "pw"}); err != errWrongCredentials {
			t.Errorf("unknown user: %v, want wrong credentials", err)
		}
	}
}

// FuzzClientKey checks the per-client counter key: one key per IPv4 address (mapped or not) and
// per IPv6 /64, "" for what is not an address.
func FuzzClientKey(f *testing.F) {
	for _, seed := range []string{"192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "fe80::1%eth0", "", "not an ip", "2001:db8:0:0:ffff::", "::ffff:0:0:0"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ip string) {
		k := clientKey(ip)
		a, err := netip.ParseAddr(ip)
		if err != nil {
			if k != "" {
				t.Fatalf("%q is no address but has key %q", ip, k)
			}
			return
		}
		if !strings.HasPrefix(k, "client:") || k != clientKey(ip) {
			t.Fatalf("%q: key %q", ip, k)
		}
		a = a.Unmap().WithZone("")
		if a.Is4() {
			if k != "client:"+a.String() {
				t.Fatalf("%q: key %q, want the IPv4 address", ip, k)
			}
			return
		}
		// Every address of the /64 shares the key.
		b := a.As16()
		for i := 8; i < 16; i++ {
			b[i] ^= 0xff
		}
		other := netip.AddrFrom16(b)
		if other.Is4In6() {
			return // ::/64 holds the IPv4-mapped addresses, each its IPv4 client
		}
		if other := clientKey(other.String()); other != k {
			t.Fatalf("%q and another address of its /64 have keys %q and %q", ip, k, other)
		}
	})
}
