package pkcs9

import (
	"encoding/asn1"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAttributeOID(t *testing.T) {
	tests := []struct {
		name string
		want asn1.ObjectIdentifier
		err  string
	}{
		{"challengePassword", asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, ""},
		{"CHALLENGEPASSWORD", asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, ""},
		{"unstructuredName", asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 2}, ""},
		{"unstructuredAddress", asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 8}, ""},
		{"1.2.840.113549.1.9.7", asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, ""},
		{"2.999.5", asn1.ObjectIdentifier{2, 999, 5}, ""},

		{"", nil, "empty attribute name"},
		{"favouriteColour", nil, `unsupported CSR attribute: "favouriteColour"`},
		{"O", nil, `unsupported CSR attribute: "O"`},
		{"1.02", nil, "bad OID"},
		{"extensionRequest", nil, "extensionRequest"},
		{"1.2.840.113549.1.9.14", nil, "extensionRequest"},
	}
	for _, tc := range tests {
		got, err := AttributeOID(tc.name)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("AttributeOID(%q): error %v, want one that says %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("AttributeOID(%q): %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("AttributeOID(%q) (-want +got):\n%s", tc.name, d)
		}
	}
}
