package server

import (
	"context"
	"net/http"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/engine"
)

// invokeContext is the context of a client's procedure call: it carries the invoker through
// which the adapter's WL.Server.invokeProcedure calls run, deciding each called procedure's
// security test with this request's session (the one its authorization issued, when it made or
// rotated one; acc is nil for an unprotected procedure).
func (s *Server) invokeContext(r *http.Request, rt *Runtime, ac engine.AppContext, acc *engine.Access, caller string) context.Context {
	sid := sessionID(r)
	if acc != nil && acc.Cookies.SessionID != "" {
		sid = acc.Cookies.SessionID
	}
	return adapters.WithInvoker(r.Context(), rt.Engine.Invoker(engine.InvokeScope{
		App: ac, SessionID: sid, Client: s.clientIP(r), Passive: s.passive(r), Caller: caller,
	}))
}
