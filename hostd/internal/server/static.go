package server

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

// StaticDir is the project folder static resources are served from once their test passed.
const StaticDir = "static"

// maxPathBytes bounds the decoded URL path of a request (414 above it). Static resources are
// matched and opened by path; no real resource needs more.
const maxPathBytes = 4096

// matchPattern reports whether a URL path matches a Worklight urlPatterns entry
// (project.MatchURLPattern, which says how).
func matchPattern(pattern, p string) bool { return project.MatchURLPattern(pattern, p) }

// staticResource returns the first static resource whose patterns match the path.
func staticResource(p *project.Project, urlPath string) *project.StaticResource {
	return p.StaticResourceAt(urlPath)
}

// static serves URLs that match a <staticResources> pattern, after their security test, from the
// project's static/ folder, to GET and HEAD only: a static resource is a file to read, and no
// other method may return it. Other URLs are 404; a path the API serves with other methods is
// 405.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	if s.methodNotAllowed(w, r) {
		return
	}
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
	if sr == nil {
		s.writeError(w, r, newError(codeNotFound, "nothing is served at "+urlPath))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", staticMethods)
		s.writeError(w, r, newError(codeMethodNotAllowed, "static resources are only read: use "+staticMethods))
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
	// A browser (or curl -u) answers a Basic realm with the Authorization header of the request
	// itself, after the WWW-Authenticate prompt of its 401 (PROTOCOL.md section 10).
	req := engine.AccessRequest{App: ac, Resource: engine.Resource{
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
	s.serveFile(w, r, rt, urlPath)
}

// staticMethods are the methods static resources answer.
const staticMethods = "GET, HEAD"

// basicChallenge is the WWW-Authenticate value that asks for the credentials of a Basic realm
// (RFC 7617): the realm's basic-realm-name as an RFC 9110 quoted-string, '"' and '\' escaped
// and control characters (which no header value may hold) made spaces, and charset="UTF-8",
// so that a browser sends a password that is not ASCII as UTF-8, as the login module reads it.
func basicChallenge(realm string) string {
	var b strings.Builder
	b.Grow(len(realm) + 32)
	b.WriteString(`Basic realm="`)
	for i := 0; i < len(realm); i++ {
		switch c := realm[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString(`", charset="UTF-8"`)
	return b.String()
}

// checkPathBytes refuses a URL path that no file name can hold or that would be read differently
// on the way to the file system: control characters (%00 ends a C string; the others have no
// place in a URL) and bytes that are not UTF-8.
func checkPathBytes(p string) error {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return newError(codeBadRequest, "the URL path holds a control character")
		}
	}
	if !utf8.ValidString(p) {
		return newError(codeBadRequest, "the URL path is not UTF-8")
	}
	return nil
}

// notServed reports whether an error opening a static file means that nothing is served at the
// path (404) rather than a fault of the server: a missing or unreadable file, a path that leaves
// the folder, a name longer than the file system allows, a file used as a folder, a symbolic
// link loop.
func notServed(err error) bool {
	for _, target := range []error{fs.ErrNotExist, fs.ErrPermission, syscall.ENAMETOOLONG, syscall.ENOTDIR, syscall.ELOOP, syscall.EINVAL} {
		if errors.Is(err, target) {
			return true
		}
	}
	return strings.Contains(err.Error(), "escapes")
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
		if notServed(err) {
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
