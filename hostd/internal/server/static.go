package server

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/policies"
)

// StaticDir is the project folder static resources are served from once their test passed.
const StaticDir = "static"

// matchPattern reports whether a URL path matches a Worklight urlPatterns entry, where '*'
// matches any run of characters ("/apps/services/loguploader*").
func matchPattern(pattern, p string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == p
	}
	if !strings.HasPrefix(p, pattern[:star]) {
		return false
	}
	rest := pattern[star+1:]
	for i := star; i <= len(p); i++ {
		if matchPattern(rest, p[i:]) {
			return true
		}
	}
	return false
}

// staticResource returns the first static resource whose patterns match the path.
func staticResource(p *policies.Project, urlPath string) *policies.StaticResource {
	for _, sr := range p.StaticResources {
		for _, pat := range sr.URLPatterns {
			if matchPattern(pat, urlPath) {
				return sr
			}
		}
	}
	return nil
}

// static serves URLs that match a <staticResources> pattern, after their security test, from the
// project's static/ folder. Other URLs are 404.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	rt := s.rt.Load()
	if rt == nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the configuration is not loaded"})
		return
	}
	urlPath := path.Clean("/" + r.URL.Path)
	sr := staticResource(rt.Project, urlPath)
	if sr == nil {
		s.writeError(w, r, newError(codeNotFound, "nothing is served at "+urlPath))
		return
	}
	// Browsers fetching static resources may not send the application headers; the session is
	// then bound to no application.
	var ac engine.AppContext
	if r.Header.Get(HeaderAppID) != "" {
		var err error
		if ac, _, err = s.appContext(r, rt); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if _, err := s.readBody(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	acc := s.authorize(w, r, rt, ac, engine.Resource{
		Kind: engine.ResourceStatic, Name: sr.ID, Test: sr.SecurityTest,
		Attributes: map[string]any{"path": urlPath, "resource": sr.ID},
	}, nil)
	if acc == nil {
		return
	}
	s.serveFile(w, r, rt, urlPath)
}

// serveFile serves a file under the project's static folder through os.Root, so that no path
// (.., symlinks) can leave the folder.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rt *Runtime, urlPath string) {
	root, err := os.OpenRoot(filepath.Join(rt.Project.Dir, StaticDir))
	if err != nil {
		s.writeError(w, r, newError(codeNotFound, "no content is deployed at "+urlPath))
		return
	}
	defer root.Close()
	name := strings.TrimPrefix(urlPath, "/")
	f, err := root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "escapes") {
			s.writeError(w, r, newError(codeNotFound, "no content is deployed at "+urlPath))
			return
		}
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		s.writeError(w, r, newError(codeNotFound, "no content is deployed at "+urlPath))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
}
