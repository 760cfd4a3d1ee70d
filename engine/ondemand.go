package engine

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
)

// CodeLoginNotAllowed refuses an on-demand login of a realm that cannot be logged in to that
// way (Login): a built-in realm, a device or certificate realm, or a realm no security test uses.
const CodeLoginNotAllowed Code = "login_not_allowed"

// LoginRequest asks for a realm's challenge outside any protected resource
// (POST /api/v1/login/{realm}): the app starts the login itself, as a Worklight app did with
// WL.Client.login(realm).
type LoginRequest struct {
	App       AppContext
	SessionID string
	Realm     string
	Passive   Passive
	// Client is the client's address as the server saw it, as in AnswerRequest.
	Client string
}

// LoginResult is what an on-demand login request gets: the realm's challenge (Challenge set,
// answered through Answer as any other), or the identity of the session's live login of the
// realm.
type LoginResult struct {
	Cookies Cookies
	// NewSession is set when the request had no session: a Cookies.SessionID then issues a
	// session the request made (the HTTP layer counts it against the client's rate limit).
	NewSession bool
	Challenge  *Challenge
	Identity   map[string]any
}

// Login challenges realm req.Realm in the session, as a request for a resource its security test
// protects would, so that the client answers it through Answer; a session already logged in
// to the realm gets its identity. Only realms that identify a person by a login module
// (form, basic, header, LDAP, adapter-based) and that a security test of the project holds can
// be logged in to this way: the others are proved by what a protected request carries (anti-XSRF,
// device, authenticity, remote disable) or depend on another realm's login (a user certificate).
func (e *Engine) Login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
	res, err := e.login(ctx, req)
	if err != nil {
		realm := req.Realm
		if _, ok := e.realms[realm]; !ok {
			realm = unknownLabel
		}
		e.obs.AnswerFailed(realm, CodeOf(err))
	}
	return res, err
}

func (e *Engine) login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
	now := e.now()
	if _, ok := e.realms[req.Realm]; !ok {
		return nil, errorf(CodeUnknownRealm, "realm %q is not defined", req.Realm)
	}
	test, err := e.loginTest(req.App, req.Realm)
	if err != nil {
		return nil, err
	}
	unlock := e.locks.lock(req.SessionID)
	defer unlock()
	s, err := e.loadSession(ctx, req.SessionID, req.App, now)
	if err != nil {
		return nil, err
	}
	x := &exchange{ctx: ctx, e: e, s: s, now: now, app: req.App, passive: req.Passive, test: test,
		clientIP: req.Client, client: clientKey(req.Client)}
	res := &LoginResult{NewSession: s.isNew}
	notify, err := e.loginAllowed(x)
	if err != nil {
		e.finishRefused(x)
		return nil, err
	}
	if rs := s.peek(req.Realm); rs.live(now) {
		res.Identity = rs.Identity
		return res, e.saveSession(ctx, s) // what the checks changed (a device sign-in forgotten)
	}
	step := stepOf(test, req.Realm)
	if err := e.earlierStepsPassed(x, test, step, req.Realm); err != nil {
		e.finishRefused(x)
		return nil, err
	}
	realms := []string{req.Realm}
	if s.st.InstanceID == "" && e.envTestHolds(req.App, project.RealmAntiXSRF) {
		// The anti-XSRF token comes with the session's first challenge, as a protected request
		// of the app would get it: the answer must then carry it.
		realms = append([]string{project.RealmAntiXSRF}, realms...)
	}
	if notify {
		// A remote-disable notice the session has not acknowledged comes first, as it does
		// before any protected resource of the app.
		realms = append([]string{project.RealmRemoteDisable}, realms...)
	}
	ch, err := e.challenge(x, test, policies.Decision{Outcome: policies.Challenge, Step: step, Realms: realms})
	if err != nil {
		e.finishRefused(x)
		return nil, err
	}
	res.Challenge = ch
	if err := e.saveSession(ctx, s); err != nil {
		return nil, err
	}
	if s.isNew || s.rotated != "" {
		res.Cookies.SessionID = s.rec.ID
	}
	return res, nil
}

// loginAllowed applies what every request of the app meets before a challenge: a blocked
// application version or device is refused, and a session that holds an anti-XSRF token must
// carry it (a page on another origin cannot start a login in a victim's session). notify says
// that a remote-disable notice of the app waits for the session's acknowledgement.
func (e *Engine) loginAllowed(x *exchange) (notify bool, err error) {
	if env := e.envTest(x.app); env != nil {
		if env.HasRealm(project.RealmRemoteDisable) {
			rule, err := e.remoteDisableRule(x)
			if err != nil {
				return false, err
			}
			notify = rule != nil
		}
		ex := *x
		ex.test = env
		if err := e.deviceBlocked(&ex); err != nil {
			return false, err
		}
	}
	if x.s.st.InstanceID != "" &&
		subtle.ConstantTimeCompare([]byte(x.passive.InstanceID), []byte(x.s.st.InstanceID)) != 1 {
		return false, errorf(CodeXSRF, "the WL-Instance-Id header is missing or wrong")
	}
	return notify, nil
}

// earlierStepsPassed refuses a login of realm, step step of test, while a login of an earlier
// step (a realm that logs a user in, logsUserIn) is not passed: a request for a resource the
// test protects would challenge it first, and an on-demand login must not be a way around a
// first factor (a PIN guessed without the password). The realms that a protected request proves
// by what it carries (anti-XSRF, device, authenticity, remote disable) are not asked for: they
// do not log anyone in, and every protected request is checked for them again.
func (e *Engine) earlierStepsPassed(x *exchange, test *project.SecurityTest, step int, realm string) error {
	if step <= 1 {
		return nil
	}
	passed, err := e.observe(x)
	if err != nil {
		return err
	}
	var missing []string
	for _, st := range test.Steps[:step-1] {
		for _, r := range st {
			if e.logsUserIn(r) && !slices.Contains(passed, r) {
				missing = append(missing, r)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &Error{Code: CodeLoginNotAllowed,
		Message: fmt.Sprintf("realm %s is step %d of security test %s: log in to %s first, as a request for a resource the test protects would ask in that order",
			realm, step, test.Name, strings.Join(missing, ", ")),
		Details: map[string]any{"realm": realm, "securityTest": test.Name, "step": step, "missing": missing}}
}

// envTest returns the security test of the app's environment (nil when the environment is
// unknown or unprotected).
func (e *Engine) envTest(app AppContext) *project.SecurityTest {
	a := e.project.Apps[app.App]
	if a == nil {
		return nil
	}
	env := a.Envs[app.Env]
	if env == nil {
		return nil
	}
	return e.project.Tests[env.SecurityTest]
}

// envTestHolds reports whether the security test of the app's environment holds realm.
func (e *Engine) envTestHolds(app AppContext, realm string) bool {
	t := e.envTest(app)
	return t != nil && t.HasRealm(realm)
}

// loginTest returns the security test an on-demand login of realm runs under: the test of the
// app's environment when it holds the realm, else the first test of the project (by name) that
// does. The test decides whose user realm the login is (a login of the test's user realm may
// change the session's user) and is what the answer is settled with, as for a challenge a
// protected request got. A realm that identifies nobody by a login module, or that no test
// holds, is refused.
func (e *Engine) loginTest(app AppContext, realm string) (*project.SecurityTest, error) {
	if !e.logsUserIn(realm) {
		return nil, &Error{Code: CodeLoginNotAllowed,
			Message: fmt.Sprintf("realm %s does not log a user in on request: it is challenged by the resources its security tests protect (only realms with a login module, such as form, Basic, header, LDAP or adapter-based realms, can be logged in to with POST /api/v1/login/{realm})", realm),
			Details: map[string]any{"realm": realm}}
	}
	if t := e.envTest(app); t != nil && t.HasRealm(realm) {
		return t, nil
	}
	names := make([]string, 0, len(e.project.Tests))
	for name, t := range e.project.Tests {
		if t.HasRealm(realm) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, &Error{Code: CodeLoginNotAllowed,
			Message: fmt.Sprintf("realm %s is in no security test of the project, so no login to it is accepted: add it to a customSecurityTest in authenticationConfig.xml (it need not protect anything)", realm),
			Details: map[string]any{"realm": realm}}
	}
	sort.Strings(names)
	return e.project.Tests[names[0]], nil
}

// logsUserIn reports whether realm identifies a person by a login module (form, Basic, header,
// LDAP, adapter-based): the realms that can be logged in to on demand. The others are proved by
// what a protected request carries (anti-XSRF, device, authenticity, remote disable) or depend on
// another realm's login (a user certificate, a device's provisioning).
func (e *Engine) logsUserIn(realm string) bool {
	pr := e.project.Realms[realm]
	return pr != nil && !pr.Builtin && pr.LoginModule != "" &&
		(pr.Class == nil || (pr.Class.Kind != "userCertificate" && pr.Class.Kind != "deviceProvisioning"))
}

// stepOf returns the step (from 1) of test that holds realm.
func stepOf(test *project.SecurityTest, realm string) int {
	for i, step := range test.Steps {
		for _, r := range step {
			if r == realm {
				return i + 1
			}
		}
	}
	return 1
}
