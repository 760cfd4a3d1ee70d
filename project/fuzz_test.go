package project

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// xmlSeeds are documents shaped like real configuration files, and a few broken ones.
func xmlSeeds() [][]byte {
	seeds := []string{
		authConfig(`
	<staticResources>
		<resource id="subscribeServlet" securityTest="SubscribeServlet">
			<urlPatterns>/subscribeSMS*;/receiveSMS*;/ussd*</urlPatterns>
		</resource>
	</staticResources>
	<securityTests>
		<mobileSecurityTest name="mobileTests">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="none" />
			<testUser realm="myMobileLoginForm" />
			<testDirectUpdate mode="perSession" />
		</mobileSecurityTest>
		<webSecurityTest name="webTests">
			<testUser realm="myWebLoginForm"/>
		</webSecurityTest>
		<customSecurityTest name="customTests">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="wl_authenticityRealm" step="1"/>
			<test realm="wl_remoteDisableRealm" step="1"/>
			<test realm="wl_directUpdateRealm" mode="perSession" step="1"/>
			<test realm="wl_anonymousUserRealm" isInternalUserID="true" step="1"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="2"/>
		</customSecurityTest>
		<customSecurityTest name="SubscribeServlet">
			<test realm="SubscribeServlet" isInternalUserID="true"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="SampleAppRealm" loginModule="StrongDummy">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="SubscribeServlet" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
		</realm>
		<realm name="myMobileLoginForm" loginModule="StrongDummy">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="AuthAdapter.onAuthRequired"/>
			<parameter name="logout-function">AuthAdapter.onLogout</parameter>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="StrongDummy" expirationInSeconds="-1">
			<className>com.worklight.core.auth.ext.NonValidatingLoginModule</className>
		</loginModule>
		<loginModule name="rejectAll" ssoDeviceLoginModule="WLDeviceNoProvisioningLoginModule">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
	</loginModules>
`),
		"\ufeff<?xml version=\"1.0\"?>\r\n<!-- © -->\r\n<loginConfiguration><securityTests><customSecurityTest name=\"Prüfung\"><test realm=\"wl_anonymousUserRealm\" isInternalUserId=\"TRUE\"/></customSecurityTest></securityTests></loginConfiguration>\r\n",
		"<loginConfiguration><securityTests><mobileSecurityTest name=\"m\"><testDeviceId provisioningType=\"auto\"/></mobileSecurityTest></securityTests></loginConfiguration>",
		"<loginConfiguration><securityTests><customSecurityTest name=\"c\"><test realm=\"a\" step=\"99999999999999999999\"/></customSecurityTest></securityTests></loginConfiguration>",
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><loginConfiguration/>",
		"<!DOCTYPE x [<!ENTITY a \"b\">]><loginConfiguration>&a;</loginConfiguration>",
		"<loginConfiguration><realms><realm name=\"x\"",
		"<a/><b/>",
		"",
		"<a>\x00</a>",
		"<a xmlns:p=\"u\"><p:b p:c=\"1\"/></a>",
	}
	var out [][]byte
	for _, s := range seeds {
		out = append(out, []byte(s))
	}
	// The example projects and, when present, the real projects beside the repository.
	for _, pattern := range []string{
		filepath.Join("..", "testdata", "projects", "*", "server", "conf", "authenticationConfig.xml"),
		filepath.Join(corpusDir, "*", "server", "conf", "authenticationConfig.xml"),
	} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				out = append(out, data)
			}
		}
	}
	return out
}

// FuzzParseXML: parseXML never panics; an error is an *XMLError with a line inside the document,
// and every element of a parsed tree has one.
func FuzzParseXML(f *testing.F) {
	for _, s := range xmlSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		root, err := parseXML(data)
		if err != nil {
			var xe *XMLError
			if !errors.As(err, &xe) {
				t.Fatalf("error %v (%T) is not an *XMLError", err, err)
			}
			if xe.Line < 1 || xe.Line > lines {
				t.Fatalf("error %q at line %d of a %d-line document", err, xe.Line, lines)
			}
			if root != nil {
				t.Fatal("a tree returned with an error")
			}
			return
		}
		if root == nil {
			t.Fatal("no tree and no error")
		}
		var walk func(n *node, depth int)
		walk = func(n *node, depth int) {
			if n.Line < 1 || n.Line > lines {
				t.Fatalf("element <%s> at line %d of a %d-line document", n.Name, n.Line, lines)
			}
			if depth > maxDepth {
				t.Fatalf("tree deeper than %d", maxDepth)
			}
			if n.AttrLines != nil && len(n.AttrLines) != len(n.Attrs) {
				t.Fatalf("element <%s>: %d attribute lines for %d attributes", n.Name, len(n.AttrLines), len(n.Attrs))
			}
			for i, al := range n.AttrLines {
				if al < n.Line || al > lines || (i > 0 && al < n.AttrLines[i-1]) {
					t.Fatalf("element <%s> at line %d: attribute %s at line %d (lines %v) of a %d-line document", n.Name, n.Line, n.Attrs[i].Name.Local, al, n.AttrLines, lines)
				}
			}
			for _, c := range n.Children {
				if c.Line < n.Line {
					t.Fatalf("child <%s> at line %d before its parent <%s> at %d", c.Name, c.Line, n.Name, n.Line)
				}
				walk(c, depth+1)
			}
		}
		walk(root, 1)
	})
}

// FuzzLoadAuthConfig writes the input as a project's authenticationConfig.xml and checks the
// project: never a panic, every diagnostic names a file, one in the configuration names a line;
// and Load accepts what Check finds no error in. (policies.FuzzCompileRego compiles what loads.)
func FuzzLoadAuthConfig(f *testing.F) {
	for _, s := range xmlSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		conf := filepath.Join(dir, filepath.FromSlash(AuthConfigPath))
		if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(conf, data, 0o644); err != nil {
			t.Fatal(err)
		}
		diags := Check(dir, LoadOptions{})
		for _, d := range diags {
			if d.Pos.File == "" {
				t.Fatalf("diagnostic without a file: %s", d)
			}
			if d.Pos.File == AuthConfigPath && d.Pos.Line < 1 {
				t.Fatalf("diagnostic without a line: %s", d)
			}
			if filepath.IsAbs(d.Pos.File) {
				t.Fatalf("diagnostic names an absolute path: %s", d)
			}
		}
		if diags.HasErrors() {
			return
		}
		if _, err := Load(dir, LoadOptions{}); err != nil {
			t.Fatalf("Check found no error but Load failed: %v", err)
		}
	})
}

// TestParseXMLBounds: documents past the size, depth, element and attribute bounds are refused
// with a line, quickly and without a panic.
func TestParseXMLBounds(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		line int
		msg  string
	}{
		{"too large", "<a>" + strings.Repeat(" ", maxDocumentBytes) + "</a>", 1, "more than the 4194304 allowed"},
		{"too deep", strings.Repeat("<a>\n", maxDepth+1), maxDepth + 1, "nested deeper than 64"},
		{"too many elements", "<r>" + strings.Repeat("<a/>", maxElements) + "</r>", 1, "more than 100000 elements"},
		{"too many attributes", "<r>\n<a" + attrs(maxAttrs+1) + "/></r>", 2, "more than 64 attributes"},
		{"no root", "<?xml version=\"1.0\"?>\n<!-- nothing -->\n", 1, "no root element"},
		{"only text", "hello", 1, "no root element"},
		{"bad UTF-8", "<a>\xff</a>", 1, "malformed XML"},
		{"a NUL", "<a>\n\x00</a>", 2, "malformed XML"},
		{"entity expansion", "<!DOCTYPE a [<!ENTITY x \"xxxxxxxx\"><!ENTITY y \"&x;&x;&x;\">]>\n<a>&y;</a>", 1, "DOCTYPE declarations are not accepted"},
		{"mismatched", "<a>\n<b>\n</a>", 3, "malformed XML: element <b> closed by </a>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseXML([]byte(tc.doc))
			var xe *XMLError
			if !errors.As(err, &xe) {
				t.Fatalf("parseXML error = %v, want an *XMLError", err)
			}
			if xe.Line != tc.line || !strings.Contains(xe.Error(), tc.msg) {
				t.Errorf("error at line %d: %q; want line %d containing %q", xe.Line, xe.Error(), tc.line, tc.msg)
			}
		})
	}
}

func attrs(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(" a")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`="1"`)
	}
	return b.String()
}

// TestParseXMLTree checks the tree: names without prefixes, namespaces, trimmed text of direct
// character data, comments and processing instructions skipped, and lines.
func TestParseXMLTree(t *testing.T) {
	doc := "\ufeff<?xml version=\"1.0\"?>\r\n" +
		"<!-- header -->\r\n" +
		"<tns:root xmlns:tns=\"urn:t\" A=\"1\">\r\n" +
		"  <child name=\"x\">  text <!-- c --> more <?pi x?> </child>\r\n" +
		"  <child\r\n    name=\"y\"/>\r\n" +
		"  <other><![CDATA[<raw>]]></other>\r\n" +
		"</tns:root>\r\n"
	root, err := parseXML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	type flat struct {
		Space, Name, Text string
		Line              int
	}
	var got []flat
	var walk func(n *node)
	walk = func(n *node) {
		got = append(got, flat{n.Space, n.Name, n.Text, n.Line})
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(root)
	want := []flat{
		{"urn:t", "root", "", 3},
		{"", "child", "text  more", 4},
		{"", "child", "", 5},
		{"", "other", "<raw>", 7},
	}
	if len(got) != len(want) {
		t.Fatalf("tree = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("element %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if v, ok := root.attr("a"); !ok || v != "1" {
		t.Errorf("attr(a) = %q, %v; attributes match without case", v, ok)
	}
	if _, ok := root.attr("tns"); ok {
		t.Error("a namespace declaration is read as an attribute")
	}
	if c := root.children("CHILD"); len(c) != 2 {
		t.Errorf("children(CHILD) = %d elements, want 2", len(c))
	}
	if root.childText("other") != "<raw>" || root.childText("none") != "" {
		t.Error("childText is wrong")
	}
}
