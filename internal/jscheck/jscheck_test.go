package jscheck

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/realmgate/realmgate/project"
)

const script = `var server = WL.Server;
function getOrders(user) {
	WL.Logger.info("orders of " + user);
	java.lang.System.out.println(user);
	return server.invokeHttp({method: 'get', path: '/x', transformation: {type: 'xslFile', xslFile: 'filtered.xsl'}});
}
`

func TestCheckScript(t *testing.T) {
	t.Parallel()
	c := New()
	got, err := c.CheckScript("adapters/Orders/Orders-impl.js", []byte(script))
	if err != nil {
		t.Fatal(err)
	}
	want := &project.ScriptReport{
		Functions: map[string]bool{"server": true, "getOrders": true},
		Refused: []project.ScriptUse{
			{Line: 4, Column: 2, API: "Java (java.lang.System.out.println)", Group: "Java",
				Reason: "there is no Java in the sandbox: Java classes cannot be called",
				Fix:    "call the service the Java code talks to with WL.Server.invokeHttp, or write the procedure as a wasm adapter"},
			{Line: 5, Column: 55, API: "an XSL transformation (filtered.xsl)", Group: "WL.Server.invokeHttp transformation xslFile",
				Reason: "XSL transformations are not applied",
				Fix:    "drop the transformation and shape the JSON that invokeHttp returns in JavaScript"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}

	_, err = c.CheckScript("adapters/Bad/Bad-impl.js", []byte("var x = ;\n"))
	var se *project.ScriptSyntaxError
	if !errors.As(err, &se) || se.Line != 1 {
		t.Errorf("syntax error: got %v, want a *project.ScriptSyntaxError on line 1", err)
	}
	if n := len(c.Reports()); n != 1 {
		t.Errorf("%d reports kept, want the one script that parsed", n)
	}
}

func TestWriteReport(t *testing.T) {
	t.Parallel()
	c := New()
	for _, f := range []string{"adapters/B/B-impl.js", "adapters/A/A-impl.js"} {
		if _, err := c.CheckScript(f, []byte(script)); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := WriteReport(&b, "proj", c.Reports()); err != nil {
		t.Fatal(err)
	}
	want := `proj/adapters/A/A-impl.js: JavaScript adapter, 4 uses of server APIs, 2 refused
  proj/adapters/A/A-impl.js:3:2: WL.Logger.info: supported
  proj/adapters/A/A-impl.js:4:2: Java (java.lang.System.out.println): refused: there is no Java in the sandbox: Java classes cannot be called
  proj/adapters/A/A-impl.js:5:9: WL.Server.invokeHttp: supported
  proj/adapters/A/A-impl.js:5:55: an XSL transformation (filtered.xsl): refused: XSL transformations are not applied
proj/adapters/B/B-impl.js: JavaScript adapter, 4 uses of server APIs, 2 refused
  proj/adapters/B/B-impl.js:3:2: WL.Logger.info: supported
  proj/adapters/B/B-impl.js:4:2: Java (java.lang.System.out.println): refused: there is no Java in the sandbox: Java classes cannot be called
  proj/adapters/B/B-impl.js:5:9: WL.Server.invokeHttp: supported
  proj/adapters/B/B-impl.js:5:55: an XSL transformation (filtered.xsl): refused: XSL transformations are not applied
`
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(b.String(), "\n")); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}
