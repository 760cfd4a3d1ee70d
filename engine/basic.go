package engine

import (
	"slices"

	"github.com/realmgate/realmgate/project"
)

// A BasicAuthenticator realm is answered on the API by POST /api/v1/auth/{realm} with an
// Authorization: Basic header. A browser (or curl -u) fetching a static resource sends that header
// on the request itself, after a WWW-Authenticate: Basic prompt (how Worklight protected its
// console): with AccessRequest.BasicAnswers, Authorize takes the header as the answer of the
// test's Basic realms. It is settled as an answer is (settle): the realm's login module decides,
// a wrong password counts against the session's attempts and the account's and client's backoff
// and is audited, a login rotates the session id. The anti-XSRF rule of answers holds too: where
// the test holds wl_antiXSRFRealm, or the session has an anti-XSRF token, only a request that
// carries the session's WL-Instance-Id logs in with its header (basicHeaderAnswers).

// basicHeaderAnswers reports whether the request's Authorization header may answer a Basic realm
// under the anti-XSRF rule: a page on another origin must not log a session in, by an answer or
// by a header.
func basicHeaderAnswers(x *exchange) bool {
	if x.test.HasRealm(project.RealmAntiXSRF) || x.s.st.InstanceID != "" {
		ok, _ := antiXSRF{}.observe(x)
		return ok
	}
	return true
}

// basicRealm returns the realm name's implementation when it is a Basic login realm.
func (e *Engine) basicRealm(name string) (*loginRealm, bool) {
	l, ok := e.realms[name].(*loginRealm)
	return l, ok && l.kind == "basic"
}

// basicLogins lets the request's Authorization header answer the test's Basic realms that passed
// has not (or passed as another user than the header names: the header names the user of each
// request, as a HeaderAuthenticator's does). It returns passed with the realms it logged in. A
// wrong password is not an error: the realm is challenged again, with the answer's "error" and
// "remainingAttempts" (x.retried); the attempt limit, a backoff and a final refusal are.
func (e *Engine) basicLogins(x *exchange, req AccessRequest, passed []string) ([]string, error) {
	if !req.BasicAnswers || req.Basic == nil || !basicHeaderAnswers(x) {
		return passed, nil
	}
	for _, tr := range x.test.Realms {
		l, ok := e.basicRealm(tr.Realm)
		if !tr.Enforced || !ok {
			continue
		}
		name := tr.Realm
		if i := slices.Index(passed, name); i >= 0 {
			if id, _ := x.s.peek(name).identity()["userId"].(string); id == req.Basic.Username {
				continue // the session holds this user's login: no password check per request
			}
			forgetLogin(x.s, name)
			x.s.dirty = true
			passed = slices.Delete(passed, i, i+1)
		}
		if rs := x.s.peek(name); rs != nil && (rs.Refused || rs.Failures >= e.cfg.MaxAttempts) {
			continue // the challenge refuses it (challenge)
		}
		out, err := l.answer(x, &AnswerRequest{App: x.app, Realm: name, Basic: req.Basic, Passive: x.passive, Client: x.clientIP})
		res, err := e.settle(x, name, l, x.test, out, err, func() error { return nil })
		if err != nil {
			return nil, err
		}
		if res.Retry != nil {
			if x.retried == nil {
				x.retried = map[string]map[string]any{}
			}
			p := res.Retry.Challenges[name]
			x.retried[name] = map[string]any{"error": p["error"], "remainingAttempts": p["remainingAttempts"]}
			continue
		}
		passed = append(passed, name)
		slices.Sort(passed)
		// A refusal of this request undoes the login, as a HeaderAuthenticator's (finishRefused).
		x.headerLogins = append(x.headerLogins, name)
	}
	return passed, nil
}

// basicRealmNames returns the basic-realm-names of the Basic realms a challenge names, sorted, for
// the WWW-Authenticate of a request whose header may answer them.
func (e *Engine) basicRealmNames(ch *Challenge) []string {
	var out []string
	for name := range ch.Challenges {
		if l, ok := e.basicRealm(name); ok && !slices.Contains(out, l.basicRealm) {
			out = append(out, l.basicRealm)
		}
	}
	slices.Sort(out)
	return out
}
