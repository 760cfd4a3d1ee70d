package js_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/jsapi"
)

const echoScript = `
function echo(v) { return {echo: v}; }
function add(a, b) { return {sum: a + b}; }
`

func TestEcho(t *testing.T) {
	a, err := openScript(t, echoScript, adapters.Config{Procedures: []string{"echo", "add"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"add", "echo"}, a.Procedures()); diff != "" {
		t.Errorf("procedures (-want +got):\n%s", diff)
	}
	out, err := a.Call(context.Background(), "add", json.RawMessage(`{"parameters":[2,40]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"sum":42}` {
		t.Errorf("add = %s", out)
	}
	out, err = a.Call(context.Background(), "echo", json.RawMessage(`{"parameters":[{"a":[1,"x",null]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"echo":{"a":[1,"x",null]}}` {
		t.Errorf("echo = %s", out)
	}
	if _, err := a.Call(context.Background(), "nope", json.RawMessage(`{}`)); adapters.CodeOf(err) != adapters.CodeUnknownProcedure {
		t.Errorf("unknown procedure: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		procs     []string
		want      string
	}{
		{"syntax", "function f( {", nil, "Test-impl.js"},
		{"missing function", echoScript, []string{"echo", "getData"}, "Test-impl.js defines no function for procedures getData"},
		{"event source", "function f(){}\nWL.Server.createEventSource({name: 'x'});\n", nil, "Test-impl.js:2:1: WL.Server.createEventSource is refused: event sources poll"},
		{"jms", "function f() { return WL.Server.writeJMSMessage({destination: 'q', message: {body: 'x'}}); }\n", nil,
			"Test-impl.js:1:23: WL.Server.writeJMSMessage is refused: JMS needs a message broker connection"},
		{"java", "function f() {\n  return new java.util.Date();\n}\n", nil, "Test-impl.js:2:14: Java (java.util.Date) is refused: there is no Java in the sandbox"},
		{"jms", "function f() {\n  return WL.Server.readSingleJMSMessage({destination: 'q'});\n}\n", nil,
			"Test-impl.js:2:10: WL.Server.readSingleJMSMessage is refused: JMS needs a message broker connection"},
		{"throws at load", "function f(){}\nthrow new Error('boom');\n", nil, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openScript(t, tc.src, adapters.Config{Procedures: tc.procs})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tc.want)
			}
			if _, ok := errors.AsType[*jsapi.LoadError](err); tc.name != "syntax" && tc.name != "throws at load" && !ok {
				t.Errorf("Open = %v, want a *jsapi.LoadError among its causes", err)
			}
			if adapters.CodeOf(err) != adapters.CodeUnavailable {
				t.Errorf("code = %s, want %s", adapters.CodeOf(err), adapters.CodeUnavailable)
			}
		})
	}
}

func TestCommentsAndStringsAreNotUses(t *testing.T) {
	src := "// WL.Server.createEventSource is not used\n/* java.util */\nfunction f() { return {m: 'WL.Server.invokeSQLStatement'}; }\n"
	if _, err := openScript(t, src, adapters.Config{}); err != nil {
		t.Fatal(err)
	}
}

// TestEchoValues: the call's input reaches the script as JSON.parse would make it (built in C
// from the SDK's parse) and its result leaves as JSON.stringify writes it.
func TestEchoValues(t *testing.T) {
	a, err := openScript(t, echoScript+`function keys(v) { return {keys: Object.keys(v), proto: Object.getPrototypeOf(v) === Object.prototype}; }
function odd() {
  return {u: undefined, f: function () {}, a: [undefined, function () {}, NaN, -0, 1 / 3, 2e-7, "\u2028"], d: new Date(0),
    t: {toJSON: function () { return 'T'; }}, s: "\ud800", c: "\u0001\b\f\n\r\t\"\\", 2: 'two', k: {'\u00e9\ud83d\ude00': 1}};
}
function plainOdd() { return {u: undefined, f: function () {}, a: [undefined, function () {}, NaN, -0, 1 / 3, 2e-7], 2: 'two', c: "\u0001\u001f\""}; }
`, adapters.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ proc, in, want string }{
		{"echo", `"h\u00e9llo \u2603 \ud83d\ude00"`, `{"echo":"héllo ☃ 😀"}`},
		{"echo", `"a\u0000b\n\"\\"`, `{"echo":"a\u0000b\n\"\\"}`},
		{"echo", `[0,-0,1.5,1e21,12345678901234567890,-7]`, `{"echo":[0,0,1.5,1e+21,12345678901234567000,-7]}`},
		{"echo", `{"b":1,"a":{"c":[true,false,null]},"1":2}`, `{"echo":{"1":2,"b":1,"a":{"c":[true,false,null]}}}`},
		{"echo", `{"a":1,"a":2}`, `{"echo":{"a":2}}`},
		{"echo", `"<&>"`, `{"echo":"<&>"}`},
		{"keys", `{"__proto__":{"x":1},"y":2}`, `{"keys":["__proto__","y"],"proto":true}`},
		// Written by the engine's own JSON writer, and by JSON.stringify where it gives up (a
		// Date, toJSON, a lone surrogate): the same text either way.
		{"plainOdd", `0`, `{"2":"two","a":[null,null,null,0,0.3333333333333333,2e-7],"c":"\u0001\u001f\""}`},
		{"odd", `0`, `{"2":"two","a":[null,null,null,0,0.3333333333333333,2e-7,"` + "\u2028" + `"],"d":"1970-01-01T00:00:00.000Z","t":"T","s":"\ud800","c":"\u0001\b\f\n\r\t\"\\","k":{"é😀":1}}`},
	} {
		out, err := a.Call(context.Background(), tc.proc, json.RawMessage(`{"parameters":[`+tc.in+`]}`))
		if err != nil {
			t.Errorf("%s(%s): %v", tc.proc, tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, string(out)); diff != "" {
			t.Errorf("%s(%s) (-want +got):\n%s", tc.proc, tc.in, diff)
		}
	}
}
