package js_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters"
)

// stateScript keeps a login's user and a counter in globals, as Worklight's samples do, beside
// a table its top level builds.
const stateScript = `var userIdentity;
var count = 0;
var table = {codes: ["a", "b", "c"], limits: {daily: 1000, monthly: 20000}};
function echo(v) { count++; return v; }
`

// BenchmarkScriptState: a call with a session's script state of about 1 KiB (the user, the
// counter) against the same call without a session (the globals reset to their baseline all the
// same).
func BenchmarkScriptState(b *testing.B) {
	ctx := context.Background()
	a, err := openScript(b, stateScript, adapters.Config{Name: "State", Procedures: []string{"echo"}})
	if err != nil {
		b.Fatal(err)
	}
	in, _ := json.Marshal(map[string]any{"parameters": []any{map[string]any{"n": 1}}})
	state, _ := json.Marshal(map[string]any{
		"userIdentity": map[string]any{"userId": "alice", "displayName": "Alice", "attributes": map[string]any{"note": strings.Repeat("x", 900)}},
		"count":        41,
	})
	st := &adapters.ScriptState{In: state}
	if _, err := a.Call(adapters.WithScriptState(ctx, st), "echo", in); err != nil {
		b.Fatal(err)
	}
	var kept map[string]any
	if err := json.Unmarshal(st.Out, &kept); err != nil || kept["count"] != float64(42) || kept["userIdentity"] == nil {
		b.Fatalf("the state after a call: %s, %v", st.Out, err)
	}
	compare(b, 200,
		peer{"state", func() {
			if _, err := a.Call(adapters.WithScriptState(ctx, &adapters.ScriptState{In: state}), "echo", in); err != nil {
				b.Fatal(err)
			}
		}},
		peer{"nostate", func() {
			if _, err := a.Call(ctx, "echo", in); err != nil {
				b.Fatal(err)
			}
		}},
	)
}
