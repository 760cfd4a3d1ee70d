package wasm_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// TestCallInit: an instance runs an init once for its input, again for another input, after a
// failed init, after a direct call of the init procedure, and on a fresh instance after the
// last one was discarded; a failed init is the call's error and the procedure does not run.
func TestCallInit(t *testing.T) {
	t.Parallel()
	a, rec := openHostile(t, nil) // one instance: every call below runs on the same one until it is discarded
	ini, ok := a.(adapters.Initializer)
	if !ok {
		t.Fatalf("%T is not an adapters.Initializer", a)
	}
	initWith := func(input string) adapters.Init {
		return adapters.Init{Procedure: "init", Input: json.RawMessage(input)}
	}
	type state struct {
		Inits int             `json:"inits"`
		Input json.RawMessage `json:"input"`
	}
	steps := []struct {
		name string
		call func() (json.RawMessage, error)
		want state  // what initState answers after the step
		code string // the step's error code, "" for none
	}{
		{"first call inits the instance", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"p":1}`), "initState", json.RawMessage(`{}`))
		}, state{1, json.RawMessage(`{"p":1}`)}, ""},
		{"same init: not again", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"p":1}`), "initState", json.RawMessage(`{}`))
		}, state{1, json.RawMessage(`{"p":1}`)}, ""},
		{"a plain call keeps the init", func() (json.RawMessage, error) {
			return a.Call(t.Context(), "count", json.RawMessage(`{}`))
		}, state{1, json.RawMessage(`{"p":1}`)}, ""},
		{"other input: init again", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"p":2}`), "initState", json.RawMessage(`{}`))
		}, state{2, json.RawMessage(`{"p":2}`)}, ""},
		{"a direct call of init configures the instance otherwise", func() (json.RawMessage, error) {
			return a.Call(t.Context(), "init", json.RawMessage(`{"p":"direct"}`))
		}, state{3, json.RawMessage(`{"p":"direct"}`)}, ""},
		{"so the next call inits again", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"p":2}`), "initState", json.RawMessage(`{}`))
		}, state{4, json.RawMessage(`{"p":2}`)}, ""},
		{"a failed init is the call's error", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"fail":"no CA configured"}`), "echo", json.RawMessage(`{}`))
		}, state{5, json.RawMessage(`{"fail":"no CA configured"}`)}, string(adapters.CodeFailed)},
		{"after a failed init, init again", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"p":2}`), "initState", json.RawMessage(`{}`))
		}, state{6, json.RawMessage(`{"p":2}`)}, ""},
		{"an init that traps discards the instance", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"trap":true}`), "echo", json.RawMessage(`{}`))
		}, state{0, json.RawMessage(`null`)}, string(adapters.CodeFailed)},
		{"a fresh instance is initialised", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"p":2}`), "initState", json.RawMessage(`{}`))
		}, state{1, json.RawMessage(`{"p":2}`)}, ""},
		{"a procedure that traps discards the instance", func() (json.RawMessage, error) {
			return a.Call(t.Context(), "trap", json.RawMessage(`{}`))
		}, state{0, json.RawMessage(`null`)}, string(adapters.CodeFailed)},
		{"its successor is initialised too", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), initWith(`{"p":2}`), "initState", json.RawMessage(`{}`))
		}, state{1, json.RawMessage(`{"p":2}`)}, ""},
		{"an unknown init procedure", func() (json.RawMessage, error) {
			return ini.CallInit(t.Context(), adapters.Init{Procedure: "setup", Input: json.RawMessage(`{}`)}, "initState", json.RawMessage(`{}`))
		}, state{1, json.RawMessage(`{"p":2}`)}, string(adapters.CodeUnknownProcedure)},
	}
	for _, st := range steps {
		_, err := st.call()
		code := ""
		if err != nil {
			code = string(adapters.CodeOf(err))
		}
		if code != st.code {
			t.Fatalf("%s: error %v, want code %q", st.name, err, st.code)
		}
		out, err := a.Call(t.Context(), "initState", json.RawMessage(`{}`))
		if err != nil {
			t.Fatalf("%s: initState: %v", st.name, err)
		}
		var got state
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s: init state (-want +got):\n%s", st.name, diff)
		}
	}

	// The failed init named itself in the error, and the procedure after it did not run.
	_, err := ini.CallInit(t.Context(), initWith(`{"fail":"no CA configured"}`), "echo", json.RawMessage(`{"x":1}`))
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "hostile", "init"); e != nil && e.Message != "no CA configured" {
		t.Errorf("message %q, want the guest's", e.Message)
	}
	for _, e := range rec.Matching(func(e adaptertest.LogEntry) bool { return e.Message == adapters.GuestCallMessage }) {
		if e.Attrs["procedure"] == "echo" {
			t.Errorf("echo ran in the guest (%v); the calls with an init did not get past their init", e.Attrs)
		}
	}
}
