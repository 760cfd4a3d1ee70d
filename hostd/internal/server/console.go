package server

import (
	"context"
	"net/http"
	"path"

	"github.com/realmgate/realmgate/engine"
)

// Console is the admin console the server mounts at /console (package console).
type Console interface {
	http.Handler
	// Serves reports whether the console has a page or asset at the request's path; the
	// project's own static files are served at the others.
	Serves(r *http.Request) bool
}

// consoleUserKey carries, in a request's context, the user a security test let through to the
// console.
type consoleUserKey struct{}

// ConsoleUser returns the user whom the security test protecting /console let through for this
// request, and whether one did. The console then needs no admin token: the project protects it
// as Worklight protected its console, through <staticResources>.
func ConsoleUser(ctx context.Context) (string, bool) {
	u, ok := ctx.Value(consoleUserKey{}).(string)
	return u, ok
}

// console serves /console and below. When a static resource of the project matches the path,
// its security test protects the console (every request runs it, a browser answering a Basic
// realm with the Authorization header of the request itself), and the paths the console does
// not serve are the project's static files, as before the console existed. Otherwise the
// console's own sign-in with the admin token protects it.
func (s *Server) console(w http.ResponseWriter, r *http.Request) {
	rt, release := s.acquire()
	defer release()
	if rt == nil {
		s.writeError(w, r, notLoaded())
		return
	}
	if err := checkPathBytes(r.URL.Path); err != nil {
		s.writeError(w, r, err)
		return
	}
	urlPath := path.Clean("/" + r.URL.Path)
	sr := staticResource(rt.Project, urlPath)
	if sr == nil && urlPath != "/" {
		// "/console/*" protects the console's home page, /console/, too.
		sr = staticResource(rt.Project, urlPath+"/")
	}
	if sr == nil {
		s.opts.Console.ServeHTTP(w, r)
		return
	}
	if !s.opts.Console.Serves(r) {
		s.static(w, r)
		return
	}
	req := engine.AccessRequest{Resource: engine.Resource{
		Kind: engine.ResourceStatic, Name: sr.ID, Test: sr.SecurityTest,
		Attributes: map[string]any{"path": urlPath, "resource": sr.ID},
	}, BasicAnswers: true}
	if user, pass, ok := r.BasicAuth(); ok {
		req.Basic = &engine.BasicCredentials{Username: user, Password: pass}
	}
	acc := s.authorizeRequest(w, r, rt, req)
	if acc == nil {
		return
	}
	user, _ := acc.User["userId"].(string)
	if user == "" {
		user = sr.SecurityTest
	}
	s.opts.Console.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), consoleUserKey{}, user)))
}
