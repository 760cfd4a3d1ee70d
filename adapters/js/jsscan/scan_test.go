package jsscan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckAPIs(t *testing.T) {
	src := "WL.Logger.info('x');\nvar s = WL.Server.createSQLStatement(\"WL.Server.sendMessage\");\n// WL.Server.sendMessage\nWL.Server.notifyAllDevices();\nvar d = new java.util.Date();\n"
	var got []string
	for _, e := range Check("A-impl.js", src) {
		got = append(got, e.File+":"+itoa(e.Line)+" "+e.API)
	}
	want := []string{"A-impl.js:2 WL.Server.createSQLStatement", "A-impl.js:4 WL.Server.notifyAllDevices", "A-impl.js:5 Java (java.util)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func FuzzCheckAPIs(f *testing.F) {
	f.Add("WL.Server.invokeSQLStatement({}); // java.util\n'\\'' /* x */")
	f.Fuzz(func(t *testing.T, src string) {
		blanked := blankCommentsAndStrings(src)
		if len(blanked) != len(src) || strings.Count(blanked, "\n") != strings.Count(src, "\n") {
			t.Fatalf("blanking changed offsets or lines")
		}
		for _, e := range Check("f.js", src) {
			if e.Line < 1 || e.Line > strings.Count(src, "\n")+1 {
				t.Fatalf("line %d out of range", e.Line)
			}
		}
	})
}
