// Package engine decides whether a request may reach a protected resource, and runs the
// challenge protocol that gets a client there: sessions, the built-in realms, authenticators and
// login modules, and the decision of the security test (evaluated by package policies).
//
// The engine knows nothing of HTTP. The daemon (hostd) turns a request into an [AccessRequest] or
// an [AnswerRequest], and the engine's results and *Error codes back into responses.
//
// A protected request flows like this: [Engine.Authorize] loads the session, lets the passive
// realms look at the request (anti-XSRF header, persistent cookie, remote-disable rules, headers),
// builds the policy input (the test, the realms passed, the resource, request facts), and asks the
// prepared policy query for a decision. A challenge becomes realm payloads; the client answers
// each realm with [Engine.Answer] and then repeats its request.
//
// The engine is hostd's only brain: access tokens ([Engine.GrantToken], [Engine.IntrospectToken],
// key rotation and retention), device, certificate and remote-disable administration
// ([Engine.SetDeviceStatus], [Engine.ResetDevice], [Engine.RevokeCertificate],
// [Engine.SetRules]) and the audit of every change are its methods too. It declares what it
// consumes: a [Store], a [ProcedureRunner] for adapters, a [DecisionSink] for the decision log.
package engine

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// Config holds the engine's settings. Zero values take the defaults of DefaultConfig.
type Config struct {
	// SessionIdle ends a session not used for this long.
	SessionIdle time.Duration
	// SessionMaxLifetime ends a session this long after it began, however active it is.
	SessionMaxLifetime time.Duration
	// SessionPending ends, this long after its last use, a session that has passed no realm
	// that needs a credential (at most SessionIdle; see sessionbounds.go).
	SessionPending time.Duration
	// NonceTTL is the life of a challenge nonce.
	NonceTTL time.Duration
	// MaxAttempts is the number of failed answers a realm accepts per session.
	MaxAttempts int
	// PersistentCookieAge is the life of WL_PERSISTENT_COOKIE.
	PersistentCookieAge time.Duration
	// RulesCacheTTL bounds how long remote-disable rules are cached (rules changed through this
	// engine apply at once; the TTL covers other daemons sharing the store).
	RulesCacheTTL time.Duration
	// BackoffAfter is the number of failed logins of one account (a user name of a login module),
	// in any session, after which each further login of that account waits BackoffBase, doubled
	// per failure up to BackoffMax. ClientBackoffAfter is the same for one client address, over
	// every account it tries (higher: clients behind one NAT share it).
	BackoffAfter       int
	ClientBackoffAfter int
	BackoffBase        time.Duration
	BackoffMax         time.Duration
	// FailureWindow forgets the failures of an account or client that has not failed for this
	// long.
	FailureWindow time.Duration
	// UnauthenticatedPolicyTimeout bounds the policy evaluation of a request from a caller who
	// has passed no realm that needs a credential (anyone can send such requests, as many as
	// they like): past it the request is refused with CodePolicyTimeout.
	UnauthenticatedPolicyTimeout time.Duration
	// UnauthenticatedInputBytes bounds the request facts (procedure parameters) that a policy
	// evaluates for such a caller, measured as their JSON size: larger ones are withheld from
	// the policy (see Engine.decide).
	UnauthenticatedInputBytes int
	// InputDepth bounds the nesting of request facts of any caller; deeper ones are refused
	// with CodeBadRequest before the policy sees them.
	InputDepth int
}

// DefaultConfig is the configuration PROTOCOL.md describes.
var DefaultConfig = Config{
	SessionIdle:                  30 * time.Minute,
	NonceTTL:                     2 * time.Minute,
	MaxAttempts:                  5,
	PersistentCookieAge:          365 * 24 * time.Hour,
	RulesCacheTTL:                5 * time.Second,
	BackoffAfter:                 5,
	ClientBackoffAfter:           20,
	BackoffBase:                  time.Second,
	BackoffMax:                   15 * time.Minute,
	FailureWindow:                time.Hour,
	SessionMaxLifetime:           12 * time.Hour,
	SessionPending:               5 * time.Minute,
	UnauthenticatedPolicyTimeout: 500 * time.Millisecond,
	UnauthenticatedInputBytes:    64 << 10,
	InputDepth:                   32,
}

func (c Config) withDefaults() Config {
	d := DefaultConfig
	if c.SessionIdle <= 0 {
		c.SessionIdle = d.SessionIdle
	}
	if c.NonceTTL <= 0 {
		c.NonceTTL = d.NonceTTL
	}
	if c.SessionPending <= 0 {
		c.SessionPending = d.SessionPending
	}
	c.SessionPending = min(c.SessionPending, c.SessionIdle)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.PersistentCookieAge <= 0 {
		c.PersistentCookieAge = d.PersistentCookieAge
	}
	if c.RulesCacheTTL <= 0 {
		c.RulesCacheTTL = d.RulesCacheTTL
	}
	if c.BackoffAfter <= 0 {
		c.BackoffAfter = d.BackoffAfter
	}
	if c.ClientBackoffAfter <= 0 {
		c.ClientBackoffAfter = d.ClientBackoffAfter
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = d.BackoffBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = d.BackoffMax
	}
	c.BackoffMax = max(c.BackoffMax, c.BackoffBase)
	if c.FailureWindow <= 0 {
		c.FailureWindow = d.FailureWindow
	}
	// A window shorter than the longest wait would forget a client that waits it out.
	c.FailureWindow = max(c.FailureWindow, c.BackoffMax)
	if c.SessionMaxLifetime <= 0 {
		c.SessionMaxLifetime = d.SessionMaxLifetime
	}
	if c.UnauthenticatedPolicyTimeout <= 0 {
		c.UnauthenticatedPolicyTimeout = d.UnauthenticatedPolicyTimeout
	}
	if c.UnauthenticatedInputBytes <= 0 {
		c.UnauthenticatedInputBytes = d.UnauthenticatedInputBytes
	}
	if c.InputDepth <= 0 {
		c.InputDepth = d.InputDepth
	}
	return c
}

// Options are the engine's collaborators.
type Options struct {
	Config Config
	Store  Store
	// Nonces keeps the challenge nonces apart from Store: in this process's memory
	// (store/memnonce) when one daemon owns the state, so a challenge and its answer write no
	// nonce to disk. Nil keeps them in Store, which daemons sharing a store need: a nonce is
	// then written in the unit of work of the request that issues it, and consumed in a unit
	// of its own before the answer's slow work (single use is decided first).
	Nonces store.Nonces
	// Evaluator answers the security tests' decisions.
	Evaluator *policies.Evaluator
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Decisions receives one record per security-test decision; nil discards them.
	Decisions DecisionSink
	// Observer is told of decisions, challenges, certificates and tokens (metrics); nil: none.
	Observer Observer
	// Procedures runs adapter procedures for adapter-based realms; nil leaves those realms
	// unable to authenticate (their challenges are refused with CodeNotImplemented).
	Procedures ProcedureRunner
	// ProvisioningCA signs device certificates (wl_deviceAutoProvisioningRealm); nil refuses
	// auto-provisioning with CodeNotImplemented.
	ProvisioningCA *pki.CA
	// AttestationRoots are the roots Android Key Attestation chains must lead to.
	AttestationRoots *x509.CertPool
	// AttestationVerifier checks other attestation formats; nil refuses them.
	AttestationVerifier *AttestationVerifier
	// Tokens mints and validates access tokens; nil leaves GrantToken and IntrospectToken off
	// (CodeNotImplemented).
	Tokens *TokenIssuer
	// KeyRotator publishes and rotates the token keys; nil leaves TokenKeySet and
	// RotateTokenKeys off.
	KeyRotator KeyRotator

	// Directories opens the directories of LdapLoginModule login modules; nil leaves their
	// realms unable to authenticate (their challenges are refused with CodeNotImplemented).
	Directories DirectoryOpener

	// BundleRules returns the remote-disable rules of an application environment that come
	// with the configuration (a policy bundle's); they apply before the stored ones, which the
	// admin API manages, and are neither shown nor changed by it. Nil: none.
	BundleRules func(app, env string) []store.Rule
}

// Engine is safe for concurrent use. Build one per loaded project; a reload builds a new one.
type Engine struct {
	cfg       Config
	project   *project.Project
	eval      *policies.Evaluator
	store     Store
	nonces    store.Nonces
	now       func() time.Time
	log       *slog.Logger
	decisions DecisionSink
	obs       Observer
	realms    map[string]realm
	locks     locks
	states    stateCache
	rules     *rulesCache
	procs     ProcedureRunner

	sso                 map[string]string
	blocked             blockedCache
	audited             map[string]bool
	provisioningCA      *pki.CA
	attestationRoots    *x509.CertPool
	attestationVerifier *AttestationVerifier

	// identifying holds the realms whose logins identify a user (see bindUser).
	identifying map[string]bool

	tokens     *TokenIssuer
	keyRotator KeyRotator

	directories DirectoryOpener
}

// New builds an engine for a loaded project.
func New(p *project.Project, opts Options) (*Engine, error) {
	e := &Engine{
		cfg:       opts.Config.withDefaults(),
		project:   p,
		eval:      opts.Evaluator,
		store:     opts.Store,
		nonces:    opts.Nonces,
		now:       opts.Now,
		log:       opts.Logger,
		decisions: opts.Decisions,
		obs:       observerOr(opts.Observer),
		procs:     opts.Procedures,

		provisioningCA:      opts.ProvisioningCA,
		attestationRoots:    opts.AttestationRoots,
		attestationVerifier: opts.AttestationVerifier,

		tokens:     opts.Tokens,
		keyRotator: opts.KeyRotator,

		directories: opts.Directories,
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.rules = newRulesCache(e.store, e.cfg.RulesCacheTTL)
	e.rules.fixed = opts.BundleRules
	e.sso = ssoRealms(p)
	e.audited = map[string]bool{}
	e.identifying = map[string]bool{}
	for name, r := range p.Realms {
		if lm := p.LoginModules[r.LoginModule]; lm != nil && lm.Audit {
			e.audited[name] = true // <loginModule audit="true">, as Worklight's audit log
		}
		if r.IdentifiesUser() {
			e.identifying[name] = true
		}
	}
	realms, err := buildRealms(e, p)
	if err != nil {
		return nil, err
	}
	e.realms = realms
	return e, nil
}

// Project returns the project the engine enforces.
func (e *Engine) Project() *project.Project { return e.project }

// Revision is the policy revision decisions are made with.
func (e *Engine) Revision() string { return e.eval.Revision() }

// AppContext is the application a request comes from (the WL-App-* headers).
type AppContext struct {
	App     string
	Env     string
	Version string
}

// Resource kinds.
const (
	ResourceApp       = "app"
	ResourceProcedure = "procedure"
	ResourceStatic    = "static"
	ResourceToken     = "token"
)

// Resource is what a request wants to reach.
type Resource struct {
	Kind string
	// Name identifies it: "APP/ENV", "ADAPTER.PROCEDURE", the static resource's id, the scope.
	Name string
	// Test is the security test that protects it.
	Test string
	// Attributes are extra facts about the resource for policies (adapter, procedure, path).
	Attributes map[string]any
}

// Passive carries what passive realms read from a request.
type Passive struct {
	// InstanceID is the WL-Instance-Id header.
	InstanceID string
	// PersistentUser is the WL_PERSISTENT_COOKIE value.
	PersistentUser string
	// Header returns a request header (for the header authenticator); nil means none.
	Header func(name string) string
	// Request returns the client's request as adapters see it (the call input's "request":
	// headers and parameters, without credentials); nil means none.
	Request func() map[string]any
}

// AccessRequest is a request for a protected resource.
type AccessRequest struct {
	App       AppContext
	SessionID string
	Resource  Resource
	Passive   Passive
	// Facts are request facts for policies (input.request): method, path, procedure parameters.
	Facts map[string]any
	// BasicAnswers lets the request's Authorization: Basic header (Basic, nil when it sent none)
	// answer the test's Basic realms, and asks for the Basic realms of a challenge that the
	// header could answer (Access.BasicRealms). The HTTP layer sets it for static resources,
	// which browsers fetch; on the API a Basic realm is answered through Answer alone (basic.go).
	BasicAnswers bool
	Basic        *BasicCredentials
	// Client is the client's address as the server saw it, as in AnswerRequest: a login by a
	// header backs off per client too.
	Client string
}

// Cookies says what the response must set.
type Cookies struct {
	// SessionID is set when the response must (re)issue WL_SESSION.
	SessionID string
	// PersistentUser is set when the response must issue WL_PERSISTENT_COOKIE.
	PersistentUser string
}

// Access is the outcome of Authorize.
type Access struct {
	Cookies Cookies
	// NewSession is set when the request had no session (none, an unknown one, or an expired
	// one): a Cookies.SessionID then issues a session the request made.
	NewSession bool
	// Allowed is true when the resource may be served.
	Allowed bool
	// Challenge is set when the client must answer realms first.
	Challenge *Challenge
	// User and Device are the identities of the test's user and device realms (nil when none).
	User, Device map[string]any
	// Identities are the identities of every realm passed in this session.
	Identities map[string]map[string]any
	// Test is the security test applied.
	Test string
	// TokenSession is the session's token lineage (a token's sid), for an allowed request of
	// kind ResourceToken.
	TokenSession string
	// BasicRealms are the basic-realm-names of the Basic realms the challenge names, when the
	// request's Authorization header may answer them (AccessRequest.BasicAnswers and the
	// anti-XSRF rule): what a WWW-Authenticate: Basic offers, so that a browser prompts. None
	// where the header could not answer them, so that a browser is not prompted in vain.
	BasicRealms []string
}

// Challenge is a 401 challenge body.
type Challenge struct {
	SecurityTest string                    `json:"securityTest,omitempty"`
	Step         int                       `json:"step,omitempty"`
	Challenges   map[string]map[string]any `json:"challenges"`
}

// authorize decides a request for a protected resource (Authorize). It returns an *Error when
// the request is refused (application disabled, denied by policy, a realm this version cannot
// enforce) or the engine cannot decide (store or policy failure).
func (e *Engine) authorize(ctx context.Context, req AccessRequest) (*Access, error) {
	now := e.now()
	test, ok := e.project.Tests[req.Resource.Test]
	if !ok {
		return nil, errorf(CodeUnknownSecurityTest, "security test %q is not defined", req.Resource.Test)
	}
	unlock := e.locks.lock(req.SessionID)
	defer unlock()
	s, err := e.loadSession(ctx, req.SessionID, req.App, now)
	if err != nil {
		return nil, err
	}
	x := &exchange{ctx: ctx, e: e, s: s, now: now, app: req.App, passive: req.Passive, test: test,
		clientIP: req.Client, client: clientKey(req.Client)}
	acc := &Access{Test: test.Name, NewSession: s.isNew}
	// Whether the header may answer is decided before a challenge issues an anti-XSRF token.
	basicAnswers := req.BasicAnswers && basicHeaderAnswers(x)
	if err := e.deviceBlocked(x); err != nil {
		e.finishRefused(x)
		return nil, err
	}
	dec, err := e.decide(x, req)
	if err != nil {
		e.finishRefused(x)
		return nil, err
	}
	switch dec.Outcome {
	case policies.Allow:
		acc.Allowed = true
		e.touch(x, test)
		if req.Resource.Kind == ResourceToken {
			acc.TokenSession = s.tokenSession()
		}
	case policies.Deny:
		e.finishRefused(x)
		return nil, &Error{Code: CodePolicyDenied, Message: joinReasons(dec.Reasons), Details: map[string]any{"reasons": dec.Reasons}}
	case policies.Challenge:
		ch, err := e.challenge(x, test, dec)
		if err != nil {
			e.finishRefused(x)
			return nil, err
		}
		acc.Challenge = ch
		if basicAnswers {
			acc.BasicRealms = e.basicRealmNames(ch)
		}
	}
	acc.User, acc.Device = e.identities(s, test, now)
	acc.Identities = identitiesOf(s, now)
	if err := e.finish(x, acc); err != nil {
		return nil, err
	}
	return acc, nil
}

// finishRefused saves what a refused request changed in an existing session. A new session is
// not stored: the refusal carries no cookie, so no client could ever use it. For the same reason
// the session keeps its id: a header login of this request, which rotated it, is undone, and the
// next request that carries the header logs in (and rotates) again.
//
// The request's other writes (a failed login counted, a persistent user) are committed all the
// same, without the new session.
func (e *Engine) finishRefused(x *exchange) {
	if x.s.isNew {
		if err := e.commit(x.ctx, x.s, false); err != nil {
			e.log.Warn("writes not saved after a refusal", "err", err)
		}
		return
	}
	if x.s.rotated != "" {
		x.s.rec.ID, x.s.rotated = x.s.rotated, ""
		for _, name := range x.headerLogins {
			forgetLogin(x.s, name)
		}
	}
	if err := e.saveSession(x.ctx, x.s); err != nil {
		e.log.Warn("session not saved after a refusal", "err", err)
	}
}

// finish saves the session and fills the cookies to set.
func (e *Engine) finish(x *exchange, acc *Access) error {
	if x.s.isNew && !x.s.dirty {
		return e.commit(x.ctx, x.s, false)
	}
	if err := e.saveSession(x.ctx, x.s); err != nil {
		return err
	}
	if x.s.isNew || x.s.rotated != "" {
		acc.Cookies.SessionID = x.s.rec.ID
	}
	acc.Cookies.PersistentUser = x.setPersistentUser
	return nil
}

func joinReasons(rs []string) string {
	switch len(rs) {
	case 0:
		return "denied by policy"
	case 1:
		return rs[0]
	}
	out := rs[0]
	for _, r := range rs[1:] {
		out += "; " + r
	}
	return out
}

// decide observes the passive realms and evaluates the test's policy.
func (e *Engine) decide(x *exchange, req AccessRequest) (policies.Decision, error) {
	passed, err := e.observe(x)
	if err != nil {
		return policies.Decision{}, err
	}
	if passed, err = e.basicLogins(x, req, passed); err != nil {
		return policies.Decision{}, err
	}
	// A caller who has not authenticated gets a bounded evaluation (limits.go).
	authn := e.authenticated(passed)
	facts, withheld, err := e.boundFacts(req.Facts, authn)
	if err != nil {
		return policies.Decision{}, err
	}
	input := policies.Input{
		Test:     x.test.Name,
		Passed:   passed,
		App:      policies.App{ID: req.App.App, Env: req.App.Env, Version: req.App.Version},
		Resource: policies.Resource{Kind: req.Resource.Kind, Name: req.Resource.Name, Attributes: req.Resource.Attributes},
		Request:  facts,
	}
	input.User, _ = e.identities(x.s, x.test, x.now)
	dec, err := e.evaluate(x.ctx, input, authn)
	if err != nil {
		if CodeOf(err) == CodePolicyTimeout {
			e.log.Warn("policy evaluation stopped at the deadline of an unauthenticated caller", "test", x.test.Name,
				"resource", req.Resource.Name, "session", SessionRef(x.s.rec.ID))
			return dec, err
		}
		return dec, unavailable("the policy engine", err)
	}
	if withheld && dec.Outcome == policies.Allow {
		// The policy allowed a request it did not see whole: refuse it rather than evaluate it.
		dec = policies.Decision{Outcome: policies.Deny, Reasons: []string{"request too large for a caller who has not authenticated"}}
		e.logDecision(x, req, passed, dec, &input)
		return dec, &Error{Code: CodeInputTooLarge,
			Message: fmt.Sprintf("the request's parameters are larger than %d bytes, which is refused before the caller signs in", e.cfg.UnauthenticatedInputBytes)}
	}
	e.logDecision(x, req, passed, dec, &input)
	return dec, nil
}

// observe runs every passive realm of the test and returns the realms passed for this request,
// sorted: stored logins that have not expired, plus what passive realms saw in the request.
func (e *Engine) observe(x *exchange) ([]string, error) {
	passed := map[string]bool{}
	for name, rs := range x.s.st.Realms {
		if rs.Passed && (rs.ExpiresAt.IsZero() || x.now.Before(rs.ExpiresAt)) {
			passed[name] = true
		}
	}
	for _, tr := range x.test.Realms {
		if tr.Enforced && !passed[tr.Realm] && e.sharedLogin(x, tr.Realm) {
			// A login shared by another app of the device is a login of this session too: it
			// must name the session's user.
			if err := e.bindUser(x, tr.Realm, x.s.peek(tr.Realm).Identity, isUserRealm(x.test, tr.Realm)); err != nil {
				forgetLogin(x.s, tr.Realm)
				x.s.dirty = true
				continue
			}
			passed[tr.Realm] = true
		}
	}
	observed := map[string]bool{}
	for _, tr := range x.test.Realms {
		if !tr.Enforced {
			continue
		}
		r, ok := e.realms[tr.Realm]
		if !ok {
			continue
		}
		o, isObserver := r.(observer)
		if !isObserver {
			continue
		}
		ok, err := o.observe(x)
		if err != nil {
			return nil, err
		}
		passed[tr.Realm] = ok
		observed[tr.Realm] = true
	}
	out := make([]string, 0, len(passed))
	for name, ok := range passed {
		// A login this request forgot (the session's user changed) is not passed any more.
		if ok && (observed[name] || x.s.peek(name).live(x.now)) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// challenge builds the challenge payloads of the realms the decision names.
func (e *Engine) challenge(x *exchange, test *project.SecurityTest, dec policies.Decision) (*Challenge, error) {
	ch := &Challenge{SecurityTest: test.Name, Step: dec.Step, Challenges: map[string]map[string]any{}}
	for _, name := range dec.Realms {
		r, ok := e.realms[name]
		if !ok {
			return nil, errorf(CodeUnknownRealm, "realm %q is required but not defined", name)
		}
		rs := x.s.realm(name)
		if rs.Refused {
			return nil, refusedAgain(name)
		}
		if rs.Failures >= e.cfg.MaxAttempts {
			return nil, &Error{Code: CodeTooManyAttempts, Message: "too many failed attempts for realm " + name + " in this session; start a new session",
				Details: map[string]any{"realm": name}}
		}
		payload, err := r.challenge(x)
		if err != nil {
			return nil, err
		}
		for k, v := range x.retried[name] { // a wrong password in this request's header
			payload[k] = v
		}
		rs.Challenged = true
		if rs.Data == nil {
			rs.Data = map[string]string{}
		}
		rs.Data[dataTest] = test.Name // the answer may depend on the test that asked
		x.s.dirty = true
		ch.Challenges[name] = payload
		e.obs.Challenge(name)
	}
	return ch, nil
}

// dataTest is the realm-state key of the security test that challenged the realm.
const dataTest = "test"

// challengingTest returns the security test that last challenged realm in this session.
func (e *Engine) challengingTest(x *exchange, realm string) *project.SecurityTest {
	if rs := x.s.peek(realm); rs != nil {
		return e.project.Tests[rs.Data[dataTest]]
	}
	return nil
}

// touch extends the logins the test used (idle expiration), writing at most once a minute each.
func (e *Engine) touch(x *exchange, t *project.SecurityTest) {
	for _, step := range t.Steps {
		for _, name := range step {
			rs := x.s.peek(name)
			if rs == nil || !rs.Passed || rs.ExpiresAt.IsZero() {
				continue
			}
			r := e.realms[name]
			exp := r.expiration()
			if exp > 0 && x.now.Sub(rs.LastUsed) > min(time.Minute, exp/10) {
				rs.LastUsed = x.now
				rs.ExpiresAt = x.now.Add(exp)
				x.s.dirty = true
			}
		}
	}
}

// identities returns the identities of the test's user and device realms; a login that expired
// is nobody's identity any more.
func (e *Engine) identities(s *session, t *project.SecurityTest, now time.Time) (user, device map[string]any) {
	if rs := s.peek(t.UserRealm); rs.live(now) {
		user = rs.Identity
	}
	if rs := s.peek(t.DeviceRealm); rs.live(now) {
		device = rs.Identity
	}
	return user, device
}

func identitiesOf(s *session, now time.Time) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, rs := range s.st.Realms {
		if rs.live(now) && rs.Identity != nil {
			out[name] = rs.Identity
		}
	}
	return out
}
