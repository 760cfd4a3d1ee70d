package adapters

import (
	"bytes"
	"context"
	"encoding/json"
)

// MaxScriptStateBytes bounds the script state of one JavaScript adapter in one session: the
// JSON object of the globals the session's calls changed. A call that leaves more fails.
const MaxScriptStateBytes = 16 << 10

// ScriptState carries the per-session state of a script adapter through Adapter.Call without
// changing the interface for other backends: the caller puts one in the call's context
// (WithScriptState) with In, the session's state (nil when it has none, or the call has no
// session), and a backend that keeps script state (the JavaScript adapter) reads In and, when
// the call succeeds, sets Out to the new state and Returned. Other backends ignore it, and Out
// stays nil.
//
// Worklight ran adapter JavaScript "session-dependent": a script's top-level variables were
// kept per client session. A JavaScript adapter's instances are shared by every session, so
// the session's values of those variables travel with each call instead.
type ScriptState struct {
	In       json.RawMessage
	Out      json.RawMessage
	Returned bool
}

// Changed reports whether the call returned a state other than In (an empty object and no
// state are the same).
func (s *ScriptState) Changed() bool {
	return s.Returned && !bytes.Equal(emptyAsNil(s.In), emptyAsNil(s.Out))
}

// Kept is the state to keep: Out, or nil when it is empty.
func (s *ScriptState) Kept() json.RawMessage { return emptyAsNil(s.Out) }

func emptyAsNil(b json.RawMessage) json.RawMessage {
	if t := bytes.TrimSpace(b); len(t) == 0 || bytes.Equal(t, []byte("{}")) || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return b
}

type scriptStateKey struct{}

// WithScriptState returns ctx carrying st for the adapter call made with it.
func WithScriptState(ctx context.Context, st *ScriptState) context.Context {
	return context.WithValue(ctx, scriptStateKey{}, st)
}

// ScriptStateOf returns the ScriptState the call's context carries, or nil.
func ScriptStateOf(ctx context.Context) *ScriptState {
	st, _ := ctx.Value(scriptStateKey{}).(*ScriptState)
	return st
}
