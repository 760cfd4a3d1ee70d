package rfc4514

import (
	"crypto/x509/pkix"
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
