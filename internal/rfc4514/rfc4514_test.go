package rfc4514

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDN(t *testing.T) {
	tests := []struct {
		in   string
		want string // pkix's rendering of the parsed sequence, "" for an empty one
		err  error
	}{
		{"", "", nil},
		{"O=Example,OU=Mobile", "OU=Mobile,O=Example", nil},
		{`O=Example\, Inc.`, `O=Example\, Inc.`, nil},
		{"ou = Mobile ; o = Example", "OU=Mobile,O=Example", nil},
		{"OU=A+OU=B,O=Example", "OU=A+OU=B,O=Example", nil},
		{"O=#0c074578616d706c65", "O=Example", nil},
		{"X=unknown", "", ErrSyntax},
		{"O=a<b", "", ErrSyntax},
		{"O=Example,", "", ErrSyntax},
		{strings.Repeat("O=x,", MaxLength), "", ErrTooLong},
	}
	for _, tc := range tests {
		seq, err := ParseDN(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("ParseDN(%.40q): error %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		var n pkix.Name
		n.FillFromRDNSequence(&seq)
		got := n.String()
		if len(seq) == 0 {
			got = ""
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseDN(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestEscapeRoundTrips(t *testing.T) {
	for _, v := range []string{"plain", " leading", "trailing ", "#hash", `a,b+c;d<e>f"g\h`, "caf\u00e9"} {
		seq, err := ParseDN("O=" + Escape(v))
		if err != nil {
			t.Fatalf("ParseDN(O=%s): %v", Escape(v), err)
		}
		if got := seq[0][0].Value; got != v {
			t.Errorf("round trip of %q: %q", v, got)
		}
	}
}

func FuzzEscapeRoundTrips(f *testing.F) {
	f.Add("Example, Inc.")
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > 256 || strings.ContainsRune(v, 0) {
			return
		}
		seq, err := ParseDN("O=" + Escape(v))
		if err != nil {
			return // not UTF-8: refused, as it should be
		}
		if got := seq[0][0].Value; got != v {
			t.Fatalf("round trip of %q: %q", v, got)
		}
	})
}

func TestFormat(t *testing.T) {
	var (
		cn     = asn1.ObjectIdentifier{2, 5, 4, 3}
		serial = asn1.ObjectIdentifier{2, 5, 4, 5}
		o      = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou     = asn1.ObjectIdentifier{2, 5, 4, 11}
		title  = asn1.ObjectIdentifier{2, 5, 4, 12}
	)
	atv := func(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: v}
	}
	marshal := func(seq pkix.RDNSequence) []byte {
		der, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	tests := []struct {
		name string
		der  []byte
		want string
		err  bool
	}{
		{"empty name", marshal(nil), "", false},
		{"most specific first", marshal(pkix.RDNSequence{{atv(o, "Example")}, {atv(cn, "ann")}}), "CN=ann,O=Example", false},
		{"multi-valued RDN", marshal(pkix.RDNSequence{{atv(o, "Example"), atv(ou, "Mobile")}}), "OU=Mobile+O=Example", false}, // DER sorts the SET
		{"escapes", marshal(pkix.RDNSequence{{atv(cn, ` Ann+Bob, "x" `)}}), `CN=\ Ann\+Bob\, \"x\"\ `, false},
		{"serial number by name", marshal(pkix.RDNSequence{{atv(serial, "a0b6")}}), "SERIALNUMBER=a0b6", false},
		{"type without a keyword as hex", marshal(pkix.RDNSequence{{atv(title, "TEE")}}), "2.5.4.12=#1303544545", false},
		{"a value that is not a string as OID and hex", marshal(pkix.RDNSequence{{atv(cn, 7)}}), "2.5.4.3=#020107", false},
		{"not DER", []byte{0x30, 0x05}, "", true},
		{"data after the name", append(marshal(nil), 0), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Format(tt.der)
			if (err != nil) != tt.err {
				t.Fatalf("Format: error %v, want error %v", err, tt.err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Format (-want +got):\n%s", d)
			}
		})
	}
}

// FuzzFormat checks that ParseDN reads back what Format writes for whatever ParseDN accepts.
func FuzzFormat(f *testing.F) {
	for _, s := range []string{"CN=ann,O=Example", `O=Example\, Inc.+OU=R\2BD`, "CN=#0c0161", "2.5.4.12=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, err := ParseDN(s)
		if err != nil {
			return
		}
		der, err := asn1.Marshal(seq)
		if err != nil {
			return // a value asn1 cannot encode as a string
		}
		formatted, err := Format(der)
		if err != nil {
			t.Fatalf("Format of ParseDN(%q): %v", s, err)
		}
		if len(formatted) > MaxLength {
			return // hex forms are longer than the input
		}
		if _, err := ParseDN(formatted); err != nil {
			t.Fatalf("ParseDN(%q) written as %q, which does not parse: %v", s, formatted, err)
		}
	})
}
