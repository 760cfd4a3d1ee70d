package jscheck

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

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

// custom is an adapter folder whose filtered.xsl is a stylesheet of its own.
var custom = fstest.MapFS{"filtered.xsl": {Data: []byte(`<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/">{}</xsl:template></xsl:stylesheet>`)}}

// stock is an adapter folder holding Worklight's template filtered.xsl, comments and all.
var stock = fstest.MapFS{"filtered.xsl": {Data: []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!--
    Licensed Materials - Property of IBM
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:h="http://www.w3.org/1999/xhtml">
    <xsl:output method="text"/>
    <xsl:template match="/">
        {
            'Items': [
                <xsl:for-each select="//item">
                    {
                        'title': '<xsl:value-of select="title"/>',
                        'guid': '<xsl:value-of select="guid"/>',
                        'link': '<xsl:value-of select="link"/>',
                        'description': '<xsl:value-of select="description"/>',
                        'pubDate': '<xsl:value-of select="pubDate"/>'
                    },
                </xsl:for-each>
            ]
        }
    </xsl:template>
</xsl:stylesheet>
`)}}

// TestStylesheets: a transformation with Worklight's stock filtered.xsl is supported; one with
// another stylesheet, or naming a file the folder lacks or outside it, is refused saying which.
func TestStylesheets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		xslFile string
		folder  fstest.MapFS
		refused string
	}{
		{"stock", "filtered.xsl", stock, ""},
		{"custom", "filtered.xsl", custom, "of XSL stylesheets, only Worklight's stock filtered.xsl (an RSS feed to {Items: [...]}) is applied"},
		{"missing", "rss.xsl", stock, "the adapter's folder holds no readable rss.xsl"},
		{"outside", "../other/filtered.xsl", stock, `"../other/filtered.xsl" is not the name of a file in the adapter's folder`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "function getFeed() { return WL.Server.invokeHttp({transformation: {type: 'xslFile', xslFile: '" + tt.xslFile + "'}}); }"
			r, err := New().CheckScript("adapters/Feed/Feed-impl.js", []byte(src), tt.folder)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if len(r.Refused) > 0 {
				got = r.Refused[0].Reason
			}
			if got != tt.refused {
				t.Errorf("refused %q, want %q", got, tt.refused)
			}
		})
	}
}

func TestCheckScript(t *testing.T) {
	t.Parallel()
	c := New()
	got, err := c.CheckScript("adapters/Orders/Orders-impl.js", []byte(script), custom)
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
				Reason: "of XSL stylesheets, only Worklight's stock filtered.xsl (an RSS feed to {Items: [...]}) is applied",
				Fix:    "drop the transformation and shape the JSON that invokeHttp returns in JavaScript"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}

	_, err = c.CheckScript("adapters/Bad/Bad-impl.js", []byte("var x = ;\n"), custom)
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
		if _, err := c.CheckScript(f, []byte(script), custom); err != nil {
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
  proj/adapters/A/A-impl.js:5:55: an XSL transformation (filtered.xsl): refused: of XSL stylesheets, only Worklight's stock filtered.xsl (an RSS feed to {Items: [...]}) is applied
proj/adapters/B/B-impl.js: JavaScript adapter, 4 uses of server APIs, 2 refused
  proj/adapters/B/B-impl.js:3:2: WL.Logger.info: supported
  proj/adapters/B/B-impl.js:4:2: Java (java.lang.System.out.println): refused: there is no Java in the sandbox: Java classes cannot be called
  proj/adapters/B/B-impl.js:5:9: WL.Server.invokeHttp: supported
  proj/adapters/B/B-impl.js:5:55: an XSL transformation (filtered.xsl): refused: of XSL stylesheets, only Worklight's stock filtered.xsl (an RSS feed to {Items: [...]}) is applied
`
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(b.String(), "\n")); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}
