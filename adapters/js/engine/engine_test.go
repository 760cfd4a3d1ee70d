package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// The engine's logic, run natively with a fake host: the wasm build is tested end to end in
// package adapters/js and in hostd.

type fakeHost struct {
	reqs []realmgate.HTTPRequest
	resp *realmgate.HTTPResponse
	err  error
	logs []string
}

func (h *fakeHost) HTTP(r realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
	h.reqs = append(h.reqs, r)
	return h.resp, h.err
}

func (h *fakeHost) Log(level slog.Level, msg string) { h.logs = append(h.logs, level.String()+" "+msg) }

func load(t testing.TB, h host, src string, extra map[string]string) *engine {
	t.Helper()
	s := map[string]string{SettingFile: "A-impl.js", SettingSource: src, SettingConnectivity: "http://127.0.0.1:8080"}
	for k, v := range extra {
		s[k] = v
	}
	e, err := newEngine(h, s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func run(t *testing.T, e *engine, proc, input string) string {
	t.Helper()
	out, err := e.call([]byte(`{"procedure":"` + proc + `","input":` + input + `}`))
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ Result, State json.RawMessage }
	if err := json.Unmarshal(out, &o); err != nil || o.Result == nil || o.State == nil {
		t.Fatalf("the call answered %s, not {\"result\", \"state\"} (%v)", out, err)
	}
	return string(o.Result)
}

func TestXMLToJSON(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"rss", `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>a</title></item><item><title>b</title></item></channel></rss>`,
			`{"rss":{"channel":{"item":[{"title":"a"},{"title":"b"}],"title":"T"},"version":"2.0"}}`},
		{"soap prefixes", `<soap:Envelope xmlns:soap="urn:x"><soap:Body><r a="1">text</r></soap:Body></soap:Envelope>`,
			`{"Envelope":{"Body":{"r":{"CDATA":"text","a":"1"}}}}`},
		{"empty", `<a/>`, `{"a":""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := xmlToJSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTMLToJSON(t *testing.T) {
	got, err := htmlToJSON([]byte(`<html><body><p class="x">hi<br>there</p></body></html>`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"html":{"body":{"p":{"CDATA":"hithere","br":"","class":"x"}},"head":""}}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInvokeHTTP(t *testing.T) {
	src := `function get(id) {
	  return WL.Server.invokeHttp({method: 'get', path: 'items/' + id, parameters: {q: 'a b'}, returnedContentType: 'json',
	    headers: {'X-Trace': 't1'}, cookies: {s: '1'}});
	}
	function post(v) {
	  return WL.Server.invokeHttp({method: 'post', path: '/items', body: {contentType: 'application/json', content: JSON.stringify(v)}});
	}
	function rss() {
	  return WL.Server.invokeHttp({method: 'get', path: 'feed', returnedContentType: 'xml', transformation: {type: 'xslFile', xslFile: 'filtered.xsl'}});
	}
	function custom() {
	  return WL.Server.invokeHttp({method: 'get', path: 'feed', transformation: {type: 'xslFile', xslFile: 'custom.xsl'}});
	}`
	h := &fakeHost{resp: &realmgate.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"id":7}`)}}
	e := load(t, h, src, map[string]string{SettingStockXSL: "filtered.xsl\nother.xsl"})
	out := run(t, e, "get", `{"parameters":["7"]}`)
	if !strings.Contains(out, `"id":7`) || !strings.Contains(out, `"isSuccessful":true`) || !strings.Contains(out, `"statusCode":200`) {
		t.Errorf("get = %s", out)
	}
	r := h.reqs[0]
	if r.Method != "GET" || r.URL != "http://127.0.0.1:8080/items/7?q=a+b" || r.Headers["X-Trace"] != "t1" || r.Headers["Cookie"] != "s=1" {
		t.Errorf("request = %+v", r)
	}
	run(t, e, "post", `{"parameters":[{"a":1}]}`)
	if r := h.reqs[1]; r.Method != "POST" || string(r.Body) != `{"a":1}` || r.Headers["Content-Type"] != "application/json" {
		t.Errorf("post request = %+v", r)
	}
	h.resp = &realmgate.HTTPResponse{Status: 200, Body: []byte(`<rss><channel><item><title>One</title><link>l</link></item></channel></rss>`)}
	out = run(t, e, "rss", `{"parameters":[]}`)
	if !strings.Contains(out, `"Items":[{"description":"","guid":"","link":"l","pubDate":"","title":"One"}]`) {
		t.Errorf("rss = %s", out)
	}
	if _, err := e.call([]byte(`{"procedure":"custom","input":{"parameters":[]}}`)); err == nil || !strings.Contains(err.Error(), `xslFile "custom.xsl" is not supported`) {
		t.Errorf("custom xsl: %v", err)
	}
}

func TestAdapterAuth(t *testing.T) {
	src := `function onAuthRequired(headers, errorMessage) { return {authRequired: true, errorMessage: errorMessage}; }
	function submit(u, p) {
	  if (p === 'pw') { WL.Server.setActiveUser('R', {userId: u, displayName: u}); return {authRequired: false}; }
	  return onAuthRequired(null, 'bad');
	}
	function who() { return {user: WL.Server.getActiveUser()}; }
	function hdr() { return {ua: WL.Server.getClientRequest().getHeader('user-agent')}; }`
	e := load(t, &fakeHost{}, src, nil)
	if got := run(t, e, "onAuthRequired", `{"realm":"R"}`); got != `{"authRequired":true,"errorMessage":null}` {
		t.Errorf("challenge = %s", got)
	}
	if got := run(t, e, "submit", `{"realm":"R","parameters":["alice","pw"]}`); got != `{"authRequired":false,"identity":{"displayName":"alice","userId":"alice"}}` {
		t.Errorf("submit = %s", got)
	}
	if got := run(t, e, "submit", `{"realm":"R","parameters":["alice","no"]}`); got != `{"authRequired":true,"errorMessage":"bad"}` {
		t.Errorf("bad submit = %s", got)
	}
	if _, err := e.call([]byte(`{"procedure":"submit","input":{"realm":"Other","parameters":["alice","pw"]}}`)); err == nil || !strings.Contains(err.Error(), `serves the login to realm "Other"`) {
		t.Errorf("other realm: %v", err)
	}
	if _, err := e.call([]byte(`{"procedure":"submit","input":{"parameters":["alice","pw"]}}`)); err == nil || !strings.Contains(err.Error(), "not part of a login") {
		t.Errorf("outside a login: %v", err)
	}
	if got := run(t, e, "who", `{"parameters":[],"identity":{"user":{"userId":"bob"}}}`); got != `{"user":{"userId":"bob"}}` {
		t.Errorf("who = %s", got)
	}
	if got := run(t, e, "hdr", `{"parameters":[],"request":{"headers":{"User-Agent":"x"}}}`); got != `{"ua":"x"}` {
		t.Errorf("hdr = %s", got)
	}
}

func FuzzXMLToJSON(f *testing.F) {
	f.Add([]byte(`<a b="1"><c>x</c><c>y</c></a>`))
	f.Add([]byte(`<soap:Envelope xmlns:soap="u"><soap:Body/></soap:Envelope>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := xmlToJSON(b); err == nil {
			if _, err := json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := htmlToJSON(b); err == nil {
			if _, err := json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// BenchmarkCallNative: the engine's call of a JavaScript echo, run natively (the wasm module
// runs the same code under wazero).
func BenchmarkCallNative(b *testing.B) {
	e, err := newEngine(&fakeHost{}, map[string]string{SettingFile: "B-impl.js", SettingSource: `function echo(v) { return v; }`})
	if err != nil {
		b.Fatal(err)
	}
	in, _ := json.Marshal(map[string]any{"procedure": "echo", "input": map[string]any{"parameters": []any{map[string]any{"user": "alice", "roles": []string{"admin", "ops"}, "n": 42,
		"note": strings.Repeat("lorem ipsum ", 80)}}}})
	for b.Loop() {
		if _, err := e.call(in); err != nil {
			b.Fatal(err)
		}
	}
}
