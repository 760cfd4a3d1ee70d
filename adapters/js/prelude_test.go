package js_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/js"
)

// The engine's WL API (quickjs/prelude.js) and the host's conversions, run in the module.

type seenRequest struct {
	Method, URL, Body string
	Header            http.Header
}

func TestInvokeHTTP(t *testing.T) {
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.URL.String(), string(b), r.Header.Clone()})
		mu.Unlock()
		switch r.URL.Path {
		case "/feed":
			w.Header().Set("Content-Type", "text/xml")
			w.Write([]byte(`<rss><channel><item><title>One</title><link>l</link></item></channel></rss>`))
		case "/list":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`[1,2]`))
		case "/proto":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"__proto__":{"x":1},"a":2}`))
		case "/missing":
			http.Error(w, "gone", http.StatusNotFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"z":1,"id":7}`))
		}
	}))
	defer srv.Close()
	src := `function get(id) {
	  return WL.Server.invokeHttp({method: 'get', path: 'items/' + id, parameters: {q: 'a b', n: 2}, returnedContentType: 'json',
	    headers: {'X-Trace': 't1'}, cookies: {s: '1', a: 'x'}});
	}
	function post(v) {
	  return WL.Server.invokeHttp({method: 'post', path: '/items', body: {contentType: 'application/json', content: JSON.stringify(v)}});
	}
	function form() { return WL.Server.invokeHttp({method: 'post', path: '/items?x=1', parameters: {b: 'c d'}}); }
	function rss() {
	  return WL.Server.invokeHttp({method: 'get', path: 'feed', returnedContentType: 'xml', transformation: {type: 'xslFile', xslFile: 'filtered.xsl'}});
	}
	function xml() { return WL.Server.invokeHttp({path: '/feed'}); }
	function list() { return WL.Server.invokeHttp({path: '/list'}); }
	function proto() { var r = WL.Server.invokeHttp({path: '/proto'}); return {own: Object.keys(r).indexOf('__proto__') >= 0, x: r.x === undefined, r: r}; }
	function missing() { return WL.Server.invokeHttp({path: '/missing', returnedContentType: 'json'}); }`
	dir := writeScript(t, "Feed", src, map[string]string{"filtered.xsl": stockFilteredXSL})
	a, err := adapters.Open(context.Background(), adapters.Config{Name: "Feed", Kind: js.Kind, Module: engineModule(t), Script: dir,
		Settings: map[string]string{js.SettingConnectivity: srv.URL}, AllowHTTP: []adapters.HostPort{srvHostPort(t, srv)}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	call := func(proc, params string) string {
		t.Helper()
		out, err := a.Call(context.Background(), proc, json.RawMessage(`{"parameters":`+params+`}`))
		if err != nil {
			t.Fatalf("%s: %v", proc, err)
		}
		return string(out)
	}
	out := call("get", `["7"]`)
	// The result's members in name order, as Worklight's Java maps gave them.
	if !strings.HasPrefix(out, `{"id":7,"info":[],"isSuccessful":true,"responseHeaders":{`) || !strings.Contains(out, `"statusCode":200,"statusReason":"OK","warnings":[],"z":1}`) {
		t.Errorf("get = %s", out)
	}
	if r := seen[0]; r.Method != "GET" || r.URL != "/items/7?n=2&q=a+b" || r.Header.Get("X-Trace") != "t1" || r.Header.Get("Cookie") != "a=x; s=1" {
		t.Errorf("request = %+v", r)
	}
	call("post", `[{"a":1}]`)
	if r := seen[1]; r.Method != "POST" || r.Body != `{"a":1}` || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("post request = %+v", r)
	}
	call("form", `[]`)
	if r := seen[2]; r.URL != "/items?x=1" || r.Body != "b=c+d" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("form request = %+v", r)
	}
	if out := call("rss", `[]`); !strings.Contains(out, `"Items":[{"description":"","guid":"","link":"l","pubDate":"","title":"One"}]`) {
		t.Errorf("rss = %s", out)
	}
	if out := call("xml", `[]`); !strings.Contains(out, `"rss":{"channel":{"item":{"link":"l","title":"One"}}}`) {
		t.Errorf("xml by Content-Type = %s", out)
	}
	if out := call("list", `[]`); !strings.Contains(out, `"array":[1,2]`) {
		t.Errorf("list = %s", out)
	}
	// A back end's "__proto__" is a member like any other, never an object's prototype.
	if out := call("proto", `[]`); !strings.HasPrefix(out, `{"own":true,"x":true,"r":{"__proto__":{"x":1},"a":2,`) {
		t.Errorf("proto = %s", out)
	}
	if out := call("missing", `[]`); !strings.Contains(out, `"errors":["the back end answered 404"]`) || !strings.Contains(out, `"isSuccessful":false`) ||
		!strings.Contains(out, `"text":"gone\n"`) {
		t.Errorf("missing = %s", out)
	}

	// A stylesheet the host did not find to be the stock one (jsapi refuses such a script at
	// load; the engine refuses it too).
	custom := `function custom() { return WL.Server.invokeHttp({path: 'feed', transformation: {type: 'xslFile', xslFile: 'custom.xsl'}}); }`
	e := newBareEngineWith(t, engineModule(t), map[string]string{js.SettingFile: "C-impl.js", js.SettingSource: custom,
		js.SettingConnectivity: srv.URL, js.SettingStockXSL: "filtered.xsl"}, nil)
	e.call(context.Background(), "call", []byte(`{"procedure":"custom","input":{"parameters":[]}}`), make([]uint64, 2))
	if !strings.Contains(*e.failMsg, `xslFile "custom.xsl" is not supported`) {
		t.Errorf("custom xsl: %s", *e.failMsg)
	}
}

// stockFilteredXSL is Worklight's adapter template filtered.xsl.
const stockFilteredXSL = `<?xml version="1.0" encoding="UTF-8"?>
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
`

func TestAdapterAuth(t *testing.T) {
	src := `function onAuthRequired(headers, errorMessage) { return {authRequired: true, errorMessage: errorMessage}; }
	function submit(u, p) {
	  if (p === 'pw') { WL.Server.setActiveUser('R', {userId: u, displayName: u}); return {authRequired: false, b: 1}; }
	  return onAuthRequired(null, 'bad');
	}
	function who(realm) { return {user: WL.Server.getActiveUser(realm)}; }
	function hdr() { var r = WL.Server.getClientRequest(); return {ua: r.getHeader('user-agent'), none: r.getHeader('x-none'), p: r.getParameter('q')}; }
	function heads(h, e) { return {h: h, e: e}; }`
	a, err := openScript(t, src, adapters.Config{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(proc, input string) (string, error) {
		out, err := a.Call(context.Background(), proc, json.RawMessage(input))
		return string(out), err
	}
	for _, tc := range []struct{ proc, input, want string }{
		{"onAuthRequired", `{"realm":"R"}`, `{"authRequired":true,"errorMessage":null}`},
		{"submit", `{"realm":"R","parameters":["alice","pw"]}`, `{"authRequired":false,"b":1,"identity":{"displayName":"alice","userId":"alice"}}`},
		{"submit", `{"realm":"R","parameters":["alice","no"]}`, `{"authRequired":true,"errorMessage":"bad"}`},
		{"who", `{"parameters":[],"identity":{"user":{"userId":"bob"}}}`, `{"user":{"userId":"bob"}}`},
		{"who", `{"parameters":["R2"],"identity":{"realms":{"R2":{"userId":"carol"}}}}`, `{"user":{"userId":"carol"}}`},
		{"who", `{"parameters":["R3"],"identity":{"user":{"userId":"bob"}}}`, `{"user":null}`},
		{"hdr", `{"parameters":[],"request":{"headers":{"User-Agent":"x"},"parameters":{"q":"v"}}}`, `{"ua":"x","none":null,"p":"v"}`},
		{"heads", `{"realm":"R","request":{"headers":{"B":"2","A":"1"}}}`, `{"h":{"A":"1","B":"2"},"e":null}`},
	} {
		got, err := run(tc.proc, tc.input)
		if err != nil {
			t.Errorf("%s %s: %v", tc.proc, tc.input, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.proc, tc.input, diff)
		}
	}
	if _, err := run("submit", `{"realm":"Other","parameters":["alice","pw"]}`); err == nil || !strings.Contains(err.Error(), `serves the login to realm "Other"`) {
		t.Errorf("other realm: %v", err)
	}
	if _, err := run("submit", `{"parameters":["alice","pw"]}`); err == nil || !strings.Contains(err.Error(), "not part of a login") {
		t.Errorf("outside a login: %v", err)
	}
}

// TestSessionState runs contract C1 on the engine module: the call's state in, the changed
// globals out, the baseline restored for a call without state.
func TestSessionState(t *testing.T) {
	src := `var user = null; var count = 0; var Helper = {twice: function (x) { return 2 * x; }};
	function step1(u) { user = u; count++; return {}; }
	function step2() { return {user: user, count: count, h: Helper.twice(2)}; }
	function make() { fresh = {n: 1}; return {}; }
	function seeFresh() { return {fresh: typeof fresh === 'undefined' ? null : fresh}; }
	function fails() { user = 'mallory'; throw new Error('no'); }
	function keepsFunction() { user = function () {}; return {}; }`
	e := newBareEngineWith(t, engineModule(t), map[string]string{js.SettingFile: "S-impl.js", js.SettingSource: src, "adapter": "S"}, nil)
	stack := make([]uint64, 2)
	call := func(proc, state string) (result, newState string) {
		t.Helper()
		in := `{"procedure":"` + proc + `","input":{"parameters":["alice"]}`
		if state != "" {
			in += `,"state":` + state
		}
		*e.failMsg = ""
		out := e.call(context.Background(), "call", []byte(in+"}"), stack)
		if *e.failMsg != "" {
			return "", "fail: " + *e.failMsg
		}
		var r struct{ Result, State json.RawMessage }
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s: %s: %v", proc, out, err)
		}
		return string(r.Result), string(r.State)
	}
	for _, tc := range []struct{ proc, state, wantResult, wantState string }{
		{"step1", "", `{}`, `{"count":1,"user":"alice"}`},
		{"step2", `{"user":"alice","count":1}`, `{"user":"alice","count":1,"h":4}`, `{"count":1,"user":"alice"}`},
		{"step2", "", `{"user":null,"count":0,"h":4}`, `{}`},
		{"step2", "null", `{"user":null,"count":0,"h":4}`, `{}`},
		{"make", "", `{}`, `{"fresh":{"n":1}}`},
		{"seeFresh", `{"fresh":{"n":2}}`, `{"fresh":{"n":2}}`, `{"fresh":{"n":2}}`},
		{"seeFresh", `{}`, `{"fresh":null}`, `{}`},
		{"fails", `{"count":3}`, "", "fail: Error: no at fails (S-impl.js:6:54)"},
		{"step2", "", `{"user":null,"count":0,"h":4}`, `{}`},
		{"keepsFunction", "", `{}`, `{}`},
		// A state may not replace the script's functions or the engine's globals.
		{"step2", `{"step1":1,"WL":2,"JSON":3,"Helper":4}`, `{"user":null,"count":0,"h":4}`, `{}`},
	} {
		res, st := call(tc.proc, tc.state)
		if res != tc.wantResult || st != tc.wantState {
			t.Errorf("%s with state %s = %s, state %s; want %s, state %s", tc.proc, tc.state, res, st, tc.wantResult, tc.wantState)
		}
	}
}

// TestHostContracts runs WL.Server.invokeProcedure (C2), the SQL functions (C3) and
// WL.Server.pki (C4) against host functions that answer as the contracts say.
func TestHostContracts(t *testing.T) {
	src := `var st = WL.Server.createSQLStatement('SELECT name FROM t WHERE id = ?');
	function inv() { return WL.Server.invokeProcedure({adapter: 'B', procedure: 'g', parameters: [1, 'x']}); }
	function q(id) { return WL.Server.invokeSQLStatement({preparedStatement: st, parameters: [id]}); }
	function sp() { return WL.Server.invokeSQLStoredProcedure({procedure: 'p', parameters: [2]}); }
	function notStatement() { return WL.Server.invokeSQLStatement({preparedStatement: {'realmgate.sqlStatement': 1}, parameters: []}); }
	function lateStatement() { return WL.Server.createSQLStatement('DROP TABLE t'); }
	function csr() { return WL.Server.pki({op: 'parseCSR', csr: 'AAAA'}); }`
	var mu sync.Mutex
	got := map[string]string{}
	record := func(name string, answer string) func([]byte) []byte {
		return func(req []byte) []byte {
			mu.Lock()
			got[name] = string(req)
			mu.Unlock()
			if answer == "" {
				return nil
			}
			return []byte(answer)
		}
	}
	settings := map[string]string{js.SettingFile: "H-impl.js", js.SettingSource: src, "adapter": "H"}
	e := newBareEngineWith(t, engineModule(t), settings, bareHost{
		"invoke": record("invoke", `{"isSuccessful":true,"v":1}`),
		"sql":    record("sql", `{"isSuccessful":true,"resultSet":[{"name":"n"}]}`),
		"pki":    record("pki", `{"error":"the adapter is not granted the host PKI capability"}`),
	})
	stack := make([]uint64, 2)
	run := func(proc string) string {
		*e.failMsg = ""
		out := e.call(context.Background(), "call", []byte(`{"procedure":"`+proc+`","input":{"parameters":[7]}}`), stack)
		if *e.failMsg != "" {
			return "fail: " + *e.failMsg
		}
		var r struct{ Result json.RawMessage }
		json.Unmarshal(out, &r)
		return string(r.Result)
	}
	for _, tc := range []struct{ proc, want, host, wantReq string }{
		{"inv", `{"isSuccessful":true,"v":1}`, "invoke", `{"adapter":"B","procedure":"g","parameters":[1,"x"]}`},
		{"q", `{"isSuccessful":true,"resultSet":[{"name":"n"}]}`, "sql", `{"parameters":[7],"statement":"SELECT name FROM t WHERE id = ?"}`},
		{"sp", `{"isSuccessful":true,"resultSet":[{"name":"n"}]}`, "sql", `{"parameters":[2],"procedure":"p"}`},
		{"csr", "fail: Error: WL.Server.pki: the adapter is not granted the host PKI capability at csr (H-impl.js:7:19)", "pki", `{"csr":"AAAA","op":"parseCSR"}`},
	} {
		if res := run(tc.proc); res != tc.want {
			t.Errorf("%s = %s, want %s", tc.proc, res, tc.want)
		}
		if got[tc.host] != tc.wantReq {
			t.Errorf("%s asked %s %s, want %s", tc.proc, tc.host, got[tc.host], tc.wantReq)
		}
	}
	if res := run("notStatement"); !strings.Contains(res, "preparedStatement is not a statement") {
		t.Errorf("notStatement = %s", res)
	}
	if res := run("lateStatement"); !strings.Contains(res, "create statements at the script's top level") {
		t.Errorf("lateStatement = %s", res)
	}

	// A host that gives the call no invoker and no data source answers -1.
	e = newBareEngineWith(t, engineModule(t), settings, bareHost{"invoke": record("invoke", ""), "sql": record("sql", "")})
	if res := run("inv"); res != `{"code":"not_implemented","errors":["invokeProcedure is not available in this call (no client or realm request is being served)"],"isSuccessful":false}` {
		t.Errorf("inv without an invoker = %s", res)
	}
	if res := run("q"); !strings.HasPrefix(res, "fail: Error: WL.Server.invokeSQLStatement: the adapter has no data source: declare one in its XML") {
		t.Errorf("q without a data source = %s", res)
	}
}

// TestSQLStatementsOutOfTheScriptsReach: a script that replaces the builtins the prelude's
// JavaScript uses, before and after its statements, still sends the data source only the texts
// its top level created, with its values as parameters: the statements are kept in C, which
// writes each request.
func TestSQLStatementsOutOfTheScriptsReach(t *testing.T) {
	src := `var st = WL.Server.createSQLStatement('SELECT name FROM t WHERE id = ?');
	var forged = '{"parameters":[],"statement":"DROP TABLE t"}';
	String.prototype.replace = function () { return forged; };
	String.prototype.trim = function () { return 'p(1); DROP TABLE t; --'; };
	Array.prototype.push = function () { return 0; };
	Array.prototype.sort = function () { return this; };
	JSON.stringify = function () { return forged; };
	var late = WL.Server.createSQLStatement('DELETE FROM t');
	function q(id) { return WL.Server.invokeSQLStatement({preparedStatement: st, parameters: [id]}); }
	function qLate() { return WL.Server.invokeSQLStatement({preparedStatement: late, parameters: []}); }
	function qNone() { return WL.Server.invokeSQLStatement({preparedStatement: {'realmgate.sqlStatement': 2}, parameters: []}); }
	function qOdd(v) { return WL.Server.invokeSQLStatement({preparedStatement: st, parameters: [{toJSON: function () { return forged; }}]}); }`
	var got []string
	settings := map[string]string{js.SettingFile: "Q-impl.js", js.SettingSource: src, "adapter": "Q"}
	e := newBareEngineWith(t, engineModule(t), settings, bareHost{
		"sql": func(req []byte) []byte { got = append(got, string(req)); return []byte(`{"isSuccessful":true}`) },
	})
	stack := make([]uint64, 2)
	run := func(proc string) string {
		*e.failMsg = ""
		e.call(context.Background(), "call", []byte(`{"procedure":"`+proc+`","input":{"parameters":[7]}}`), stack)
		return *e.failMsg
	}
	for _, tc := range []struct{ proc, fail string }{
		{"q", ""},
		{"qLate", ""},
		{"qNone", "preparedStatement is not a statement of WL.Server.createSQLStatement"},
		{"qOdd", ""}, // the prelude turns the options into data first: the text is a value
	} {
		if msg := run(tc.proc); (tc.fail == "") != (msg == "") || !strings.Contains(msg, tc.fail) {
			t.Errorf("%s: failure %q, want one with %q", tc.proc, msg, tc.fail)
		}
	}
	want := []string{
		`{"parameters":[7],"statement":"SELECT name FROM t WHERE id = ?"}`,
		`{"parameters":[],"statement":"DELETE FROM t"}`,
		`{"parameters":["{\"parameters\":[],\"statement\":\"DROP TABLE t\"}"],"statement":"SELECT name FROM t WHERE id = ?"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what the data source was asked (-want +got):\n%s", diff)
	}
}
