package plugins

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// initState is what the test plugin's setupState answers.
type initState struct {
	Inits int             `json:"inits"`
	Input json.RawMessage `json:"input"`
}

func initWith(input string) adapters.Init {
	return adapters.Init{Procedure: "setup", Input: json.RawMessage(input)}
}

// TestCallInit: a process runs an init once for its input, again for another input, after a
// failed init, after a direct call of the init procedure, and in a relaunched process; a failed
// init is the call's error and the procedure does not run.
func TestCallInit(t *testing.T) {
	a, _ := openTest(t, nil)
	steps := []struct {
		name string
		call func() (json.RawMessage, error)
		want initState // what setupState answers after the step
		code string    // the step's error code, "" for none
	}{
		{"first call inits the process", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"p":1}`), "echo", json.RawMessage(`{}`))
		}, initState{1, json.RawMessage(`{"p":1}`)}, ""},
		{"same init: not again", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"p":1}`), "echo", json.RawMessage(`{}`))
		}, initState{1, json.RawMessage(`{"p":1}`)}, ""},
		{"a plain call keeps the init", func() (json.RawMessage, error) {
			return a.Call(t.Context(), "pid", json.RawMessage(`{}`))
		}, initState{1, json.RawMessage(`{"p":1}`)}, ""},
		{"other input: init again", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"p":2}`), "echo", json.RawMessage(`{}`))
		}, initState{2, json.RawMessage(`{"p":2}`)}, ""},
		{"a direct call of the init procedure configures the process otherwise", func() (json.RawMessage, error) {
			return a.Call(t.Context(), "setup", json.RawMessage(`{"p":"direct"}`))
		}, initState{3, json.RawMessage(`{"p":"direct"}`)}, ""},
		{"so the next call inits again", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"p":2}`), "echo", json.RawMessage(`{}`))
		}, initState{4, json.RawMessage(`{"p":2}`)}, ""},
		{"a failed init is the call's error", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"fail":"no CA configured"}`), "exit", json.RawMessage(`{}`))
		}, initState{5, json.RawMessage(`{"fail":"no CA configured"}`)}, string(adapters.CodeFailed)},
		{"after a failed init, init again", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"p":2}`), "echo", json.RawMessage(`{}`))
		}, initState{6, json.RawMessage(`{"p":2}`)}, ""},
		{"an init that kills its process", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"exit":true}`), "echo", json.RawMessage(`{}`))
		}, initState{0, json.RawMessage(`null`)}, string(adapters.CodeUnavailable)},
		{"the relaunched process is initialised", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"p":2}`), "echo", json.RawMessage(`{}`))
		}, initState{1, json.RawMessage(`{"p":2}`)}, ""},
		{"a procedure that kills its process", func() (json.RawMessage, error) {
			return a.Call(t.Context(), "exit", json.RawMessage(`{}`))
		}, initState{0, json.RawMessage(`null`)}, string(adapters.CodeUnavailable)},
		{"its successor is initialised too", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), initWith(`{"p":2}`), "echo", json.RawMessage(`{}`))
		}, initState{1, json.RawMessage(`{"p":2}`)}, ""},
		{"an unknown init procedure", func() (json.RawMessage, error) {
			return a.CallInit(t.Context(), adapters.Init{Procedure: "init", Input: json.RawMessage(`{}`)}, "echo", json.RawMessage(`{}`))
		}, initState{1, json.RawMessage(`{"p":2}`)}, string(adapters.CodeUnknownProcedure)},
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
		if diff := cmp.Diff(st.want, stateOf(t, a)); diff != "" {
			t.Errorf("%s: init state (-want +got):\n%s", st.name, diff)
		}
	}
	_, err := a.CallInit(t.Context(), initWith(`{"fail":"no CA configured"}`), "exit", json.RawMessage(`{}`))
	checkErr(t, err, adapters.CodeFailed, "setup", "no CA configured")
}

func stateOf(t *testing.T, a *adapter) initState {
	t.Helper()
	out, err := a.Call(t.Context(), "setupState", json.RawMessage(`{}`))
	if err != nil {
		t.Fatalf("setupState: %v", err)
	}
	var s initState
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCallInitConcurrent: calls that rely on one init run it once between them; calls that rely
// on two inits each run while the process holds theirs.
func TestCallInitConcurrent(t *testing.T) {
	a, _ := openTest(t, nil)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := a.CallInit(t.Context(), initWith(`{"p":1}`), "echo", json.RawMessage(`{}`)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := stateOf(t, a).Inits; got != 1 {
		t.Errorf("16 concurrent calls with one init ran it %d times, want 1", got)
	}

	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				want := fmt.Sprintf(`{"p":%d}`, (g+i)%2)
				out, err := a.CallInit(t.Context(), initWith(want), "setupState", json.RawMessage(`{}`))
				if err != nil {
					t.Error(err)
					return
				}
				var s initState
				if err := json.Unmarshal(out, &s); err != nil || string(s.Input) != want {
					t.Errorf("a call relying on init %s ran with init %s", want, s.Input)
				}
			}
		})
	}
	wg.Wait()
}
