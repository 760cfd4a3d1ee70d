package main

import (
	"strings"
	"testing"

	"github.com/dop251/goja"
)

func newTestEngine(t testing.TB) *engine {
	t.Helper()
	e, err := newEngine(&fakeHost{}, map[string]string{SettingFile: "V-impl.js", SettingSource: `function f() {}`})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestStringifyJSAgrees checks that stringifyJS writes what goja's JSON.stringify writes, for
// the values its fast path handles and those it hands to JSON.stringify.
func TestStringifyJSAgrees(t *testing.T) {
	e := newTestEngine(t)
	for _, src := range []string{
		`({a: 1, b: "x", c: [1, 2.5, null, true], d: {e: {}}})`,
		`({z: 1, a: 2, 10: 3, 2: 4})`,
		`({u: undefined, f: function() {}, s: Symbol("s"), n: null, k: 1})`,
		`[undefined, function() {}, Symbol("s"), NaN, Infinity, -Infinity, -0]`,
		`[1e21, 1e-7, 0.000001, 123456789012345680000, 0.1 + 0.2, -5, 2147483648]`,
		`"quote \" backslash \\ control \u0001 \b\f\n\r\t tab é 日本 \u2028 <>&"`,
		`"lone \ud800 surrogate"`,
		`({d: new Date(0)})`,
		`({t: {toJSON: function() { return "from toJSON"; }}})`,
		`[new String("s"), new Number(1), new Boolean(false)]`,
		`(function() { var o = {}; o.self = []; for (var i = 0; i < 100; i++) { o = {next: o}; } return o; })()`,
		`({get g() { return 7; }})`,
		`Object.create({inherited: 1}, {own: {value: 2, enumerable: true}, hidden: {value: 3}})`,
		`[[[]], {}, [{}]]`,
		`true`, `null`, `42`, `undefined`,
	} {
		v, err := e.vm.RunString(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		want, err := e.stringify(goja.Undefined(), v)
		if err != nil {
			t.Fatalf("%s: JSON.stringify: %v", src, err)
		}
		got, ok, err := e.stringifyJS(v)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if goja.IsUndefined(want) {
			if ok {
				t.Errorf("%s: stringifyJS = %s, want undefined", src, got)
			}
			continue
		}
		if !ok || string(got) != want.String() {
			t.Errorf("%s:\n got %s (ok %v)\nwant %s", src, got, ok, want.String())
		}
	}
	cyclic, _ := e.vm.RunString(`(function() { var o = {}; o.o = o; return o; })()`)
	if _, _, err := e.stringifyJS(cyclic); err == nil || !strings.Contains(err.Error(), "circular") {
		t.Errorf("a cyclic value: %v, want JSON.stringify's TypeError", err)
	}
}

// TestJSONToJSAgrees checks that jsonToJS builds what JSON.parse builds: the same members in the
// same order, numbers and strings alike, and that it refuses what JSON.parse refuses.
func TestJSONToJSAgrees(t *testing.T) {
	e := newTestEngine(t)
	for _, src := range []string{
		`{"z":1,"a":[1,2.5,-0.0,1e21,1E-7],"m":{"x":null,"y":true,"w":false}}`,
		`{"a":1,"a":2,"b":3}`,
		`["é","\u00e9","\ud83d\ude00","\u2028",""]`,
		`[]`, `{}`, `"s"`, `0`, `null`,
		` [ 1 , { "k" : [ ] } ] `,
	} {
		v, err := e.jsonToJS([]byte(src))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		want, err := e.parse(goja.Undefined(), e.vm.ToValue(src))
		if err != nil {
			t.Fatalf("%s: JSON.parse: %v", src, err)
		}
		a, _ := e.stringify(goja.Undefined(), v)
		b, _ := e.stringify(goja.Undefined(), want)
		if a.String() != b.String() {
			t.Errorf("%s: jsonToJS gives %s, JSON.parse %s", src, a, b)
		}
	}
	for _, bad := range []string{``, `{`, `[1,]`, `{"a":1}x`, `{"a" 1}`, `[1] [2]`, `'s'`, strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2)} {
		if _, err := e.jsonToJS([]byte(bad)); err == nil {
			t.Errorf("jsonToJS(%.20q) accepted invalid JSON", bad)
		}
	}
}

// FuzzJSONToJS: whatever the bytes, jsonToJS returns a value or an error, and a value it builds
// stringifies as JSON.parse's does.
func FuzzJSONToJS(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",null]}`, `[1e400]`, `"\ud800"`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	e := newTestEngine(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := e.jsonToJS(b)
		if err != nil {
			return
		}
		want, perr := e.parse(goja.Undefined(), e.vm.ToValue(string(b)))
		if perr != nil {
			return // JSON.parse is laxer about invalid UTF-8 than about nothing else
		}
		got, _, err := e.stringifyJS(v)
		if err != nil {
			t.Fatal(err)
		}
		w, _, err := e.stringifyJS(want)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(w) {
			t.Fatalf("jsonToJS gives %s, JSON.parse %s", got, w)
		}
	})
}

func TestDecodeCall(t *testing.T) {
	e := newTestEngine(t)
	ci, err := e.decodeCall([]byte(`{"procedure":"p","other":[1,{"x":2}],"input":{"parameters":[1,"a",{"b":[true]}],"realm":"R","identity":{"user":{"id":"u"}},"request":{"headers":{"H":"v"}},"extra":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	args, _ := e.stringify(goja.Undefined(), ci.Params)
	if ci.Procedure != "p" || ci.Realm != "R" || len(ci.Args) != 3 || args.String() != `[1,"a",{"b":[true]}]` ||
		ci.Identity["user"].(map[string]any)["id"] != "u" || ci.Request["headers"].(map[string]any)["H"] != "v" {
		t.Errorf("decodeCall = %+v (parameters %s)", ci, args)
	}
	if ci, err := e.decodeCall([]byte(`{"procedure":"p","input":{"parameters":null}}`)); err != nil || ci.Params != nil || ci.Args != nil {
		t.Errorf("null parameters: %+v, %v", ci, err)
	}
	for _, bad := range []string{``, `[]`, `{"procedure":1}`, `{"procedure":"p","input":[]}`, `{"procedure":"p","input":{"parameters":{}}}`,
		`{"procedure":"p","input":{"parameters":[1,]}}`, `{"procedure":"p"} {}`, `{"procedure":"p","input":{"identity":"x"}}`} {
		if _, err := e.decodeCall([]byte(bad)); err == nil {
			t.Errorf("decodeCall(%q) accepted an invalid call", bad)
		}
	}
}

// FuzzDecodeCall: whatever the bytes, decodeCall returns a call or an error, never panics, and
// a call's arguments are its parameters' elements.
func FuzzDecodeCall(f *testing.F) {
	f.Add([]byte(`{"procedure":"p","input":{"parameters":[1,"a"],"realm":"R","identity":{},"request":{}}}`))
	f.Add([]byte(`{"input":{"parameters":null}}`))
	e := newTestEngine(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ci, err := e.decodeCall(b)
		if err != nil {
			return
		}
		if ci.Params != nil && int(ci.Params.Get("length").ToInteger()) != len(ci.Args) {
			t.Fatalf("%d arguments of %d parameters", len(ci.Args), ci.Params.Get("length").ToInteger())
		}
	})
}
