// Package server is hostd's HTTP layer: the client API of PROTOCOL.md (protected resources,
// challenge answers, sessions), the OAuth endpoints, the admin API, health, readiness and
// metrics. It holds no business rules: it decodes requests (bounded bodies, the WL-App-* headers,
// cookies), maps them to resources and their security tests and to engine calls, and maps the
// engine's results to responses. Statuses come from one table of error codes (errors.go).
//
// Each request holds the runtime it started on (Runtimes) until it is done, so a reload, which
// the daemon performs (Reloader), never closes an adapter under it.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

// Cookie and header names of the protocol.
const (
	SessionCookie    = "WL_SESSION"
	PersistentCookie = "WL_PERSISTENT_COOKIE"
	HeaderAppID      = "WL-App-Id"
	HeaderAppEnv     = "WL-App-Environment"
	HeaderAppVersion = "WL-App-Version"
	HeaderInstanceID = "WL-Instance-Id"
)

// Runtime is one loaded configuration as the HTTP layer sees it: the project, to map requests to
// resources and their security tests; the engine, which decides them; the adapters, which serve
// procedures once a request is allowed.
type Runtime struct {
	Project *project.Project
	Engine  *engine.Engine
	// Adapters runs the procedures of adapters with a backend.
	Adapters Adapters
}

// Adapters is what the server needs of the loaded adapters.
type Adapters interface {
	Call(ctx context.Context, adapter, procedure string, input json.RawMessage) (json.RawMessage, error)
	Has(adapter string) bool
}

// Runtimes gives each request the runtime it is served with. Acquire returns the current
// runtime with a reference held and the func that releases it, which the server calls once the
// request is done: a reload does not close what a request in flight still uses. Before the first
// load it returns nil (and a func to call all the same).
type Runtimes interface {
	Acquire() (rt *Runtime, release func())
}

// Reloader loads the configuration again and makes it the current runtime
// (POST /admin/v1/reload). actor is who asked, for the audit log. A configuration with errors is
// a *project.LoadError, and the running one is kept.
type Reloader interface {
	Reload(ctx context.Context, actor string) (Reloaded, error)
}

// Reloaded is what a reload made current.
type Reloaded struct {
	Revision string
	// Warnings are the configuration's diagnostics that are not errors.
	Warnings []string
}

// Options configure a Server.
type Options struct {
	// Runtimes gives requests their runtime; nil serves none (503).
	Runtimes Runtimes
	// Reloader serves POST /admin/v1/reload; nil answers 409.
	Reloader Reloader
	Logger   *slog.Logger
	// Metrics is the registry /metrics serves, where the server adds its HTTP metrics; nil
	// makes one.
	Metrics *prometheus.Registry
	// MaxBodyBytes bounds request bodies (default 1 MiB); larger bodies get 413.
	MaxBodyBytes int64
	// AdminToken enables the admin API; empty leaves it off.
	AdminToken []byte
	// SecureCookies marks cookies Secure (the daemon serves TLS or sits behind a TLS proxy).
	SecureCookies bool
	// PersistentCookieAge is the Max-Age of WL_PERSISTENT_COOKIE.
	PersistentCookieAge time.Duration
	// TrustedProxies are the load balancers and proxies in front of the daemon
	// (ParseTrustedProxies): only for a request from one of them is X-Forwarded-For read for the
	// client's address (clientaddr.go). None: the client is the connection's peer.
	TrustedProxies []netip.Prefix
	// RateLimits bound challenge answers and new sessions per client and per realm; the zero
	// value applies none.
	RateLimits RateLimits
	// Now is the clock of the rate limits; nil is time.Now.
	Now func() time.Time

	// BundleStatus, when set, is shown as "bundle" in /readyz: the policy bundle serving and the
	// error of the last one refused. It does not change readiness: the bundle serving decides.
	BundleStatus func() any
	// Console serves the admin console at /console and below (package console, console.go);
	// nil serves none.
	Console Console
}

// Server serves the API. Build it with New and serve Handler; each request takes its runtime
// from Options.Runtimes.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	handler http.Handler
	// methods answers 405 for the paths the API serves with other methods (methodTable).
	methods *http.ServeMux
	addrs   clientAddrs
	// limits is nil when no rate limit is set.
	limits *limiter
}

// New builds a server; it answers 503 on /readyz until Options.Runtimes has a runtime.
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.PersistentCookieAge <= 0 {
		opts.PersistentCookieAge = engine.DefaultConfig.PersistentCookieAge
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: newMetrics(opts.Metrics),
		addrs: clientAddrs{trusted: opts.TrustedProxies}}
	if opts.RateLimits.AnswersPerClient > 0 || opts.RateLimits.AnswersPerRealm > 0 {
		s.limits = newLimiter(opts.RateLimits, opts.Now)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.handler = s.routes()
	return s
}

// acquire returns the runtime a request is served with and the func that releases it (deferred
// by the handler); nil before the first load.
func (s *Server) acquire() (*Runtime, func()) {
	if s.opts.Runtimes == nil {
		return nil, func() {}
	}
	return s.opts.Runtimes.Acquire()
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	register := func(pattern string, h http.Handler) {
		mux.Handle(pattern, h)
		if method, p, ok := strings.Cut(pattern, " "); ok {
			allowed[p] = append(allowed[p], method)
		}
	}
	handle := func(pattern, route string, h http.HandlerFunc) {
		register(pattern, s.metrics.instrument(route, h))
	}
	handle("GET /healthz", "healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	handle("GET /readyz", "readyz", s.readyz)
	register("GET /metrics", s.metrics.handler())

	handle("POST /api/v1/apps/{app}/{env}/init", "init", s.appInit)
	handle("POST /api/v1/adapters/{adapter}/{procedure}", "procedure", s.procedure)
	handle("POST /api/v1/auth/{realm}", "auth", s.answer)
	handle("POST /api/v1/logout/{realm}", "logout", s.logout)
	handle("GET /api/v1/session", "session", s.session)
	handle("/api/", "api_unknown", func(w http.ResponseWriter, r *http.Request) {
		if s.methodNotAllowed(w, r) {
			return
		}
		s.writeError(w, r, newError(codeNotFound, "no API endpoint "+r.Method+" "+r.URL.Path))
	})
	s.oauthRoutes(handle)
	s.adminRoutes(handle)
	if s.opts.Console != nil {
		// The admin console: its own sign-in, CSRF checks and pages; changes go through the
		// admin API above.
		handle("/console", "console", s.console)
		handle("/console/", "console", s.console)
	}
	handle("/", "static", s.static)
	s.methods = s.methodTable(allowed)
	return s.limitBody(mux)
}

// methodTable maps each path the API serves, whatever the method, to a handler that answers
// 405 with the path's methods in Allow. ServeMux itself only answers 405 when no pattern
// matches the path; here "/" (static resources) and "/api/" match every path, so a wrong method
// on an API path would fall through to them and be a 404.
func (s *Server) methodTable(allowed map[string][]string) *http.ServeMux {
	table := http.NewServeMux()
	for p, methods := range allowed {
		if slices.Contains(methods, http.MethodGet) && !slices.Contains(methods, http.MethodHead) {
			methods = append(methods, http.MethodHead) // ServeMux serves HEAD with GET's handler
		}
		slices.Sort(methods)
		allow := strings.Join(slices.Compact(methods), ", ")
		table.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, newError(codeMethodNotAllowed, r.Method+" is not allowed here: use "+allow))
		})
	}
	return table
}

// methodNotAllowed answers 405 and reports true when the API serves the request's path with
// other methods. The catch-all handlers call it first.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) bool {
	h, pattern := s.methods.Handler(r)
	if pattern == "" {
		return false
	}
	h.ServeHTTP(w, r)
	return true
}

// limitBody bounds every request body, and the URL path (maxPathBytes) before any handler
// looks at it.
func (s *Server) limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) > maxPathBytes {
			s.writeError(w, r, newError(codeURITooLong, "the URL path is longer than "+strconv.Itoa(maxPathBytes)+" bytes"))
			return
		}
		if r.ContentLength > s.opts.MaxBodyBytes {
			s.writeError(w, r, newError(codeTooLarge, "the request body is larger than the limit"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rt, release := s.acquire()
	defer release()
	if rt == nil {
		writeJSON(w, statusOf(string(engine.CodeUnavailable)), map[string]string{"status": "configuration not loaded"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := rt.Engine.Ready(ctx); err != nil {
		s.log.Warn("store not ready", "err", err)
		writeJSON(w, statusOf(string(engine.CodeUnavailable)), map[string]string{"status": "store unavailable"})
		return
	}
	body := map[string]any{"status": "ready", "revision": rt.Engine.Revision()}
	if s.opts.BundleStatus != nil {
		body["bundle"] = s.opts.BundleStatus()
	}
	writeJSON(w, http.StatusOK, body)
}

// readBody reads a JSON request body; an empty body reads as {}.
func (s *Server) readBody(r *http.Request) (json.RawMessage, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newError(codeTooLarge, "the request body is larger than the limit")
		}
		return nil, newError(codeBadRequest, "the request body could not be read")
	}
	body := strings.TrimSpace(string(data))
	if body == "" {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid([]byte(body)) {
		return nil, newError(codeBadRequest, "the request body is not valid JSON")
	}
	return json.RawMessage(body), nil
}

// begin starts an API request: its runtime, held until the handler calls release, and the
// request's application context. It writes the error and returns ok=false (release then does
// nothing) when either is missing.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (rt *Runtime, release func(), ac engine.AppContext, env *project.Environment, ok bool) {
	rt, release = s.acquire()
	if rt == nil {
		s.writeError(w, r, notLoaded())
		return nil, release, ac, nil, false
	}
	ac, env, err := s.appContext(r, rt)
	if err != nil {
		release()
		s.writeError(w, r, err)
		return nil, func() {}, ac, nil, false
	}
	return rt, release, ac, env, true
}

// appContext reads the WL-App-* headers and checks the application and environment exist.
func (s *Server) appContext(r *http.Request, rt *Runtime) (engine.AppContext, *project.Environment, error) {
	ac := engine.AppContext{
		App:     r.Header.Get(HeaderAppID),
		Env:     strings.ToLower(r.Header.Get(HeaderAppEnv)),
		Version: r.Header.Get(HeaderAppVersion),
	}
	if ac.App == "" || ac.Env == "" {
		return ac, nil, newError(codeMissingAppContext, "send the WL-App-Id, WL-App-Environment and WL-App-Version headers")
	}
	if len(ac.App) > 256 || len(ac.Env) > 64 || len(ac.Version) > 64 {
		return ac, nil, newError(codeBadRequest, "application context headers are too long")
	}
	app := rt.Project.Apps[ac.App]
	if app == nil {
		return ac, nil, &engine.Error{Code: engine.CodeUnknownApplication, Message: "application " + quote(ac.App) + " is not deployed"}
	}
	env := app.Envs[ac.Env]
	if env == nil {
		return ac, nil, &engine.Error{Code: engine.CodeUnknownApplication, Message: "application " + quote(ac.App) + " has no environment " + quote(ac.Env)}
	}
	return ac, env, nil
}

func quote(s string) string { return "\"" + s + "\"" }

// notLoaded is the error of a request that comes before the first configuration is loaded.
func notLoaded() error {
	return &engine.Error{Code: engine.CodeUnavailable, Message: "the configuration is not loaded"}
}

func (s *Server) passive(r *http.Request) engine.Passive {
	p := engine.Passive{
		InstanceID: r.Header.Get(HeaderInstanceID),
		Header:     r.Header.Get,
		Request:    func() map[string]any { return clientRequest(r) },
	}
	if c, err := r.Cookie(PersistentCookie); err == nil {
		p.PersistentUser = c.Value
	}
	return p
}

// clientIP is the client's address: the connection's peer or, behind a trusted proxy, the
// address that proxy was asked by (clientaddr.go). Failed logins back off per client and the
// rate limits count per client, so a client must never choose its own key.
func (s *Server) clientIP(r *http.Request) string { return s.addrs.of(r) }

func sessionID(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// issuedShape reports whether id has the shape of the session ids the engine issues (43
// base64url characters). A request without one creates a session, if any.
func issuedShape(id string) bool {
	if len(id) != 43 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Server) setCookies(w http.ResponseWriter, r *http.Request, c engine.Cookies) {
	secure := s.opts.SecureCookies || r.TLS != nil
	if c.SessionID != "" {
		http.SetCookie(w, &http.Cookie{
			Name: SessionCookie, Value: c.SessionID, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure,
		})
	}
	if c.PersistentUser != "" {
		http.SetCookie(w, &http.Cookie{
			Name: PersistentCookie, Value: c.PersistentUser, Path: "/",
			MaxAge:   int(s.opts.PersistentCookieAge / time.Second),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure,
		})
	}
}

// authorize runs the security test of a resource. It writes the challenge or error response and
// returns nil when the request may not proceed.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, rt *Runtime, ac engine.AppContext, res engine.Resource, facts map[string]any) *engine.Access {
	return s.authorizeRequest(w, r, rt, engine.AccessRequest{App: ac, Resource: res, Facts: facts})
}

// authorizeRequest is authorize for a request that says more than its resource (a static
// resource's Authorization header): it fills in what every request carries (session, passive
// realms, client address, method and path).
func (s *Server) authorizeRequest(w http.ResponseWriter, r *http.Request, rt *Runtime, req engine.AccessRequest) *engine.Access {
	if req.Facts == nil {
		req.Facts = map[string]any{}
	}
	req.Facts["method"] = r.Method
	req.Facts["path"] = r.URL.Path
	req.SessionID = sessionID(r)
	req.Passive = s.passive(r)
	req.Client = s.clientIP(r)
	// A request without a session id of the issued shape makes a new session when challenged:
	// it spends a token of its client before any work. One with an id of that shape that is not
	// (or no longer) a session spends it once the engine says it made one, and is refused
	// without its cookie when none was left (the session stored for it is never used, and
	// expires as unused sessions do).
	counted := false
	if !issuedShape(req.SessionID) {
		if lerr := s.limits.newSession(req.Client); lerr != nil {
			s.writeError(w, r, lerr)
			return nil
		}
		counted = true
	}
	acc, err := rt.Engine.Authorize(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return nil
	}
	if acc.NewSession && acc.Cookies.SessionID != "" && !counted {
		if lerr := s.limits.newSession(req.Client); lerr != nil {
			s.writeError(w, r, lerr)
			return nil
		}
	}
	s.setCookies(w, r, acc.Cookies)
	if acc.Challenge != nil {
		for _, realm := range acc.BasicRealms {
			w.Header().Add("WWW-Authenticate", basicChallenge(realm))
		}
		writeChallenge(w, acc.Challenge)
		return nil
	}
	return acc
}

func (s *Server) appInit(w http.ResponseWriter, r *http.Request) {
	rt, release, ac, env, ok := s.begin(w, r)
	defer release()
	if !ok {
		return
	}
	if r.PathValue("app") != ac.App || strings.ToLower(r.PathValue("env")) != ac.Env {
		s.writeError(w, r, newError(codeBadRequest, "the path's application and environment differ from the WL-App-* headers"))
		return
	}
	if _, err := s.readBody(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if env.SecurityTest == project.Unprotected {
		// An environment declared unprotected (the loader warned): no security check, so no
		// identities.
		writeJSON(w, http.StatusOK, map[string]any{
			"app": ac.App, "env": ac.Env, "securityTest": project.Unprotected, "user": nil, "device": nil,
		})
		return
	}
	acc := s.authorize(w, r, rt, ac, engine.Resource{
		Kind: engine.ResourceApp, Name: ac.App + "/" + ac.Env, Test: env.SecurityTest,
		Attributes: map[string]any{"app": ac.App, "env": ac.Env},
	}, nil)
	if acc == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"app": ac.App, "env": ac.Env, "securityTest": acc.Test, "user": acc.User, "device": acc.Device,
	})
}

func (s *Server) procedure(w http.ResponseWriter, r *http.Request) {
	rt, release, ac, env, ok := s.begin(w, r)
	defer release()
	if !ok {
		return
	}
	adapterName, procName := r.PathValue("adapter"), r.PathValue("procedure")
	adapter := rt.Project.Adapters[adapterName]
	if adapter == nil {
		s.writeError(w, r, newError(codeNotFound, "adapter "+quote(adapterName)+" is not deployed"))
		return
	}
	proc := adapter.Procedures[procName]
	if proc == nil || rt.Project.Internal[adapterName+"."+procName] {
		// A procedure that realms call (a PKI bridge's, a login function) is not the clients' to call.
		s.writeError(w, r, newError(codeNotFound, "adapter "+quote(adapterName)+" has no procedure "+quote(procName)))
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// One decoded value is both what the policy reads and what the adapter gets.
	params, err := decodeProcedureCall(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	test := proc.SecurityTest
	if test == "" {
		test = env.SecurityTest
	}
	var acc *engine.Access
	if test != project.Unprotected {
		acc = s.authorize(w, r, rt, ac, engine.Resource{
			Kind: engine.ResourceProcedure, Name: adapterName + "." + procName, Test: test,
			Attributes: map[string]any{"adapter": adapterName, "procedure": procName},
		}, map[string]any{"parameters": params})
		if acc == nil {
			return
		}
	}
	if rt.Adapters == nil || !rt.Adapters.Has(adapterName) {
		s.writeError(w, r, &engine.Error{Code: engine.CodeNotImplemented,
			Message: "adapter " + quote(adapterName) + " has no backend in this deployment: add a <backend> (wasm or plugin) to its XML"})
		return
	}
	input := map[string]any{
		"parameters": params,
		"app":        map[string]any{"id": ac.App, "env": ac.Env, "version": ac.Version},
		"identity":   map[string]any{},
	}
	if acc != nil {
		input["identity"] = map[string]any{"user": acc.User, "device": acc.Device, "realms": acc.Identities}
	}
	input["request"] = clientRequest(r)
	in, err := json.Marshal(input)
	if err != nil {
		s.writeError(w, r, newError(codeBadRequest, "the parameters cannot be passed to the adapter"))
		return
	}
	out, called, err := s.callAdapter(r.WithContext(s.invokeContext(r, rt, ac, acc, adapterName+"."+procName)), rt, ac, acc, adapter, procName, in)
	if err != nil {
		if !called {
			s.writeError(w, r, err)
			return
		}
		s.procedureFailed(w, adapterName, procName, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"isSuccessful": true, "result": json.RawMessage(out)})
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	rt, release, ac, _, ok := s.begin(w, r)
	defer release()
	if !ok {
		return
	}
	realm := r.PathValue("realm")
	client := s.clientIP(r)
	limited := realm
	if metricRealm(rt, realm) != realm {
		limited = "" // an unknown realm is refused (404) at once; it gets no bucket
	}
	if lerr := s.limits.answer(client, limited); lerr != nil {
		s.metrics.answers.WithLabelValues(metricRealm(rt, realm), codeRateLimited).Inc()
		s.writeError(w, r, lerr)
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := engine.AnswerRequest{App: ac, SessionID: sessionID(r), Realm: realm, Body: body, Passive: s.passive(r), Client: client}
	if u, p, ok := r.BasicAuth(); ok {
		req.Basic = &engine.BasicCredentials{Username: u, Password: p}
	}
	res, err := rt.Engine.Answer(r.Context(), req)
	if err != nil {
		s.metrics.answers.WithLabelValues(metricRealm(rt, realm), string(engine.CodeOf(err))).Inc()
		s.writeError(w, r, err)
		return
	}
	s.setCookies(w, r, res.Cookies)
	if res.Retry != nil {
		s.metrics.answers.WithLabelValues(realm, "retry").Inc()
		writeChallenge(w, res.Retry)
		return
	}
	s.metrics.answers.WithLabelValues(realm, res.Status).Inc()
	out := map[string]any{}
	for k, v := range res.Extra {
		out[k] = v
	}
	out["realm"], out["status"] = realm, res.Status
	if res.Identity != nil {
		out["identity"] = res.Identity
	}
	writeJSON(w, http.StatusOK, out)
}

// metricRealm keeps unknown realm names out of metric labels (unbounded cardinality).
func metricRealm(rt *Runtime, realm string) string {
	if _, ok := rt.Project.Realms[realm]; ok {
		return realm
	}
	return "unknown"
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	rt, release, ac, _, ok := s.begin(w, r)
	defer release()
	if !ok {
		return
	}
	realm := r.PathValue("realm")
	if err := rt.Engine.Logout(r.Context(), ac, sessionID(r), realm); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"realm": realm, "status": "logged_out"})
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	rt, release, ac, _, ok := s.begin(w, r)
	defer release()
	if !ok {
		return
	}
	info, err := rt.Engine.Session(r.Context(), ac, sessionID(r), s.passive(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}
