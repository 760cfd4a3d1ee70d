// Package server is hostd's HTTP layer: the client API of PROTOCOL.md (protected resources,
// challenge answers, sessions), the admin API, health, readiness and metrics. It maps requests to
// resources and their security tests, hands them to the engine, and maps the engine's results and
// error codes to responses; statuses are chosen in one place (errors.go).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
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

// Runtime is one loaded configuration: the project and the engine that enforces it. A reload
// builds a new Runtime and swaps it in atomically; requests in flight finish on the old one.
type Runtime struct {
	Project *project.Project
	Engine  *engine.Engine
	// Adapters runs the procedures of adapters with a backend.
	Adapters Adapters
	LoadedAt time.Time
}

// Adapters is what the server needs of the loaded adapters.
type Adapters interface {
	Call(ctx context.Context, adapter, procedure string, input json.RawMessage) (json.RawMessage, error)
	Has(adapter string) bool
	Close(ctx context.Context) error
}

// Options configure a Server.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// DecisionLogger receives the decision log; nil uses Logger.
	DecisionLogger *slog.Logger
	// MaxBodyBytes bounds request bodies (default 1 MiB); larger bodies get 413.
	MaxBodyBytes int64
	// AdminToken enables the admin API; empty leaves it off.
	AdminToken []byte
	// Reload builds a new runtime from the configuration (POST /admin/v1/reload).
	Reload func(ctx context.Context) (*Runtime, error)
	// SecureCookies marks cookies Secure (the daemon serves TLS or sits behind a TLS proxy).
	SecureCookies bool
	// PersistentCookieAge is the Max-Age of WL_PERSISTENT_COOKIE.
	PersistentCookieAge time.Duration
	// Tokens mints and validates access tokens; TokenKeys publishes and rotates their keys. Nil
	// leaves the OAuth endpoints off (501).
	Tokens    *engine.TokenIssuer
	TokenKeys TokenKeys
}

// Server serves the API. Build it with New, give it a runtime with Swap, serve Handler.
type Server struct {
	opts    Options
	log     *slog.Logger
	declog  *slog.Logger
	rt      atomic.Pointer[Runtime]
	metrics *metrics
	handler http.Handler
	// methods answers 405 for the paths the API serves with other methods (methodTable).
	methods *http.ServeMux
}

// New builds a server; it answers 503 on /readyz until Swap gives it a runtime.
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.PersistentCookieAge <= 0 {
		opts.PersistentCookieAge = engine.DefaultConfig.PersistentCookieAge
	}
	s := &Server{opts: opts, log: opts.Logger, declog: opts.DecisionLogger, metrics: newMetrics()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.declog == nil {
		s.declog = s.log
	}
	s.handler = s.routes()
	return s
}

// Swap installs a runtime.
func (s *Server) Swap(rt *Runtime) { s.rt.Store(rt) }

// Runtime returns the current runtime (nil before the first Swap).
func (s *Server) Runtime() *Runtime { return s.rt.Load() }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// RecordDecision is the engine's decision callback: one log record and one metric per decision.
func (s *Server) RecordDecision(d engine.DecisionRecord) {
	s.metrics.decisions.WithLabelValues(d.Test, d.Outcome).Inc()
	s.declog.LogAttrs(context.Background(), slog.LevelInfo, "decision",
		slog.String("decision_id", d.DecisionID),
		slog.String("session", d.Session),
		slog.String("app", d.App), slog.String("env", d.Env), slog.String("version", d.Version),
		slog.String("resource_kind", d.Kind), slog.String("resource", d.Resource),
		slog.String("security_test", d.Test),
		slog.Any("realms_passed", d.Passed),
		slog.String("outcome", d.Outcome),
		slog.Int("step", d.Step),
		slog.Any("realms_challenged", d.Realms),
		slog.Any("reasons", d.Reasons),
		slog.String("revision", d.Revision),
	)
}

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
	s.adminRoutes(mux, handle)
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
	rt := s.rt.Load()
	if rt == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "configuration not loaded"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Store.Ping(ctx); err != nil {
		s.log.Warn("store not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "revision": rt.Engine.Revision()})
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

// begin starts an API request: the current runtime and the request's application context. It
// writes the error and returns ok=false when either is missing.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (*Runtime, engine.AppContext, *project.Environment, bool) {
	rt := s.rt.Load()
	if rt == nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the configuration is not loaded"})
		return nil, engine.AppContext{}, nil, false
	}
	ac, env, err := s.appContext(r, rt)
	if err != nil {
		s.writeError(w, r, err)
		return nil, ac, nil, false
	}
	return rt, ac, env, true
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

func (s *Server) passive(r *http.Request) engine.Passive {
	p := engine.Passive{
		InstanceID: r.Header.Get(HeaderInstanceID),
		Header:     r.Header.Get,
	}
	if c, err := r.Cookie(PersistentCookie); err == nil {
		p.PersistentUser = c.Value
	}
	return p
}

// clientIP is the address of the connection's peer. Headers a client can set (X-Forwarded-For)
// are not read: failed logins back off per client, and a client must not choose its own key.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func sessionID(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
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
	if facts == nil {
		facts = map[string]any{}
	}
	facts["method"] = r.Method
	facts["path"] = r.URL.Path
	acc, err := rt.Engine.Authorize(r.Context(), engine.AccessRequest{
		App:       ac,
		SessionID: sessionID(r),
		Resource:  res,
		Passive:   s.passive(r),
		Facts:     facts,
	})
	if err != nil {
		s.writeError(w, r, err)
		return nil
	}
	s.setCookies(w, r, acc.Cookies)
	if acc.Challenge != nil {
		writeJSON(w, http.StatusUnauthorized, acc.Challenge)
		return nil
	}
	return acc
}

func (s *Server) appInit(w http.ResponseWriter, r *http.Request) {
	rt, ac, env, ok := s.begin(w, r)
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
	rt, ac, env, ok := s.begin(w, r)
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
	in, err := json.Marshal(input)
	if err != nil {
		s.writeError(w, r, newError(codeBadRequest, "the parameters cannot be passed to the adapter"))
		return
	}
	out, err := rt.Adapters.Call(r.Context(), adapterName, procName, in)
	if err != nil {
		s.procedureFailed(w, r, adapterName, procName, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"isSuccessful": true, "result": json.RawMessage(out)})
}

// procedureFailed answers {"isSuccessful": false, "errors": [...]} with the status of the failure.
func (s *Server) procedureFailed(w http.ResponseWriter, r *http.Request, adapter, procedure string, err error) {
	var ae *adapters.Error
	code, msg := adapters.CodeFailed, "the procedure failed"
	if errors.As(err, &ae) {
		code = ae.Code
		msg = ae.Message
	}
	status := http.StatusInternalServerError
	switch code {
	case adapters.CodeFailed, adapters.CodeOutOfMemory:
		status = http.StatusInternalServerError
	case adapters.CodeTimeout:
		status = http.StatusGatewayTimeout
	case adapters.CodeBadOutput:
		status = http.StatusBadGateway
	case adapters.CodeBadInput:
		status = http.StatusBadRequest
	case adapters.CodeUnavailable:
		status = http.StatusServiceUnavailable
	case adapters.CodeUnknownProcedure:
		status = http.StatusNotImplemented
	}
	if msg == "" {
		msg = string(code)
	}
	s.log.Warn("procedure failed", "adapter", adapter, "procedure", procedure, "code", code, "err", err)
	writeJSON(w, status, map[string]any{"isSuccessful": false, "errors": []string{msg}, "error": string(code), "message": msg})
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	rt, ac, _, ok := s.begin(w, r)
	if !ok {
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	realm := r.PathValue("realm")
	req := engine.AnswerRequest{App: ac, SessionID: sessionID(r), Realm: realm, Body: body, Passive: s.passive(r), Client: clientIP(r)}
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
		writeJSON(w, http.StatusUnauthorized, res.Retry)
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
	rt, ac, _, ok := s.begin(w, r)
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
	rt, ac, _, ok := s.begin(w, r)
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
