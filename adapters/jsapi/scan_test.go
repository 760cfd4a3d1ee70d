package jsapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// use is what the tests compare of a Use: where, which API, its status and detail.
type use struct {
	At     string
	API    string
	Status Status
	Detail string
}

func uses(r *Report) []use {
	var out []use
	for _, u := range r.Uses {
		out = append(out, use{u.Pos.String(), u.API, u.Status, u.Detail})
	}
	return out
}

func TestScanUses(t *testing.T) {
	t.Parallel()
	const (
		ok = Supported
		no = Refused
	)
	tests := []struct {
		name string
		src  string
		want []use
	}{
		{"direct calls", `function getFeeds() {
	WL.Logger.info("fetching");
	return WL.Server.invokeHttp({method: 'get', path: '/rss'});
}`, []use{{"2:2", "WL.Logger.info", ok, ""}, {"3:9", "WL.Server.invokeHttp", ok, ""}}},
		{"alias of WL.Server", `var s = WL.Server;
function p() { return s.invokeHttp({}); }`, []use{{"2:23", "WL.Server.invokeHttp", ok, ""}}},
		{"alias of WL and of an alias", `var wl = WL, srv = wl.Server;
srv.setActiveUser({userId: 'u'});
wl.Logger.warn('x');`, []use{{"2:1", "WL.Server.setActiveUser", ok, ""}, {"3:1", "WL.Logger.warn", ok, ""}}},
		{"alias assigned later", `var log;
log = WL.Logger;
function f() { log.debug(1); }`, []use{{"3:16", "WL.Logger.debug", ok, ""}}},
		{"a function taken as a value", `var invoke = WL.Server.invokeSQLStatement;`,
			[]use{{"1:14", "WL.Server.invokeSQLStatement", ok, ""}}},
		{"bracket with a string", `WL.Server["invokeProcedure"]({adapter: 'A', procedure: 'p'});`,
			[]use{{"1:1", "WL.Server.invokeProcedure", ok, ""}}},
		{"computed member", `var n = 'invokeHttp'; WL.Server[n]({});`,
			[]use{{"1:23", FamilyDynamic, no, "WL.Server[...]"}}},
		{"call and apply count as uses", `WL.Server.invokeHttp.call(null, {});`,
			[]use{{"1:1", "WL.Server.invokeHttp", ok, ""}}},
		{"SQL statements are created at the top level", `var a = WL.Server.createSQLStatement("select 1");
function q(name) { var b = WL.Server.createSQLStatement("select * from t where n = '" + name + "'"); return b; }`,
			[]use{{"1:9", "WL.Server.createSQLStatement", ok, ""}, {"2:28", "WL.Server.createSQLStatement", no, ""}}},
		{"SQL is supported", `var stmt = WL.Server.createSQLStatement("select 1");
function q() { return WL.Server.invokeSQLStatement({preparedStatement: stmt, parameters: []}); }`,
			[]use{{"1:12", "WL.Server.createSQLStatement", ok, ""}, {"2:23", "WL.Server.invokeSQLStatement", ok, ""}}},
		{"unknown server API", `WL.Server.getClientId();`, []use{{"1:1", "WL.Server.getClientId", no, ""}}},
		{"unknown logger method", `WL.Logger.trace("x");`, []use{{"1:1", "WL.Logger.trace", no, ""}}},
		{"other WL objects", `WL.SecurityUtils.base64Encode("x");`, []use{{"1:1", "WL.SecurityUtils.base64Encode", no, ""}}},
		{"Java by package", `var ctx = new javax.naming.InitialContext(env);
java.lang.System.out.println("x");
var t = Packages.com.example.Tool.make();`,
			[]use{{"1:15", FamilyJava, no, "javax.naming.InitialContext"}, {"2:1", FamilyJava, no, "java.lang.System.out.println"},
				{"3:9", FamilyJava, no, "Packages.com.example.Tool.make"}}},
		{"Rhino import functions", `importPackage(java.io);`,
			[]use{{"1:1", FamilyJava, no, "importPackage"}, {"1:15", FamilyJava, no, "java.io"}}},
		{"a variable named com is the script's own", `function f(com) { return com.items.length; }`, nil},
		{"a parameter shadows an alias", `var log = WL.Logger;
function f(log) { log.push(1); }
function g() { log.info(2); }`, []use{{"3:16", "WL.Logger.info", ok, ""}}},
		{"an alias declared in a function is that function's", `function f() { var s = WL.Server; return s.invokeHttp({}); }
function g(s) { return s.invokeSQLStatement({}); }`, []use{{"1:42", "WL.Server.invokeHttp", ok, ""}}},
		{"a destructured parameter shadows too", `var s = WL.Server;
function f({s}, [t = 1]) { s.createSQLStatement(t); }`, nil},
		{"an inner function sees the outer alias", `function f() {
	var s = WL.Server;
	return function () { return s.invokeSQLStatement({}); };
}`, []use{{"3:30", "WL.Server.invokeSQLStatement", ok, ""}}},
		{"WL redeclared at the top level is still WL", `var WL = WL || {};
WL.Server.invokeSQLStatement({});`, []use{{"2:1", "WL.Server.invokeSQLStatement", ok, ""}}},
		{"a Java root declared in one function is Java elsewhere", `function f(java) { return java.x; }
function g() { return java.lang.System.currentTimeMillis(); }`,
			[]use{{"2:23", FamilyJava, no, "java.lang.System.currentTimeMillis"}}},
		{"an implicit global alias", `function init() { srv = WL.Server; }
function p() { return srv.invokeHttp({}); }`, []use{{"2:23", "WL.Server.invokeHttp", ok, ""}}},
		{"strings and comments are not code", `// WL.Server.invokeSQLStatement(x)
/* java.lang.System.exit(0) */
var s = "WL.Server.createEventSource";`, nil},
		{"XSL transformation in a request object", `function getFeeds() {
	var input = {
		method: 'get',
		transformation: {
			type: 'xslFile',
			xslFile: 'filtered.xsl'
		}
	};
	return WL.Server.invokeHttp(input);
}`, []use{{"4:3", FamilyXSL, no, "filtered.xsl"}, {"9:9", "WL.Server.invokeHttp", ok, ""}}},
		{"XSL transformation assigned", `var input = {}; input.transformation = {type: "xslFile", xslFile: name};`,
			[]use{{"1:23", FamilyXSL, no, "(computed)"}}},
		{"the default transformation is no XSL", `var input = {transformation: {type: 'default'}};`, nil},
		{"notifications", `WL.Server.createEventSource({name: 'PushEventSource'});
WL.Server.notifyAllDevices(sub, n);`,
			[]use{{"1:1", "WL.Server.createEventSource", no, ""}, {"2:1", "WL.Server.notifyAllDevices", no, ""}}},
		{"an API named in a string or a comment is no use; Java in new is", "WL.Logger.info('x');\nvar s = WL.Server.createSQLStatement(\"WL.Server.sendMessage\");\n// WL.Server.sendMessage\nWL.Server.notifyAllDevices();\nvar d = new java.util.Date();\n",
			[]use{{"1:1", "WL.Logger.info", ok, ""}, {"2:9", "WL.Server.createSQLStatement", ok, ""}, {"4:1", "WL.Server.notifyAllDevices", no, ""}, {"5:13", FamilyJava, no, "java.util.Date"}}},
		{"invokeProcedure runs through the host", `function p() { return WL.Server.invokeProcedure({adapter: 'B', procedure: 'q', parameters: []}); }`,
			[]use{{"1:23", "WL.Server.invokeProcedure", ok, ""}}},
		{"the host PKI capability", `function g(input) { return {certificateBase64: WL.Server.pki({op: 'sign', csr: input.csr}).certificateBase64}; }`,
			[]use{{"1:48", "WL.Server.pki", ok, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Scan("A-impl.js", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, uses(r)); diff != "" {
				t.Errorf("uses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanFunctions(t *testing.T) {
	t.Parallel()
	src := `function getFeeds() {}
var getStories = function () {};
submitAuthentication = function (u, p) {};
let helper = 1;
function outer() { function inner() {} }
`
	r, err := Scan("A-impl.js", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Pos{
		"getFeeds": {1, 10}, "getStories": {2, 5}, "submitAuthentication": {3, 1}, "helper": {4, 5}, "outer": {5, 10},
	}
	if diff := cmp.Diff(want, r.Functions); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"inner", "onLogout"}, r.MissingFunctions([]string{"getFeeds", "inner", "onLogout", "getStories"})); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
}

func TestScanErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want error
	}{
		{"syntax error names line and column", "function f() {\n\treturn 1 +;\n}\n",
			&SyntaxError{File: "A-impl.js", Pos: Pos{2, 12}, Message: "Unexpected token ;"}},
		{"E4X is not JavaScript", "var x = <a>b</a>;\n",
			&SyntaxError{File: "A-impl.js", Pos: Pos{1, 9}, Message: "Unexpected token <"}},
		{"too deep", strings.Repeat("(", MaxNesting+1), ErrTooDeep},
		{"too large", strings.Repeat(" ", MaxSourceBytes+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Scan("A-impl.js", []byte(tt.src))
			var se *SyntaxError
			if errors.As(tt.want, &se) {
				var got *SyntaxError
				if !errors.As(err, &got) {
					t.Fatalf("error %v, want a *SyntaxError", err)
				}
				if diff := cmp.Diff(se, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNestingSkipsStringsAndComments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want int
	}{
		{`f(a[{b: 1}])`, 3},
		{`"((((" + '[[[' + ` + "`{{{`" + ` // (((
/* [[[ */ x`, 0},
		{`f("\")(")`, 1},
	}
	for _, tt := range tests {
		if got := nesting([]byte(tt.src)); got != tt.want {
			t.Errorf("nesting(%q) = %d, want %d", tt.src, got, tt.want)
		}
	}
}

// A script that nests within the bound but chains far (a long sum, a long else-if) is walked
// without exhausting the stack, or refused as too deep.
func TestScanLongChains(t *testing.T) {
	t.Parallel()
	src := "var x = " + strings.Repeat("a + ", 200000) + "WL.Server.invokeHttp({});"
	if _, err := Scan("A-impl.js", []byte(src)); err != nil && !errors.Is(err, ErrTooDeep) {
		t.Fatal(err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, s := range Table() {
		if s.Status == Refused && (s.Reason == "" || s.Fix == "") {
			t.Errorf("%s is refused without a reason and a fix", s.API)
		}
		if got := Classify(s.API); got != s {
			t.Errorf("Classify(%q) = %+v, want the table's %+v", s.API, got, s)
		}
	}
	for _, api := range []string{"WL.Server.getClientId", "WL.Logger.trace", "WL.Device.getID"} {
		if s := Classify(api); s.Status != Refused || !strings.Contains(s.Reason, api) {
			t.Errorf("Classify(%q) = %+v, want refused naming it", api, s)
		}
	}
}

func TestReportErr(t *testing.T) {
	t.Parallel()
	src := `function getFeed() {
	return WL.Server.invokeHttp({path: '/rss', transformation: {type: 'xslFile', xslFile: 'rss.xsl'}});
}
function getItems() {
	return WL.Server.invokeHttp({path: '/items', transformation: {type: 'xslFile', xslFile: 'filtered.xsl'}});
}`
	r, err := Scan("Feed-impl.js", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"filtered.xsl", "rss.xsl"}, r.XSLFiles()); diff != "" {
		t.Errorf("XSL files (-want +got):\n%s", diff)
	}
	err = r.Err([]string{"getFeed", "getItems", "getMore"})
	var le *LoadError
	if !errors.As(err, &le) || len(le.Refused) != 2 || len(le.Missing) != 1 {
		t.Fatalf("Err = %v, want a *LoadError with 2 refused uses and 1 missing procedure", err)
	}
	want := "Feed-impl.js:2:45: an XSL transformation (rss.xsl) is refused: of XSL stylesheets, only Worklight's stock filtered.xsl (an RSS feed to {Items: [...]}) is applied (and 1 more refused uses); Feed-impl.js defines no function for procedures getMore"
	if err.Error() != want {
		t.Errorf("Err() = %q, want %q", err, want)
	}
	clean, err := Scan("Echo-impl.js", []byte("function echo(x) { WL.Logger.info(x); return x; }"))
	if err != nil {
		t.Fatal(err)
	}
	if err := clean.Err([]string{"echo"}); err != nil {
		t.Errorf("a script with supported APIs only: %v", err)
	}
}

func TestIsStockFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xsl  string
		want bool
	}{
		{"the stock filter", stockFilter, true},
		{"with a comment and other white space", "<!-- Licensed Materials -->\n" + strings.ReplaceAll(stockFilter, " ", "\n  "), true},
		{"a changed member", strings.Replace(stockFilter, "pubDate", "date", 1), false},
		{"another stylesheet", "<xsl:stylesheet/>", false},
	}
	for _, tt := range tests {
		if got := IsStockFilter([]byte(tt.xsl)); got != tt.want {
			t.Errorf("%s: IsStockFilter = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestResolveXSL(t *testing.T) {
	t.Parallel()
	src := `function a() { return WL.Server.invokeHttp({transformation: {type: 'xslFile', xslFile: 'filtered.xsl'}}); }
function b() { return WL.Server.invokeHttp({transformation: {type: 'xslFile', xslFile: 'custom.xsl'}}); }
function c() { return WL.Server.invokeHttp({transformation: {type: 'xslFile', xslFile: 'missing.xsl'}}); }
function d() { return WL.Server.invokeHttp({transformation: {type: 'xslFile', xslFile: '../filtered.xsl'}}); }`
	r, err := Scan("A-impl.js", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"filtered.xsl": stockFilter, "custom.xsl": "<xsl:stylesheet/>"}
	r.ResolveXSL(func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, errors.New("no such file")
	})
	var got []use
	for _, u := range uses(r) {
		if u.API != "WL.Server.invokeHttp" {
			got = append(got, u)
		}
	}
	want := []use{
		{"1:45", FamilyStockXSL, Supported, "filtered.xsl"},
		{"2:45", FamilyXSL, Refused, "custom.xsl"},
		{"3:45", FamilyXSL, Refused, "missing.xsl"},
		{"4:45", FamilyXSL, Refused, "../filtered.xsl"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("uses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"../filtered.xsl", "custom.xsl", "filtered.xsl", "missing.xsl"}, r.XSLFiles()); diff != "" {
		t.Errorf("XSLFiles (-want +got):\n%s", diff)
	}
}
