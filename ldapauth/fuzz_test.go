package ldapauth_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/realmgate/realmgate/ldapauth"
)

var fuzzNames = []string{"alice", "*)(uid=*", "admin)(|(a=*", "a,b+c=d", " #lead", "trail ", `\`, "nul\x00", "é", "=", "#", ""}

// FuzzPrincipalFor: whatever the user name, the principal pattern's DN parses and its first
// RDN's value is the name itself: a name cannot add, remove or change an RDN.
func FuzzPrincipalFor(f *testing.F) {
	for _, s := range fuzzNames {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || !utf8.ValidString(name) {
			return
		}
		dn := ldapauth.PrincipalFor("uid={username},ou=people,dc=example,dc=com", name)
		parsed, err := ldap.ParseDN(dn)
		if err != nil {
			t.Fatalf("PrincipalFor(%q) = %q does not parse: %v", name, dn, err)
		}
		if len(parsed.RDNs) != 4 || len(parsed.RDNs[0].Attributes) != 1 {
			t.Fatalf("PrincipalFor(%q) = %q has %d RDNs, want 4 with one attribute first", name, dn, len(parsed.RDNs))
		}
		if a := parsed.RDNs[0].Attributes[0]; !strings.EqualFold(a.Type, "uid") || a.Value != name {
			t.Fatalf("PrincipalFor(%q) = %q reads back as %s=%q", name, dn, a.Type, a.Value)
		}
	})
}

// FuzzFilterFor: whatever the user name, the filter pattern compiles to the same filter shape,
// an equality match whose value is the name itself.
func FuzzFilterFor(f *testing.F) {
	for _, s := range fuzzNames {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		filter := ldapauth.FilterFor("(uid={username})", name, "")
		p, err := ldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("FilterFor(%q) = %q does not compile: %v", name, filter, err)
		}
		if p.Tag != ldap.FilterEqualityMatch || len(p.Children) != 2 {
			t.Fatalf("FilterFor(%q) = %q is not one equality match", name, filter)
		}
		if got := p.Children[1].Data.String(); got != name {
			t.Fatalf("FilterFor(%q) = %q matches the value %q", name, filter, got)
		}
	})
}
