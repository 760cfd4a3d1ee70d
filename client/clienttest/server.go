// Package clienttest runs an in-process Realmgate server for tests of code built on package
// client. It speaks the wire protocol of PROTOCOL.md sections 1-5 and 7 as the daemon does:
// sessions bound to an application environment, security tests made of steps of realms, the
// built-in realms (anti-XSRF, anonymous user, remote disable, device without provisioning),
// login realms with the form, basic and header authenticators and an attempt limit, a session id
// rotated at every user login, logout and session introspection, adapter procedures and static
// resources, and the certificate realms: device provisioning (per application, group or
// device, with revocation), application authenticity (Android Key Attestation) and user
// certificates with a PKI bridge's verdicts. Certificates come from a CA the server makes when
// it starts. It listens on 127.0.0.1 and takes its configuration as plain Go values instead of
// Worklight XML, so a test states exactly the security it exercises.
//
// Every request is recorded (Requests), so a test can check what a client sent.
package clienttest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/pki"
)

// Built-in realm names.
const (
	RealmAntiXSRF               = "wl_antiXSRFRealm"
	RealmAnonymousUser          = "wl_anonymousUserRealm"
	RealmRemoteDisable          = "wl_remoteDisableRealm"
	RealmDeviceNoProvisioning   = "wl_deviceNoProvisioningRealm"
	RealmDeviceAutoProvisioning = "wl_deviceAutoProvisioningRealm"
	RealmAuthenticity           = "wl_authenticityRealm"
	RealmUserCertificate        = "wl_userCertificateAuthRealm"
)

// Unprotected is the security test name that protects nothing.
const Unprotected = "wl_unprotected"

const maxBody = 1 << 20

// Config is the server's configuration.
type Config struct {
	// App and Environments are the application the server knows; requests for another get
	// 404 unknown_application. Defaults: "sample" and ["android"].
	App          string
	Environments []string
	// Tests maps a security test name to its steps, each a list of realm names.
	Tests map[string][][]string
	// InitTest protects POST /api/v1/apps/{app}/{env}/init; empty protects nothing.
	InitTest string
	// Procedures maps "adapter/procedure" to the procedure.
	Procedures map[string]Procedure
	// Static maps a URL path ("/static/index.html") to a static resource.
	Static map[string]Static
	// Login maps a realm name to its login module.
	Login map[string]LoginRealm
	// MaxAttempts is the number of wrong answers a realm accepts per session; default 5.
	MaxAttempts int
	// RemoteDisable is the initial remote-disable rule; SetRemoteDisable changes it.
	RemoteDisable *Rule

	// Apps are further applications served with the same configuration as App (so that two
	// applications can share a provisioning group).
	Apps []string
	// Provisioning maps a realm name (RealmDeviceAutoProvisioning or a custom one) to a
	// device-provisioning realm.
	Provisioning map[string]ProvisioningRealm
	// Authenticity, when set, configures RealmAuthenticity.
	Authenticity *AuthenticityRealm
	// UserCertificate maps a realm name (RealmUserCertificate or another) to a user-certificate
	// realm.
	UserCertificate map[string]UserCertificateRealm
}

// Procedure is an adapter procedure.
type Procedure struct {
	// SecurityTest protects the procedure; empty or Unprotected protects nothing.
	SecurityTest string
	// Run computes the result from the positional parameters. Nil answers
	// 501 not_implemented once the security test passed, as the daemon does before adapters
	// exist. An error answers 500 {"isSuccessful": false, "errors": [message]}.
	Run func(params []json.RawMessage) (any, error)
}

// Static is a static resource.
type Static struct {
	SecurityTest string
	ContentType  string
	Body         string
}

// LoginRealm is a realm with a login module.
type LoginRealm struct {
	// Authenticator is "form", "basic" or "header".
	Authenticator string
	// Header names the header the header authenticator reads the user name from.
	Header string
	// Users maps user names to passwords (the header authenticator only checks the name).
	Users map[string]string
}

// Rule is a remote-disable rule for the application.
type Rule struct {
	// Action is "block" or "notify".
	Action string
	// Versions lists the application versions the rule applies to; empty means all.
	Versions     []string
	Message      string
	MessageID    string
	DownloadLink string
}

// Request is one recorded request.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   string
}

// Server is a running fake server. Its embedded *httptest.Server gives the URL.
type Server struct {
	*httptest.Server
	cfg Config
	ca  *pki.CA

	mu       sync.Mutex
	sessions map[string]*session
	opened   int
	rule     *Rule
	log      []Request
	issued   []*IssuedCertificate
}

type session struct {
	id, app, env string
	instanceID   string
	passed       map[string]map[string]any // realm -> identity
	pending      map[string]map[string]any // realm -> challenge payload issued and not yet answered
	attempts     map[string]int
	lastError    map[string]string
	acked        string // remote-disable message id acknowledged
	refused      map[string]bool
	requirements map[string]adapters.CSRRequirements // user-certificate realm -> requirements of its enrollment challenge
}

// NewServer validates cfg (failing tb on a mistake), starts the server on 127.0.0.1 and stops it
// when the test ends.
func NewServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := Start(cfg)
	if err != nil {
		tb.Fatalf("clienttest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start validates cfg and starts the server on 127.0.0.1; the caller stops it with Close. Tests
// use NewServer; Start serves examples and tools that have no testing.TB.
func Start(cfg Config) (*Server, error) {
	if cfg.App == "" {
		cfg.App = "sample"
	}
	if len(cfg.Environments) == 0 {
		cfg.Environments = []string{"android"}
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 5
	}
	s := &Server{cfg: cfg, sessions: map[string]*session{}, rule: cfg.RemoteDisable}
	if err := s.validate(); err != nil {
		return nil, err
	}
	ca, err := pki.NewCA(pki.CAOptions{CommonName: "clienttest CA"})
	if err != nil {
		return nil, err
	}
	s.ca = ca
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/apps/{app}/{env}/init", s.api(s.serveInit))
	mux.HandleFunc("POST /api/v1/adapters/{adapter}/{procedure}", s.api(s.serveProcedure))
	mux.HandleFunc("POST /api/v1/auth/{realm}", s.api(s.serveAuth))
	mux.HandleFunc("POST /api/v1/logout/{realm}", s.api(s.serveLogout))
	mux.HandleFunc("GET /api/v1/session", s.api(s.serveSession))
	static := s.api(s.serveStatic)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || strings.HasPrefix(r.URL.Path, "/api/") {
			s.record(r, nil)
			writeError(w, http.StatusNotFound, "unknown_resource", "no such resource")
			return
		}
		static(w, r)
	})
	s.Server = httptest.NewServer(mux)
	return s, nil
}

func (s *Server) validate() error {
	for name, steps := range s.cfg.Tests {
		for _, step := range steps {
			for _, realm := range step {
				if !s.knownRealm(realm) {
					return fmt.Errorf("test %s: unknown realm %q", name, realm)
				}
			}
		}
	}
	test := func(where, name string) error {
		if name == "" || name == Unprotected {
			return nil
		}
		if _, ok := s.cfg.Tests[name]; !ok {
			return fmt.Errorf("%s: unknown security test %q", where, name)
		}
		return nil
	}
	if err := test("init", s.cfg.InitTest); err != nil {
		return err
	}
	for k, p := range s.cfg.Procedures {
		if err := test("procedure "+k, p.SecurityTest); err != nil {
			return err
		}
	}
	for k, st := range s.cfg.Static {
		if err := test("static "+k, st.SecurityTest); err != nil {
			return err
		}
	}
	if err := s.validatePKI(); err != nil {
		return err
	}
	for name, l := range s.cfg.Login {
		switch l.Authenticator {
		case "form", "basic":
		case "header":
			if l.Header == "" {
				return fmt.Errorf("realm %s: header authenticator needs a Header", name)
			}
		default:
			return fmt.Errorf("realm %s: unknown authenticator %q", name, l.Authenticator)
		}
	}
	return nil
}

// SetRemoteDisable replaces the remote-disable rule; nil clears it.
func (s *Server) SetRemoteDisable(r *Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rule = r
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// Count returns how many requests had this method and path.
func (s *Server) Count(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// Sessions returns how many sessions the server has opened (a session keeps counting as one
// when its id is rotated at login).
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

func setSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{Name: "WL_SESSION", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// call is one request after the common checks, with the server lock held.
type call struct {
	w          http.ResponseWriter
	r          *http.Request
	sess       *session
	persistent string
	version    string
	body       []byte
}

// api wraps a handler with what every request goes through: the body bound, the log, the
// application context, the session, the persistent cookie and a remote-disable block. The
// handler runs with the server lock held.
func (s *Server) api(h func(*call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		s.record(r, body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds 1 MiB")
				return
			}
			writeError(w, http.StatusBadRequest, "bad_request", "cannot read the request body")
			return
		}
		app, env, version := r.Header.Get("WL-App-Id"), r.Header.Get("WL-App-Environment"), r.Header.Get("WL-App-Version")
		if app == "" || env == "" || version == "" {
			writeError(w, http.StatusBadRequest, "missing_app_context", "send WL-App-Id, WL-App-Environment and WL-App-Version")
			return
		}
		if app != s.cfg.App && !slices.Contains(s.cfg.Apps, app) || !slices.Contains(s.cfg.Environments, env) {
			writeError(w, http.StatusNotFound, "unknown_application", "no application "+app+" with environment "+env)
			return
		}

		s.mu.Lock()
		defer s.mu.Unlock()
		c := &call{w: w, r: r, version: version, body: body}
		if ck, err := r.Cookie("WL_SESSION"); err == nil {
			if sess, ok := s.sessions[ck.Value]; ok && sess.app == app && sess.env == env {
				c.sess = sess
			}
		}
		if c.sess == nil {
			c.sess = &session{
				id: randomHex(16), app: app, env: env,
				passed: map[string]map[string]any{}, pending: map[string]map[string]any{},
				attempts: map[string]int{}, lastError: map[string]string{},
				refused: map[string]bool{}, requirements: map[string]adapters.CSRRequirements{},
			}
			s.sessions[c.sess.id] = c.sess
			s.opened++
			setSessionCookie(w, c.sess.id)
		}
		if ck, err := r.Cookie("WL_PERSISTENT_COOKIE"); err == nil && ck.Value != "" {
			c.persistent = ck.Value
		} else {
			c.persistent = newUUID()
			http.SetCookie(w, &http.Cookie{Name: "WL_PERSISTENT_COOKIE", Value: c.persistent, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true})
		}
		if rule := s.ruleFor(version); rule != nil && rule.Action == "block" {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": "application_disabled", "message": rule.Message, "downloadLink": rule.DownloadLink})
			return
		}
		h(c)
	}
}

func (s *Server) record(r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
}

func (s *Server) ruleFor(version string) *Rule {
	if s.rule == nil {
		return nil
	}
	if len(s.rule.Versions) > 0 && !slices.Contains(s.rule.Versions, version) {
		return nil
	}
	return s.rule
}

// check evaluates a security test: true when every realm of every step passed, else it writes
// the challenge of the lowest unfinished step.
func (s *Server) check(c *call, test string) bool {
	if test == "" || test == Unprotected {
		return true
	}
	for i, step := range s.cfg.Tests[test] {
		challenges := map[string]any{}
		for _, realm := range step {
			if c.sess.refused[realm] {
				writeError(c.w, http.StatusForbidden, "realm_refused", "realm "+realm+" refused this session; start a new session")
				return false
			}
			if !s.passed(c, realm) {
				challenges[realm] = s.challenge(c, realm)
			}
		}
		if len(challenges) > 0 {
			writeJSON(c.w, http.StatusUnauthorized, map[string]any{"securityTest": test, "step": i + 1, "challenges": challenges})
			return false
		}
	}
	return true
}

func (s *Server) passed(c *call, realm string) bool {
	switch realm {
	case RealmAntiXSRF:
		got := c.r.Header.Get("WL-Instance-Id")
		return c.sess.instanceID != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.sess.instanceID)) == 1
	case RealmAnonymousUser:
		return true
	case RealmRemoteDisable:
		rule := s.ruleFor(c.version)
		return rule == nil || rule.Action != "notify" || c.sess.acked == rule.MessageID
	}
	_, ok := c.sess.passed[realm]
	return ok
}

// challenge issues realm's challenge payload and records it as pending.
func (s *Server) challenge(c *call, realm string) map[string]any {
	var p map[string]any
	switch realm {
	case RealmAntiXSRF:
		if c.sess.instanceID == "" {
			c.sess.instanceID = randomHex(16)
		}
		return map[string]any{"WL-Instance-Id": c.sess.instanceID}
	case RealmRemoteDisable:
		rule := s.ruleFor(c.version)
		p = map[string]any{"action": "notify", "message": rule.Message, "messageId": rule.MessageID}
	case RealmDeviceNoProvisioning:
		p = map[string]any{"token": randomHex(16)}
	case RealmAuthenticity:
		p = map[string]any{"token": randomHex(16)}
	default:
		if pr, ok := s.cfg.Provisioning[realm]; ok {
			p = map[string]any{"token": randomHex(16), "entity": pr.Entity}
			break
		}
		if u, ok := s.cfg.UserCertificate[realm]; ok {
			p = map[string]any{"token": randomHex(16), "dependentRealm": u.DependentRealm}
			break
		}
		l := s.cfg.Login[realm]
		p = map[string]any{"authenticator": l.Authenticator}
		switch l.Authenticator {
		case "basic":
			p["realm"] = realm
		case "header":
			p["header"] = l.Header
		}
	}
	c.sess.pending[realm] = p
	out := map[string]any{}
	for k, v := range p {
		out[k] = v
	}
	if msg := c.sess.lastError[realm]; msg != "" {
		out["error"] = msg
		out["remainingAttempts"] = s.cfg.MaxAttempts - c.sess.attempts[realm]
	}
	return out
}

func (s *Server) serveInit(c *call) {
	if c.r.PathValue("app") != c.sess.app || c.r.PathValue("env") != c.sess.env {
		writeError(c.w, http.StatusBadRequest, "app_context_mismatch", "the path and the WL-App headers name different applications")
		return
	}
	if !s.check(c, s.cfg.InitTest) {
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"app": c.sess.app, "env": c.sess.env, "securityTest": s.cfg.InitTest,
		"user": s.user(c), "device": s.device(c),
	})
}

func (s *Server) serveProcedure(c *call) {
	key := c.r.PathValue("adapter") + "/" + c.r.PathValue("procedure")
	p, ok := s.cfg.Procedures[key]
	if !ok {
		writeError(c.w, http.StatusNotFound, "unknown_procedure", "no procedure "+key)
		return
	}
	var in struct {
		Parameters []json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		writeError(c.w, http.StatusBadRequest, "bad_request", "the body must be {\"parameters\": [...]}")
		return
	}
	if !s.check(c, p.SecurityTest) {
		return
	}
	if p.Run == nil {
		writeError(c.w, http.StatusNotImplemented, "not_implemented", "adapter procedures are not available yet")
		return
	}
	result, err := p.Run(in.Parameters)
	if err != nil {
		writeJSON(c.w, http.StatusInternalServerError, map[string]any{"isSuccessful": false, "errors": []string{err.Error()}})
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"isSuccessful": true, "result": result})
}

func (s *Server) serveStatic(c *call) {
	st, ok := s.cfg.Static[c.r.URL.Path]
	if !ok {
		writeError(c.w, http.StatusNotFound, "unknown_resource", "no such resource")
		return
	}
	if !s.check(c, st.SecurityTest) {
		return
	}
	ct := st.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	c.w.Header().Set("Content-Type", ct)
	io.WriteString(c.w, st.Body)
}

func (s *Server) knownRealm(realm string) bool {
	switch realm {
	case RealmAntiXSRF, RealmAnonymousUser, RealmRemoteDisable, RealmDeviceNoProvisioning:
		return true
	case RealmAuthenticity:
		return s.cfg.Authenticity != nil
	}
	_, login := s.cfg.Login[realm]
	_, prov := s.cfg.Provisioning[realm]
	_, user := s.cfg.UserCertificate[realm]
	return login || prov || user
}

func (s *Server) serveAuth(c *call) {
	realm := c.r.PathValue("realm")
	if !s.knownRealm(realm) {
		writeError(c.w, http.StatusNotFound, "unknown_realm", "no realm "+realm)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(c.body, &body); err != nil || body == nil {
		writeError(c.w, http.StatusBadRequest, "bad_request", "the answer must be a JSON object")
		return
	}
	if realm == RealmAntiXSRF {
		if c.sess.instanceID == "" {
			writeError(c.w, http.StatusConflict, "no_challenge", "the realm has no pending challenge in this session")
			return
		}
		if !s.passed(c, realm) {
			writeJSON(c.w, http.StatusUnauthorized, map[string]any{"challenges": map[string]any{realm: s.challenge(c, realm)}})
			return
		}
		writeJSON(c.w, http.StatusOK, map[string]any{"realm": realm, "status": "success", "identity": nil})
		return
	}
	if c.sess.refused[realm] {
		writeError(c.w, http.StatusForbidden, "realm_refused", "realm "+realm+" refused this session; start a new session")
		return
	}
	if c.sess.attempts[realm] >= s.cfg.MaxAttempts {
		writeError(c.w, http.StatusTooManyRequests, "too_many_attempts", "too many wrong answers for "+realm+" in this session")
		return
	}
	// Once the session has an anti-XSRF token, every answer must carry it.
	if !s.passed(c, RealmAntiXSRF) && c.sess.instanceID != "" {
		writeError(c.w, http.StatusForbidden, "xsrf_token_mismatch", "the WL-Instance-Id header is missing or wrong")
		return
	}
	pending, ok := c.sess.pending[realm]
	if !ok {
		writeError(c.w, http.StatusConflict, "no_challenge", "the realm has no pending challenge in this session")
		return
	}
	if s.answerPKI(c, realm, pending, body) {
		return
	}
	identity, wrong := s.verify(c, realm, pending, body)
	if wrong == "" {
		s.succeed(c, realm, identity)
		return
	}
	s.wrongAnswer(c, realm, wrong, nil)
}

// succeed records realm as passed with identity and writes the success reply.
func (s *Server) succeed(c *call, realm string, identity map[string]any) {
	delete(c.sess.pending, realm)
	delete(c.sess.lastError, realm)
	c.sess.passed[realm] = identity
	_, login := s.cfg.Login[realm]
	_, userCert := s.cfg.UserCertificate[realm]
	if login || userCert {
		// A user login rotates the session id: an id known before the login is worthless
		// after it, and a request still carrying it gets a new, empty session.
		delete(s.sessions, c.sess.id)
		c.sess.id = randomHex(16)
		s.sessions[c.sess.id] = c.sess
		setSessionCookie(c.w, c.sess.id)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"realm": realm, "status": "success", "identity": identity})
}

// wrongAnswer counts a wrong answer and writes a new challenge for realm carrying the error
// (and extra members), or 429 once the attempts are spent.
func (s *Server) wrongAnswer(c *call, realm, wrong string, extra map[string]any) {
	c.sess.attempts[realm]++
	if c.sess.attempts[realm] >= s.cfg.MaxAttempts {
		delete(c.sess.pending, realm)
		writeError(c.w, http.StatusTooManyRequests, "too_many_attempts", "too many wrong answers for "+realm+" in this session")
		return
	}
	c.sess.lastError[realm] = wrong
	payload := s.challenge(c, realm)
	for k, v := range extra {
		payload[k] = v
	}
	writeJSON(c.w, http.StatusUnauthorized, map[string]any{"challenges": map[string]any{realm: payload}})
}

// refuse ends realm for the session: this answer and every later one, and every request it
// protects, get 403 realm_refused.
func (s *Server) refuse(c *call, realm, code, message string) {
	c.sess.refused[realm] = true
	delete(c.sess.pending, realm)
	writeError(c.w, http.StatusForbidden, code, message)
}

// verify checks an answer; it returns the identity, or a message saying what was wrong.
func (s *Server) verify(c *call, realm string, pending, body map[string]any) (map[string]any, string) {
	str := func(k string) string { v, _ := body[k].(string); return v }
	switch realm {
	case RealmRemoteDisable:
		if body["acknowledged"] != true || str("messageId") != pending["messageId"] {
			return nil, "the notice was not acknowledged"
		}
		c.sess.acked = str("messageId")
		return nil, ""
	case RealmDeviceNoProvisioning:
		tok, _ := pending["token"].(string)
		if subtle.ConstantTimeCompare([]byte(str("token")), []byte(tok)) != 1 {
			return nil, "wrong or expired token"
		}
		dev, _ := body["device"].(map[string]any)
		if id, _ := dev["id"].(string); id == "" {
			return nil, "the answer has no device id"
		}
		return dev, ""
	}
	l := s.cfg.Login[realm]
	var user, password string
	switch l.Authenticator {
	case "form":
		user, password = str("username"), str("password")
		if user == "" {
			user, password = str("j_username"), str("j_password")
		}
	case "basic":
		user, password, _ = c.r.BasicAuth()
	case "header":
		user = c.r.Header.Get(l.Header)
		if _, ok := l.Users[user]; ok && user != "" {
			return map[string]any{"userId": user, "displayName": user}, ""
		}
		return nil, "unknown user"
	}
	want, ok := l.Users[user]
	// Compare even for unknown users so the time taken does not tell which names exist.
	match := subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1
	if !ok || !match || user == "" {
		return nil, "wrong user name or password"
	}
	return map[string]any{"userId": user, "displayName": user}, ""
}

func (s *Server) serveLogout(c *call) {
	realm := c.r.PathValue("realm")
	if !s.knownRealm(realm) {
		writeError(c.w, http.StatusNotFound, "unknown_realm", "no realm "+realm)
		return
	}
	delete(c.sess.passed, realm)
	writeJSON(c.w, http.StatusOK, map[string]any{"realm": realm, "status": "logged_out"})
}

func (s *Server) serveSession(c *call) {
	realms := map[string]any{}
	for realm, id := range c.sess.passed {
		realms[realm] = map[string]any{"identity": id}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"app": c.sess.app, "env": c.sess.env, "realms": realms,
		"user": s.user(c), "device": s.device(c),
	})
}

// user is the identity of the first login or user-certificate realm passed (by name), else the
// anonymous user.
func (s *Server) user(c *call) map[string]any {
	var names []string
	for realm := range c.sess.passed {
		_, login := s.cfg.Login[realm]
		_, cert := s.cfg.UserCertificate[realm]
		if login || cert {
			names = append(names, realm)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		return c.sess.passed[names[0]]
	}
	return map[string]any{"userId": c.persistent}
}

// device is the identity of the device realm passed: no provisioning, else the first
// provisioning realm (by name).
func (s *Server) device(c *call) map[string]any {
	if id, ok := c.sess.passed[RealmDeviceNoProvisioning]; ok {
		return id
	}
	var names []string
	for realm := range c.sess.passed {
		if _, ok := s.cfg.Provisioning[realm]; ok {
			names = append(names, realm)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return c.sess.passed[names[0]]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"error": code, "message": message})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}
