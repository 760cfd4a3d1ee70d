package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"

	"github.com/dop251/goja"
	"github.com/go-json-experiment/json/jsontext"
)

// Per-session script state (docs/javascript-adapters.md, "Session-dependent globals").
//
// Worklight ran adapter JavaScript "session-dependent": the top-level variables of a script were
// kept per client session, and its two-step login samples keep step 1's user in one. An engine
// instance serves every session, so the session's values travel with each call instead: the
// host passes the session's state in the call ({"state": {name: value}}), the engine resets
// the script's globals to what the script's top level left them and applies the state before
// the function runs, and answers with the globals that differ from that baseline afterwards
// ({"result", "state"}), which the host keeps with the session.
//
// Tracked globals are the own properties of the global object that did not exist before the
// script's top level ran (not the builtins, not WL) and whose value is not a function, plus
// any such global a call creates. A global whose top-level value holds functions (an object of
// helper methods) is not tracked: it cannot be rebuilt from JSON, and is the script's code, not
// a session's data.

// baseline is a tracked global's value as the script's top level left it.
type baseline struct {
	// absent: the global did not exist after the top level (a call created it), and a reset
	// deletes it. undefined: it existed with the value undefined (var x;). Otherwise text is
	// its JSON.
	absent, undefined bool
	text              string
}

// globals is what the engine knows of the script's globals.
type globals struct {
	builtin map[string]bool     // own properties of the global object before the script ran
	tracked map[string]baseline // the globals kept per session
	shared  map[string]bool     // globals left to the instance (a value with functions)
}

// beforeScript records the global object's properties before the script's top level runs.
func (e *engine) beforeScript() {
	e.globals = globals{builtin: map[string]bool{}, tracked: map[string]baseline{}, shared: map[string]bool{}}
	for _, k := range e.vm.GlobalObject().GetOwnPropertyNames() {
		e.globals.builtin[k] = true
	}
}

// afterScript records the baseline of the globals the script's top level made.
func (e *engine) afterScript() {
	g := e.vm.GlobalObject()
	for _, k := range g.GetOwnPropertyNames() {
		if e.globals.builtin[k] {
			continue
		}
		v := g.Get(k)
		if _, isFunc := goja.AssertFunction(v); isFunc {
			continue
		}
		if v == nil || goja.IsUndefined(v) {
			e.globals.tracked[k] = baseline{undefined: true}
			continue
		}
		text, holdsFunc, err := e.stateJSON(v)
		if err != nil || holdsFunc {
			e.globals.shared[k] = true
			continue
		}
		e.globals.tracked[k] = baseline{text: text}
	}
}

// stateJSON is v's JSON.stringify text, and whether v holds a function (which the text loses).
func (e *engine) stateJSON(v goja.Value) (text string, holdsFunc bool, err error) {
	replacer := e.vm.ToValue(func(c goja.FunctionCall) goja.Value {
		val := c.Argument(1)
		if _, isFunc := goja.AssertFunction(val); isFunc {
			holdsFunc = true
		}
		return val
	})
	s, err := e.stringify(goja.Undefined(), v, replacer)
	if err != nil {
		return "", false, err
	}
	if goja.IsUndefined(s) {
		return "", holdsFunc, fmt.Errorf("no JSON")
	}
	return s.String(), holdsFunc, nil
}

// applyState resets every tracked global to its baseline (a fresh copy), deletes the globals
// earlier calls created, and assigns the session's state.
func (e *engine) applyState(state map[string]goja.Value) error {
	g := e.vm.GlobalObject()
	for name, b := range e.globals.tracked {
		switch {
		case b.absent:
			if _, kept := state[name]; !kept {
				_ = g.Delete(name)
			}
		case b.undefined:
			_ = g.Set(name, goja.Undefined())
		default:
			v, err := e.jsonToJS([]byte(b.text))
			if err != nil {
				return fmt.Errorf("resetting global %s: %w", name, err)
			}
			_ = g.Set(name, v)
		}
	}
	names := make([]string, 0, len(state))
	for name := range state {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if e.globals.builtin[name] || e.globals.shared[name] {
			continue // never state: the host keeps only what diffState answered
		}
		if _, isFunc := goja.AssertFunction(g.Get(name)); isFunc {
			continue
		}
		v := state[name]
		if _, known := e.globals.tracked[name]; !known {
			e.globals.tracked[name] = baseline{absent: true}
		}
		_ = g.Set(name, v)
	}
	return nil
}

// readState reads the call's state, an object or null, into JavaScript values as they are read
// (without a Go copy first, as the parameters).
func (e *engine) readState(d *jsontext.Decoder, ci *callInput) error {
	if d.PeekKind() == 'n' {
		_, err := d.ReadToken()
		return err
	}
	ci.State = map[string]goja.Value{}
	return readObject(d, func(name string) error {
		v, err := e.readJS(d, 1)
		if err != nil {
			return fmt.Errorf("invalid state of global %s: %w", name, err)
		}
		ci.State[name] = v
		return nil
	})
}

// diffState returns the tracked globals whose JSON differs from their baseline, as a JSON
// object; it tracks the globals the call created. A global whose value cannot be turned into
// JSON is dropped, with a warning naming it (never its value).
func (e *engine) diffState() []byte {
	g := e.vm.GlobalObject()
	for _, k := range g.Keys() {
		if e.globals.builtin[k] || e.globals.shared[k] {
			continue
		}
		if _, known := e.globals.tracked[k]; known {
			continue
		}
		if _, isFunc := goja.AssertFunction(g.Get(k)); isFunc {
			continue
		}
		e.globals.tracked[k] = baseline{absent: true}
	}
	state := map[string]string{}
	for name, b := range e.globals.tracked {
		v := g.Get(name)
		present := v != nil
		if !present {
			if !b.absent {
				e.host.Log(slog.LevelWarn, fmt.Sprintf("global %s was deleted: it is not kept in the session", name))
			}
			continue
		}
		if goja.IsUndefined(v) {
			if !b.undefined && !b.absent {
				e.host.Log(slog.LevelWarn, fmt.Sprintf("global %s is undefined, which JSON cannot hold: it is not kept in the session", name))
			}
			continue
		}
		if _, isFunc := goja.AssertFunction(v); isFunc {
			continue
		}
		text, ok, err := e.stringifyJS(v)
		if err != nil || !ok {
			e.host.Log(slog.LevelWarn, fmt.Sprintf("global %s cannot be turned into JSON: it is not kept in the session", name))
			continue
		}
		if b.absent || b.undefined || string(text) != b.text {
			state[name] = string(text)
		}
	}
	// The members are JSON.stringify's texts: valid JSON already, written as they are.
	names := make([]string, 0, len(state))
	for name := range state {
		names = append(names, name)
	}
	sort.Strings(names)
	out := []byte{'{'}
	for i, name := range names {
		if i > 0 {
			out = append(out, ',')
		}
		key, _ := json.Marshal(name)
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, state[name]...)
	}
	return append(out, '}')
}
