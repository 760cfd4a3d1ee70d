package js_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// The adapter passes a call's script state to the engine and back (adapters.ScriptState), and
// bounds what it gives back: at most adapters.MaxScriptStateBytes of strict JSON.
func TestScriptStateThroughTheAdapter(t *testing.T) {
	const script = `var count = 0;
var blob;
function increment() { count++; return {count: count}; }
function grow(n) { blob = new Array(n + 1).join("x"); return {}; }
function surrogate() { blob = "a\ud800"; return {}; }
`
	a, err := openScript(t, script, adapters.Config{Name: "State", Procedures: []string{"increment", "grow", "surrogate"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, procedure string
		params          []any
		in              string
		out, err        string
	}{
		{name: "from the baseline", procedure: "increment", out: `{"count":1}`},
		{name: "with the session's state", procedure: "increment", in: `{"count":41}`, out: `{"count":42}`},
		{name: "at the bound", procedure: "grow", params: []any{adapters.MaxScriptStateBytes - len(`{"blob":""}`)}, out: `{"blob":"xx`},
		{name: "over the bound", procedure: "grow", params: []any{adapters.MaxScriptStateBytes}, in: `{"count":3}`,
			err: "adapter State: the script's session state (its global variables) would be 16405 bytes of JSON, more than its bound of 16384"},
		{name: "not strict JSON", procedure: "surrogate", err: "is not strict JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &adapters.ScriptState{In: json.RawMessage(tc.in)}
			in, _ := json.Marshal(map[string]any{"parameters": tc.params})
			_, err := a.Call(adapters.WithScriptState(ctx, st), tc.procedure, in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if st.Returned || st.Out != nil {
					t.Errorf("a failed call returned the state %s", st.Out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !st.Returned || !strings.HasPrefix(string(st.Out), tc.out) {
				t.Errorf("state %.40s, want %s...", st.Out, tc.out)
			}
		})
	}
	// Without a ScriptState in the context the call runs from the baseline all the same.
	out, err := a.Call(ctx, "increment", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"count":1}`, string(out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
