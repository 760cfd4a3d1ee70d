package js_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/js"
)

// The engine module's side of per-session script state (contract C1), run on the module with a
// bare host: each call starts from the baseline the script's top level left, with the session's
// state applied, and answers the globals that differ from the baseline.

// stateEngine loads script into a bare engine module.
func stateEngine(t testing.TB, script string) *bareEngine {
	t.Helper()
	return newBareEngineWith(t, engineModule(t), map[string]string{js.SettingFile: "S-impl.js", js.SettingSource: script, "adapter": "S"}, nil)
}

// callWithState runs proc with the session state state ("" for none) and returns the result
// and the new state, or the error's message.
func callWithState(t testing.TB, e *bareEngine, proc, state string) (result, newState, errMsg string) {
	t.Helper()
	in := `{"procedure":"` + proc + `","input":{}`
	if state != "" {
		in += `,"state":` + state
	}
	*e.failMsg = ""
	out := e.call(context.Background(), "call", []byte(in+`}`), make([]uint64, 2))
	if *e.failMsg != "" {
		return "", "", *e.failMsg
	}
	var o struct{ Result, State json.RawMessage }
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return string(o.Result), string(o.State), ""
}

func TestScriptState(t *testing.T) {
	const script = `
var count = 0;
var userIdentity;
var user = {name: "n", tags: ["a"]};
var Helpers = {twice: function (x) { return 2 * x; }};
function inc() { count++; return {count: count}; }
function remember(v) { userIdentity = {userId: "u1"}; return {}; }
function who() { return {id: userIdentity ? userIdentity.userId : null}; }
function rename() { user.name = "m"; user.tags.push("b"); return {user: user}; }
function readUser() { return {user: user}; }
function create() { made = {n: 1}; return {}; }
function readMade() { return {made: typeof made === "undefined" ? null : made}; }
function cycle() { count = {}; count.self = count; return {}; }
function fails() { count = 99; throw new Error("no"); }
function failsMaking(p) { made = {n: 7}; throw new Error("no"); }
function helper() { return {v: Helpers.twice(21)}; }
function clobber() { return {json: typeof JSON.stringify, wl: typeof WL.Server}; }
function two() { count = 2; made = 1; return {}; }
`
	type step struct {
		proc, state             string
		result, newState, error string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"counter per session", []step{
			{proc: "inc", result: `{"count":1}`, newState: `{"count":1}`},
			{proc: "inc", result: `{"count":1}`, newState: `{"count":1}`}, // no session: the baseline
			{proc: "inc", state: `{"count":5}`, result: `{"count":6}`, newState: `{"count":6}`},
			{proc: "inc", state: `{}`, result: `{"count":1}`, newState: `{"count":1}`},
		}},
		{"a var without value", []step{
			{proc: "remember", result: `{}`, newState: `{"userIdentity":{"userId":"u1"}}`},
			{proc: "who", result: `{"id":null}`, newState: `{}`},
			{proc: "who", state: `{"userIdentity":{"userId":"u1"}}`, result: `{"id":"u1"}`, newState: `{"userIdentity":{"userId":"u1"}}`},
			{proc: "who", state: `{"userIdentity":{"userId":"u2"}}`, result: `{"id":"u2"}`, newState: `{"userIdentity":{"userId":"u2"}}`},
		}},
		{"an object is a fresh copy of its baseline", []step{
			{proc: "rename", result: `{"user":{"name":"m","tags":["a","b"]}}`, newState: `{"user":{"name":"m","tags":["a","b"]}}`},
			{proc: "readUser", result: `{"user":{"name":"n","tags":["a"]}}`, newState: `{}`},
		}},
		{"a global a call creates", []step{
			{proc: "create", result: `{}`, newState: `{"made":{"n":1}}`},
			{proc: "readMade", result: `{"made":null}`, newState: `{}`},
			{proc: "readMade", state: `{"made":{"n":2}}`, result: `{"made":{"n":2}}`, newState: `{"made":{"n":2}}`},
			{proc: "readMade", result: `{"made":null}`, newState: `{}`},
		}},
		{"members in name order", []step{
			{proc: "two", result: `{}`, newState: `{"count":2,"made":1}`},
		}},
		{"a value JSON cannot hold is dropped", []step{
			{proc: "cycle", result: `{}`, newState: `{}`},
			{proc: "inc", result: `{"count":1}`, newState: `{"count":1}`},
		}},
		{"a throw answers no state", []step{
			{proc: "fails", state: `{"count":3}`, error: "Error: no"},
			{proc: "inc", state: `{"count":3}`, result: `{"count":4}`, newState: `{"count":4}`},
		}},
		{"a global a call that throws creates is no other session's", []step{
			{proc: "failsMaking", error: "Error: no"},
			{proc: "readMade", result: `{"made":null}`, newState: `{}`},
			{proc: "failsMaking", state: `{"count":3}`, error: "Error: no"},
			{proc: "readMade", result: `{"made":null}`, newState: `{}`},
			{proc: "inc", result: `{"count":1}`, newState: `{"count":1}`},
		}},
		{"helpers with functions are the script's", []step{
			{proc: "helper", result: `{"v":42}`, newState: `{}`},
		}},
		{"builtins and WL are never state", []step{
			{proc: "clobber", state: `{"JSON":1,"WL":2,"Helpers":3,"inc":4}`, result: `{"json":"function","wl":"object"}`, newState: `{}`},
			{proc: "helper", state: `{"Helpers":3}`, result: `{"v":42}`, newState: `{}`},
			{proc: "inc", state: `{"inc":4}`, result: `{"count":1}`, newState: `{"count":1}`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := stateEngine(t, script)
			for i, s := range tc.steps {
				result, newState, errMsg := callWithState(t, e, s.proc, s.state)
				if s.error != "" {
					if !strings.Contains(errMsg, s.error) {
						t.Errorf("step %d %s: error %q, want one with %q", i, s.proc, errMsg, s.error)
					}
					continue
				}
				if errMsg != "" {
					t.Fatalf("step %d %s: %s", i, s.proc, errMsg)
				}
				if diff := cmp.Diff(s.result+" "+s.newState, result+" "+newState); diff != "" {
					t.Errorf("step %d %s with state %s: result and state (-want +got):\n%s", i, s.proc, s.state, diff)
				}
			}
		})
	}
}

// A global that cannot be kept is named in the log, its value never.
func TestScriptStateWarnsByName(t *testing.T) {
	e := stateEngine(t, `var secret; function f() { secret = {pin: "4321"}; secret.self = secret; return {}; }`)
	if _, st, msg := callWithState(t, e, "f", ""); msg != "" || st != "{}" {
		t.Fatalf("state %s, error %q", st, msg)
	}
	logs := strings.Join(*e.logs, "\n")
	if !strings.Contains(logs, "global secret") || strings.Contains(logs, "4321") {
		t.Errorf("log %q: want the global's name and not its value", logs)
	}
}

// FuzzScriptState: whatever state a call is given, the call answers an error or a state that is
// a JSON object, and that state given back answers itself (what a session keeps is stable).
func FuzzScriptState(f *testing.F) {
	f.Add(`{"count":5}`)
	f.Add(`{"userIdentity":{"userId":"u","attributes":{"pin":"1"}},"made":[1,2,{"x":null}]}`)
	f.Add(`{"JSON":1,"WL":{},"touch":3}`)
	f.Add(`null`)
	f.Add(`{"count":"\u00e9\ud800"}`)
	f.Add(`{"__proto__":{"count":1}}`)
	e := stateEngine(f, `var count = 0; var userIdentity; function touch() { return {}; }`)
	f.Fuzz(func(t *testing.T, state string) {
		_, st, msg := callWithState(t, e, "touch", state)
		if msg != "" {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(st), &obj); err != nil {
			t.Fatalf("state %s is not a JSON object: %v", st, err)
		}
		_, again, msg := callWithState(t, e, "touch", st)
		if msg != "" || again != st {
			t.Fatalf("state %s given back answers %s (%s)", st, again, msg)
		}
	})
}
