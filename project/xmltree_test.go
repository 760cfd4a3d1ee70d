package project

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAttrLines: a diagnostic about an attribute points at the attribute's line, also in a start
// tag that spans lines, with quoted values that hold '=', quotes of the other kind or newlines,
// and with CRLF line endings.
func TestAttrLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      map[string]int // attribute name -> line of the root element's attribute
	}{
		{"one line", `<a x="1" securityTest="t"/>`, map[string]int{"x": 1, "securityTest": 1}},
		{"tag over lines", "\n<a\n  x=\"1\"\n  securityTest=\"t\"\n/>", map[string]int{"x": 3, "securityTest": 4}},
		{"values with = and quotes", "<a x='a=\"b\"'\n y=\"c='d'=\"\n securityTest = \"t\"/>", map[string]int{"x": 1, "y": 2, "securityTest": 3}},
		{"newline inside a value", "<a x=\"one\ntwo\" securityTest=\"t\"/>", map[string]int{"x": 1, "securityTest": 2}},
		{"crlf", "<?xml version=\"1.0\"?>\r\n<a xmlns=\"urn:x\"\r\n securityTest=\"t\">\r\n</a>", map[string]int{"securityTest": 3}},
		{"absent attribute is the element's line", "\n\n<a\n x=\"1\"/>", map[string]int{"securityTest": 3, "x": 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root, err := parseXML([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for name := range tc.want {
				got[name] = root.attrLine(name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("attribute lines (-want +got):\n%s", diff)
			}
		})
	}
}
