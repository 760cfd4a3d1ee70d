package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/realmgate/realmgate/adapters"
)

// Per-session script state of JavaScript adapters.
//
// Worklight ran adapter JavaScript "session-dependent": a script's top-level variables were
// kept per client session. A JavaScript adapter's engine instances serve every session, so the
// session carries the script's state instead: for each adapter, the JSON object of the globals
// its calls for this session left different from the script's baseline (adapters.ScriptState,
// at most adapters.MaxScriptStateBytes, which the adapter bounds). Every call of the adapter
// made for the session gets it (the adapter realm's login, submit and logout functions, and the
// client's procedure calls, CallWithScriptState), and the state a call returns is saved with the
// session: with the login's own session write for a realm's call, on its own for a procedure
// call that changed it. A call that fails saves nothing. A call with no session starts from the
// baseline and its state is dropped. A logout of any realm forgets the state of every adapter:
// what a script kept for a user does not outlive the user's login.

// scriptCall returns the context of an adapter call made for the exchange's session: it carries
// the session's state of adapter, and keep saves what the call returned into the session (the
// caller runs it when the call succeeded).
func (x *exchange) scriptCall(adapter string) (ctx context.Context, keep func()) {
	st := &adapters.ScriptState{}
	if x.s != nil {
		st.In = x.s.st.Scripts[adapter]
	}
	return adapters.WithScriptState(x.ctx, st), func() {
		if x.s != nil && st.Changed() {
			x.s.setScript(adapter, st.Kept())
		}
	}
}

// setScript keeps state (nil: none) as the session's state of adapter.
func (s *session) setScript(adapter string, state json.RawMessage) {
	if state == nil {
		if _, had := s.st.Scripts[adapter]; !had {
			return
		}
		delete(s.st.Scripts, adapter)
		if len(s.st.Scripts) == 0 {
			s.st.Scripts = nil
		}
	} else {
		if s.st.Scripts == nil {
			s.st.Scripts = map[string]json.RawMessage{}
		}
		s.st.Scripts[adapter] = state
	}
	s.dirty = true
}

// forgetScripts drops the state of every adapter (a logout).
func (s *session) forgetScripts() {
	if s.st.Scripts != nil {
		s.st.Scripts = nil
		s.dirty = true
	}
}

// CallWithScriptState runs call, a call of adapter made for the client's procedure request of
// session sessionID of app (after the request was authorized), with the session's script state
// of adapter in call's context (adapters.ScriptStateOf), and saves the state call returned with
// the session when it changed. A request without a session of app (none, unknown, expired)
// runs call with no state, and its state is dropped; no session is made for it.
//
// The session is not locked across call: a slow adapter call does not hold up the session's
// other requests, and a call that makes another request of the same session (an adapter that
// calls a procedure) cannot wait on itself. The state is read before call and written after it
// only if the session still holds the state call started from (compare and set): of two calls
// of one session to one adapter that overlap, the first to end sets the state and the other's
// is dropped, and a call that was in flight across a logout (or a login) keeps nothing: it
// neither brings back what the logout forgot nor keeps what it computed for the user who left.
//
// call's error is returned as it is; an error saving the session is an *Error, and means the
// call's result must not be answered (the state it relied on is lost).
func (e *Engine) CallWithScriptState(ctx context.Context, app AppContext, sessionID, adapter string, call func(context.Context) error) error {
	st := &adapters.ScriptState{}
	var logins string
	if validSessionID(sessionID) {
		s, err := e.lockedSession(ctx, app, sessionID)
		if err != nil {
			return err
		}
		if s == nil {
			return call(adapters.WithScriptState(ctx, st)) // no session: the baseline, dropped
		}
		st.In = s.st.Scripts[adapter]
		logins = s.logins()
	} else {
		return call(adapters.WithScriptState(ctx, st))
	}
	if err := call(adapters.WithScriptState(ctx, st)); err != nil {
		return err
	}
	if !st.Changed() {
		return nil
	}
	unlock := e.locks.lock(sessionID)
	defer unlock()
	s, err := e.loadSession(ctx, sessionID, app, e.now())
	if err != nil {
		return err
	}
	if s.isNew || !bytes.Equal(s.st.Scripts[adapter], st.In) || s.logins() != logins {
		// The session ended, its state changed during the call (a logout, an overlapping
		// call), or so did who is logged in (a logout, even when the call started from no
		// state): what this call computed for the session as it was is dropped.
		return nil
	}
	s.setScript(adapter, st.Kept())
	return e.saveSession(ctx, s)
}

// logins describes who is logged in to the session: each realm it has passed, with the
// identity the realm gave. Equal descriptions, the same logins.
func (s *session) logins() string {
	names := make([]string, 0, len(s.st.Realms))
	for name, rs := range s.st.Realms {
		if rs != nil && rs.Passed {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		id, _ := json.Marshal(s.st.Realms[name].Identity) // a map of JSON values: no error
		fmt.Fprintf(&b, "%q:%s;", name, id)
	}
	return b.String()
}

// lockedSession loads the session under its lock (a request of the session in progress saves it
// whole first); nil when there is none.
func (e *Engine) lockedSession(ctx context.Context, app AppContext, sessionID string) (*session, error) {
	unlock := e.locks.lock(sessionID)
	defer unlock()
	s, err := e.loadSession(ctx, sessionID, app, e.now())
	if err != nil || s.isNew {
		return nil, err
	}
	return s, nil
}
