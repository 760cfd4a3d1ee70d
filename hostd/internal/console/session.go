package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/realmgate/realmgate/hostd/internal/server"
)

// CookieName is the console's session cookie. It holds a random session id; the session (and
// its CSRF token) lives on the server.
const CookieName = "RG_CONSOLE"

const (
	// sessionIdle ends a session not used for this long.
	sessionIdle = 30 * time.Minute
	// sessionMax ends a session this long after sign-in, used or not.
	sessionMax = 12 * time.Hour
	// maxSessions bounds the sessions kept; past it the least recently used one ends.
	maxSessions = 256
	// maxFormBytes bounds a console form.
	maxFormBytes = 64 << 10
)

// session is one signed-in operator.
type session struct {
	// user is who the security test protecting the console let through; "" for a sign-in
	// with the admin token.
	user    string
	id      string
	csrf    string
	created time.Time
	seen    time.Time
}

// sessions are the console's sessions, in memory: a restart signs operators out.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}}
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session of user ("" for the admin token).
func (ss *sessions) create(user string) *session {
	now := ss.now()
	s := &session{user: user, id: randomID(), csrf: randomID(), created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expire(now)
	if len(ss.m) >= maxSessions {
		var oldest *session
		for _, o := range ss.m {
			if oldest == nil || o.seen.Before(oldest.seen) {
				oldest = o
			}
		}
		delete(ss.m, oldest.id)
	}
	ss.m[s.id] = s
	return s
}

// expire drops ended sessions; ss.mu is held.
func (ss *sessions) expire(now time.Time) {
	for id, s := range ss.m {
		if !s.live(now) {
			delete(ss.m, id)
		}
	}
}

func (s *session) live(now time.Time) bool {
	return now.Sub(s.seen) < sessionIdle && now.Sub(s.created) < sessionMax
}

// get returns the live session with that id and marks it used, or nil.
func (ss *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	if !s.live(now) {
		delete(ss.m, id)
		return nil
	}
	s.seen = now
	return s
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

func (c *Console) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: value, Path: "/console", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.opts.SecureCookies || r.TLS != nil,
	}
}

// signedIn serves h to a signed-in operator, with the CSRF token checked on every request that
// is not a read. Without a session a GET goes to the sign-in form and anything else is refused.
func (c *Console) signedIn(h func(w http.ResponseWriter, r *http.Request, s *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if ck, err := r.Cookie(CookieName); err == nil {
			s = c.sessions.get(ck.Value)
		}
		user, byTest := server.ConsoleUser(r.Context())
		switch {
		case byTest && (s == nil || s.user != user):
			// The security test protecting the console let this user through: the session
			// only carries the CSRF token of their forms.
			s = c.sessions.create(user)
			http.SetCookie(w, c.cookie(r, s.id, int(sessionMax/time.Second)))
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				http.Error(w, "the form's CSRF token does not match this session: reload the page", http.StatusForbidden)
				return
			}
		case !byTest && s != nil && s.user != "":
			s = nil // made under a security test the console is no longer protected by
		}
		if s == nil {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
				return
			}
			w.Header().Set("HX-Redirect", "/console/login")
			http.Error(w, "sign in to the console first", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "the form could not be read", http.StatusBadRequest)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
				http.Error(w, "the form's CSRF token does not match this session: reload the page", http.StatusForbidden)
				return
			}
		}
		h(w, r, s)
	})
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", nil, map[string]any{})
}

// login signs an operator in with the admin token, compared in constant time. A new session id
// is made on every sign-in, so a session id planted before it is worth nothing.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	if !c.signIns.allow(r, c.opts.Now()) {
		w.Header().Set("Retry-After", "2")
		c.render(w, r, http.StatusTooManyRequests, "login", nil, map[string]any{"Error": "Too many sign-in attempts from your address: wait a few seconds."})
		return
	}
	token := []byte(r.PostForm.Get("token"))
	if len(c.opts.Token) == 0 || subtle.ConstantTimeCompare(token, c.opts.Token) != 1 {
		c.log.Warn("console sign-in refused", "client", r.RemoteAddr)
		c.render(w, r, http.StatusUnauthorized, "login", nil, map[string]any{"Error": "That is not the admin token."})
		return
	}
	s := c.sessions.create("")
	http.SetCookie(w, c.cookie(r, s.id, int(sessionMax/time.Second)))
	c.log.Info("console sign-in", "client", r.RemoteAddr)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.end(s.id)
	http.SetCookie(w, c.cookie(r, "", -1))
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
