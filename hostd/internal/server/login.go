package server

import (
	"net/http"

	"github.com/realmgate/realmgate/engine"
)

// login serves POST /api/v1/login/{realm}: the app asks for a realm's challenge without a
// resource to request (Worklight's WL.Client.login). The engine decides; this answers 401 with
// the challenge, or 200 with the identity of a session already logged in to the realm.
//
// A request without a session of the issued shape makes one when challenged, so it spends a
// token of its client's bucket as any protected request without a session does.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	rt, release, ac, _, ok := s.begin(w, r)
	defer release()
	if !ok {
		return
	}
	realm := r.PathValue("realm")
	req := engine.LoginRequest{App: ac, SessionID: sessionID(r), Realm: realm, Passive: s.passive(r), Client: s.clientIP(r)}
	counted := false
	if !issuedShape(req.SessionID) {
		if lerr := s.limits.newSession(req.Client); lerr != nil {
			s.writeError(w, r, lerr)
			return
		}
		counted = true
	}
	if _, err := s.readBody(r); err != nil { // nothing in it is read, but it must be JSON
		s.writeError(w, r, err)
		return
	}
	res, err := rt.Engine.Login(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.NewSession && res.Cookies.SessionID != "" && !counted {
		if lerr := s.limits.newSession(req.Client); lerr != nil {
			s.writeError(w, r, lerr)
			return
		}
	}
	s.setCookies(w, r, res.Cookies)
	if res.Challenge != nil {
		writeChallenge(w, res.Challenge)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"realm": realm, "status": engine.StatusSuccess, "identity": res.Identity})
}
