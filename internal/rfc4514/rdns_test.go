package rfc4514

import (
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestRDNs checks the subject built from a PKI bridge's additionalSubject object: one attribute
// per RDN, most general first, whatever the order or case of the object's types.
func TestRDNs(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]string
		want  string // Format of the DER, most specific first; "" for an empty sequence
		err   string
	}{
		{"none", nil, "", ""},
		{"organization", map[string]string{"O": "IBM"}, "O=IBM", ""},
		{"general to specific", map[string]string{"OU": "Mobile", "C": "US", "O": "IBM", "L": "Armonk", "ST": "NY", "DC": "ibm", "STREET": "1 New Orchard Rd"},
			"OU=Mobile,O=IBM,STREET=1 New Orchard Rd,L=Armonk,ST=NY,C=US,DC=ibm", ""},
		{"other types after, by OID", map[string]string{"SERIALNUMBER": "42", "uid": "u1", "O": "IBM"}, "SERIALNUMBER=42,UID=u1,O=IBM", ""},
		{"types in any case", map[string]string{"ou": "Mobile", "o": "IBM"}, "OU=Mobile,O=IBM", ""},
		{"values kept as given", map[string]string{"O": "Example, Inc. +#<>\\", "OU": "Société Générale"}, `OU=Société Générale,O=Example\, Inc. \+#\<\>\\`, ""},

		{"unknown type", map[string]string{"FOO": "bar"}, "", `unknown attribute type "FOO"`},
		{"empty type", map[string]string{"": "bar"}, "", "empty attribute type"},
		{"bad OID", map[string]string{"1.02": "x"}, "", "bad OID"},
		{"a type twice", map[string]string{"O": "a", "o": "b"}, "", `names O twice ("O" and "o")`},
		{"a type twice, by name and OID", map[string]string{"O": "a", "2.5.4.10": "b"}, "", `names O twice ("2.5.4.10" and "O")`},
		{"empty value", map[string]string{"O": ""}, "", "the value of O is empty"},
		{"not UTF-8", map[string]string{"O": "\xff"}, "", "the value of O is not UTF-8"},
		{"too long", map[string]string{"O": strings.Repeat("x", MaxValueLength+1)}, "", "the value of O is over"},
		{"too many", func() map[string]string {
			m := map[string]string{}
			for i := range MaxAttributes + 1 {
				m[fmt.Sprintf("2.5.4.%d", 100+i)] = "v"
			}
			return m
		}(), "", "at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seq, err := RDNs(tc.attrs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrSyntax) {
					t.Fatalf("RDNs(%q): error %v, want one matching ErrSyntax that says %q", tc.attrs, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("RDNs(%q): %v", tc.attrs, err)
			}
			for _, rdn := range seq {
				if len(rdn) != 1 {
					t.Errorf("RDN %v holds %d attributes, want 1", rdn, len(rdn))
				}
			}
			der, err := asn1.Marshal(seq)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Format(der)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("RDNs(%q) (-want +got):\n%s", tc.attrs, d)
			}
		})
	}
}

// FuzzRDNs feeds RDNs any JSON object of strings: a subject it builds marshals, holds each type
// once, and reads back (through Format and ParseDN) as the attributes it was built from.
func FuzzRDNs(f *testing.F) {
	for _, s := range []string{`{"O":"IBM"}`, `{"o":"a","OU":"b","2.5.4.3":"c"}`, `{"O":"a\\,b+c"}`, `{"":"x"}`, `{"DC":"a","dc":"b"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		var attrs map[string]string
		if json.Unmarshal([]byte(js), &attrs) != nil {
			return
		}
		seq, err := RDNs(attrs)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("RDNs(%q): error without ErrSyntax: %v", attrs, err)
			}
			return
		}
		if len(seq) != len(attrs) {
			t.Fatalf("RDNs(%q) has %d RDNs, want %d", attrs, len(seq), len(attrs))
		}
		der, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatalf("RDNs(%q) does not marshal: %v", attrs, err)
		}
		s, err := Format(der)
		if err != nil {
			t.Fatalf("Format of RDNs(%q): %v", attrs, err)
		}
		again, err := ParseDN(s)
		if err != nil {
			t.Fatalf("ParseDN(%q) of RDNs(%q): %v", s, attrs, err)
		}
		if d := cmp.Diff(seq, again, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("RDNs(%q) through %q (-built +read):\n%s", attrs, s, d)
		}
	})
}
