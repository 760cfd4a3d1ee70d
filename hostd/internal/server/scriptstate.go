package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

// callAdapter runs a client's procedure call. A JavaScript adapter's call runs with the script
// state of the request's session (engine.CallWithScriptState: Worklight's session-dependent
// globals); other backends keep no script state and are called directly. called reports
// whether err is the adapter call's (false: saving the session's new state failed, and the
// result is not answered).
func (s *Server) callAdapter(r *http.Request, rt *Runtime, ac engine.AppContext, acc *engine.Access, adapter *project.Adapter, procedure string, in json.RawMessage) (out json.RawMessage, called bool, err error) {
	call := func(ctx context.Context) error {
		called = true
		var cerr error
		out, cerr = rt.Adapters.Call(ctx, adapter.Name, procedure, in)
		return cerr
	}
	if adapter.Backend == nil || adapter.Backend.Kind != project.BackendJS {
		err = call(r.Context())
		return out, called, err
	}
	sid := sessionID(r)
	if acc != nil && acc.Cookies.SessionID != "" {
		sid = acc.Cookies.SessionID // the session the authorization made or rotated to
	}
	err = rt.Engine.CallWithScriptState(r.Context(), ac, sid, adapter.Name, call)
	if err != nil && called {
		// The call ran: an error of the session's save is the engine's, not the adapter's.
		if ee := (*engine.Error)(nil); errors.As(err, &ee) {
			return nil, false, err
		}
	}
	return out, called, err
}
