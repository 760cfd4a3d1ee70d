package engine

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// BasicCredentials are the user name and password of an Authorization: Basic header.
type BasicCredentials struct {
	Username, Password string
}

// AnswerRequest is a client's answer to a realm's challenge (POST /api/v1/auth/{realm}).
type AnswerRequest struct {
	App       AppContext
	SessionID string
	Realm     string
	// Body is the JSON answer (may be empty for realms answered by headers).
	Body    json.RawMessage
	Basic   *BasicCredentials
	Passive Passive
	// Client is the client's IP address as the server saw it (the connection's peer): failed
	// logins back off per client address as well as per account.
	Client string
}

// Statuses of a successful answer.
const (
	StatusSuccess = "success"
)

// AnswerResult is the outcome of an answer that was not refused.
type AnswerResult struct {
	Cookies Cookies
	Realm   string
	// Status is "success" when the realm is passed, or a realm-specific status of a multi-round
	// realm ("provisioned", "enrolled") whose Extra members the client needs for the next round.
	Status   string
	Identity map[string]any
	Extra    map[string]any
	// Retry is set when the answer was wrong but may be tried again: a new challenge for the
	// realm, carrying "error" and "remainingAttempts".
	Retry *Challenge
}

// retryError is a wrong answer that the client may correct or, with next set, a right answer
// after which the realm has another round (remote disable: the next notice), which is not a
// failed attempt.
type retryError struct {
	msg string
	// next marks the next round of a realm rather than a failure.
	next bool
	// enroll tells the client to drop its certificate and get a new one ("enroll": true).
	enroll bool
}

func (e *retryError) Error() string { return e.msg }

func retry(format string, args ...any) error { return &retryError{msg: fmt.Sprintf(format, args...)} }

// nextRound asks the client to answer the realm's new challenge after a right answer.
func nextRound(format string, args ...any) error {
	return &retryError{msg: fmt.Sprintf(format, args...), next: true}
}

// answerOutcome is what a realm's answer decided.
type answerOutcome struct {
	// identity of a passed realm; status "" means success.
	identity map[string]any
	status   string
	extra    map[string]any
	// userLogin is true when the realm authenticated a user (the session id is then rotated).
	userLogin bool
	// challenge, when set, is the realm's next challenge (401, not a failure): a realm whose
	// answer leads to another question (user-certificate enrollment).
	challenge map[string]any
	// challenges are other realms the client must answer first (a dependent realm).
	challenges map[string]map[string]any
}

// maxAnswerBytes bounds an answer body; the HTTP layer enforces its own, larger, limit first.
const maxAnswerBytes = 64 << 10

// answer handles a client's answer to a realm's challenge (Answer).
func (e *Engine) answer(ctx context.Context, req AnswerRequest) (*AnswerResult, error) {
	now := e.now()
	r, ok := e.realms[req.Realm]
	if !ok {
		return nil, errorf(CodeUnknownRealm, "realm %q is not defined", req.Realm)
	}
	if len(req.Body) > maxAnswerBytes {
		return nil, errorf(CodeBadRequest, "the answer is larger than %d bytes", maxAnswerBytes)
	}
	unlock := e.locks.lock(req.SessionID)
	defer unlock()
	s, err := e.loadSession(ctx, req.SessionID, req.App, now)
	if err != nil {
		return nil, err
	}
	if s.isNew {
		return nil, errorf(CodeNoChallenge, "no session: request the protected resource first, then answer its challenge")
	}
	// Once a session has an anti-XSRF token, every answer must carry it: a page on another origin
	// cannot log a victim's session in.
	if s.st.InstanceID != "" && req.Realm != project.RealmAntiXSRF &&
		subtle.ConstantTimeCompare([]byte(req.Passive.InstanceID), []byte(s.st.InstanceID)) != 1 {
		return nil, errorf(CodeXSRF, "the WL-Instance-Id header is missing or wrong")
	}
	x := &exchange{ctx: ctx, e: e, s: s, now: now, app: req.App, passive: req.Passive,
		clientIP: req.Client, client: clientKey(req.Client)}
	rs := s.realm(req.Realm)
	if rs.Refused {
		return nil, refusedAgain(req.Realm)
	}
	if rs.Failures >= e.cfg.MaxAttempts {
		return nil, &Error{Code: CodeTooManyAttempts, Message: "too many failed attempts for realm " + req.Realm + " in this session; start a new session",
			Details: map[string]any{"realm": req.Realm}}
	}
	if !rs.Challenged && !e.pendingDependent(s, req.Realm) {
		return nil, errorf(CodeNoChallenge, "realm %q has no pending challenge in this session", req.Realm)
	}
	out, err := r.answer(x, &req)
	res, err := e.settle(x, req.Realm, r, e.challengingTest(x, req.Realm), out, err, func() error { return e.saveSession(ctx, s) })
	if err != nil {
		return nil, err
	}
	if err := e.saveSession(ctx, s); err != nil {
		return nil, err
	}
	if s.rotated != "" {
		res.Cookies.SessionID = s.rec.ID
	}
	res.Cookies.PersistentUser = x.setPersistentUser
	return res, nil
}

// settle applies to the session what realm name's answer decided (out, err): a success logs the
// realm in (the user it names must be the session's, test says whose user realm may change it),
// a wrong answer counts against the realm's attempts and, for a login, against its account and
// client, a final refusal ends the realm for the session. An answer to POST /api/v1/auth/{realm}
// and a Basic realm answered by a request's Authorization header (basic.go) are settled alike.
// persist saves the session before a refusal is returned, where the caller would not (an
// answer's session; Authorize saves a refused request's session itself).
func (e *Engine) settle(x *exchange, name string, r realm, test *project.SecurityTest, out answerOutcome, err error, persist func() error) (*AnswerResult, error) {
	rs := x.s.realm(name)
	res := &AnswerResult{Realm: name}
	var re *retryError
	switch {
	case errors.As(err, &re) && re.next:
		// Counting it as a failure would lock out a client that acknowledges several notices.
		payload, cerr := r.challenge(x)
		if cerr != nil {
			return nil, cerr
		}
		x.s.dirty = true
		res.Retry = &Challenge{Challenges: map[string]map[string]any{name: payload}}
	case re != nil:
		if x.login != nil {
			if err := e.loginFailed(x); err != nil {
				return nil, err
			}
		}
		rs.Failures++
		x.s.dirty = true
		if rs.Failures >= e.cfg.MaxAttempts {
			rs.Challenged = false
			if serr := persist(); serr != nil {
				return nil, serr
			}
			return nil, &Error{Code: CodeTooManyAttempts, Message: re.msg + "; too many failed attempts for realm " + name,
				Details: map[string]any{"realm": name}}
		}
		payload, cerr := r.challenge(x)
		if cerr != nil {
			return nil, cerr
		}
		payload["error"] = re.msg
		payload["remainingAttempts"] = e.cfg.MaxAttempts - rs.Failures
		if re.enroll {
			payload["enroll"] = true
		}
		res.Retry = &Challenge{Challenges: map[string]map[string]any{name: payload}}
	case err != nil:
		var ee *Error
		if errors.As(err, &ee) && ee.Code == CodeRefused {
			rs.Refused = true // a final refusal ends this realm for the session
			rs.Challenged = false
			x.s.dirty = true
			if serr := persist(); serr != nil {
				return nil, serr
			}
		}
		return nil, err
	case out.challenge != nil || out.challenges != nil:
		x.s.dirty = true
		res.Retry = &Challenge{Challenges: map[string]map[string]any{}}
		for other, p := range out.challenges {
			res.Retry.Challenges[other] = p
		}
		if out.challenge != nil {
			res.Retry.Challenges[name] = out.challenge
		}
	case out.status != "":
		res.Status = out.status
		res.Extra = out.extra
		x.s.dirty = true
	default:
		if err := e.bindUser(x, name, out.identity, isUserRealm(test, name)); err != nil {
			// A final refusal: the session's user does not get another try at proving to
			// be someone else.
			rs.Refused, rs.Challenged = true, false
			x.s.dirty = true
			if serr := persist(); serr != nil {
				return nil, serr
			}
			return nil, err
		}
		e.loginSucceeded(x)
		rs.Passed = true
		rs.Challenged = false
		rs.Failures = 0
		rs.Identity = out.identity
		rs.LastUsed = x.now
		rs.ExpiresAt = time.Time{}
		if exp := r.expiration(); exp > 0 {
			rs.ExpiresAt = x.now.Add(exp)
		}
		x.s.dirty = true
		if out.userLogin {
			x.s.rotate()
		}
		e.shareLogin(x, name, out.identity, r.expiration())
		res.Status = StatusSuccess
		res.Identity = out.identity
		res.Extra = out.extra
		if e.audited[name] {
			e.auditLater(x, "session:"+SessionRef(x.s.rec.ID), "login", name, map[string]any{"app": x.app.App, "env": x.app.Env, "user": out.identity["userId"]})
		}
	}
	return res, nil
}

// Logout forgets the realm's result in the session. The realm's failed attempts and a final
// refusal stay: logging out must not be a way to try again.
func (e *Engine) Logout(ctx context.Context, app AppContext, sessionID, realm string) error {
	if _, ok := e.realms[realm]; !ok {
		return errorf(CodeUnknownRealm, "realm %q is not defined", realm)
	}
	unlock := e.locks.lock(sessionID)
	defer unlock()
	s, err := e.loadSession(ctx, sessionID, app, e.now())
	if err != nil || s.isNew {
		return err
	}
	if rs, had := s.st.Realms[realm]; had {
		if ar, ok := e.realms[realm].(*adapterRealm); ok && rs.Passed {
			ar.logout(&exchange{ctx: ctx, e: e, s: s, now: e.now(), app: app})
		}
		forgetLogin(s, realm)
		s.dirty = true
	}
	s.forgetScripts() // what adapters' scripts kept for the session ends with a login (scriptstate.go)
	if realm == project.RealmAntiXSRF && s.st.InstanceID != "" {
		s.st.InstanceID = ""
		s.dirty = true
	}
	if err := e.revokeSessionTokens(ctx, s); err != nil { // the session's access tokens end with the login
		return err
	}
	return e.saveSession(ctx, s)
}

// forgetLogin drops what realm passed or was doing in the session (its login, a pending
// challenge, its progress), keeping only its failed attempts, a final refusal and the nonces
// still live (so that logging out is no way past their bound, MaxLiveNonces).
func forgetLogin(s *session, realm string) {
	rs := s.st.Realms[realm]
	if rs == nil {
		return
	}
	if rs.Failures == 0 && !rs.Refused && len(rs.Nonces) == 0 {
		delete(s.st.Realms, realm)
		return
	}
	s.st.Realms[realm] = &realmState{Failures: rs.Failures, Refused: rs.Refused, Nonces: rs.Nonces}
}

// SessionInfo describes a session for GET /api/v1/session.
type SessionInfo struct {
	App    string                    `json:"app"`
	Env    string                    `json:"env"`
	Realms map[string]map[string]any `json:"realms"`
	User   map[string]any            `json:"user"`
	Device map[string]any            `json:"device"`
}

// Session returns what the session has passed, for the client to read its identities. A request
// without a session gets an empty description (no session is created).
func (e *Engine) Session(ctx context.Context, app AppContext, sessionID string, passive Passive) (*SessionInfo, error) {
	info := &SessionInfo{App: app.App, Env: app.Env, Realms: map[string]map[string]any{}}
	now := e.now()
	var test *project.SecurityTest
	if a := e.project.Apps[app.App]; a != nil {
		if env := a.Envs[app.Env]; env != nil {
			test = e.project.Tests[env.SecurityTest]
		}
	}
	s, err := e.loadSession(ctx, sessionID, app, now)
	if err != nil {
		return nil, err
	}
	// A blocked application version is refused on every request (PROTOCOL.md section 10), this
	// one too: it would otherwise tell a disabled app what its session holds.
	if test != nil && test.HasRealm(project.RealmRemoteDisable) {
		if _, err := e.remoteDisableRule(&exchange{ctx: ctx, e: e, s: s, now: now, app: app}); err != nil {
			return nil, err
		}
	}
	if s.isNew {
		return info, nil
	}
	names := make([]string, 0, len(s.st.Realms))
	for name := range s.st.Realms {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rs := s.st.Realms[name]
		if rs.Passed && (rs.ExpiresAt.IsZero() || now.Before(rs.ExpiresAt)) {
			info.Realms[name] = map[string]any{"identity": rs.Identity}
		}
	}
	if ok, _ := (antiXSRF{}).observe(&exchange{s: s, passive: passive}); ok {
		info.Realms[project.RealmAntiXSRF] = map[string]any{"identity": nil}
	}
	if test != nil {
		info.User, info.Device = e.identities(s, test, now)
	}
	return info, nil
}

// audit appends an audit record in a unit of its own (an event with no other write, such as a
// reload); failures are logged, never fatal to the request.
func (e *Engine) audit(ctx context.Context, actor, action, target string, detail map[string]any) {
	r := e.auditOf(actor, action, target, detail)
	if err := e.store.Update(ctx, func(tx store.Tx) error { _, err := tx.AppendAudit(ctx, r); return err }); err != nil {
		e.log.Warn("audit record not written", "action", action, "err", err)
	}
}

// update runs fn in one unit of work. The audit records fn appends commit with the change they
// record; should one of them fail to be written, the unit runs again without its audit records
// and the failure is logged: a failing audit log does not stop logins or administration.
func (e *Engine) update(ctx context.Context, fn func(tx store.Tx) error) error {
	err := e.store.Update(ctx, func(tx store.Tx) error { return fn(auditing{tx}) })
	var af *auditFailed
	if errors.As(err, &af) {
		e.log.Warn("audit record not written", "action", af.action, "err", af.err)
		err = e.store.Update(ctx, func(tx store.Tx) error { return fn(withoutAudit{tx}) })
	}
	return e.contended(err)
}

// contended turns a write the store gave up on after conflicts into CodeUnavailable, and logs it.
func (e *Engine) contended(err error) error {
	if ce := (*store.ContentionError)(nil); errors.As(err, &ce) {
		// Not a fault of the request nor a database that is down: too many units at once on
		// the same records, or a retry bound too low for the load. The operator needs to
		// tell it from an outage (realmgate_store_unit_contention_total counts them too).
		e.log.Warn("unit of work gave up after conflicts with concurrent units", "attempts", ce.Attempts, "err", ce.Err)
		return &Error{Code: CodeUnavailable, Message: "the store is busy with concurrent changes; try again", Err: err}
	}
	return err
}

// auditFailed is an audit record that a unit of work could not append.
type auditFailed struct {
	action string
	err    error
}

func (a *auditFailed) Error() string {
	return "audit record " + a.action + " not written: " + a.err.Error()
}
func (a *auditFailed) Unwrap() error { return a.err }

// auditing marks the failures of AppendAudit in a unit of work, for update.
type auditing struct{ store.Tx }

func (a auditing) AppendAudit(ctx context.Context, r store.AuditRecord) (int64, error) {
	id, err := a.Tx.AppendAudit(ctx, r)
	if err != nil {
		return 0, &auditFailed{action: r.Action, err: err}
	}
	return id, nil
}

// withoutAudit drops the audit records of a unit of work whose audit log failed.
type withoutAudit struct{ store.Tx }

func (withoutAudit) AppendAudit(context.Context, store.AuditRecord) (int64, error) { return 0, nil }

// auditLater appends an audit record in the request's unit of work: it commits with the
// writes it records, or not at all.
func (e *Engine) auditLater(x *exchange, actor, action, target string, detail map[string]any) {
	r := e.auditOf(actor, action, target, detail)
	x.s.later(func(ctx context.Context, tx store.Tx) error { _, err := tx.AppendAudit(ctx, r); return err })
}

// auditIn appends an audit record in the unit of work tx.
func (e *Engine) auditIn(ctx context.Context, tx store.Tx, actor, action, target string, detail map[string]any) error {
	_, err := tx.AppendAudit(ctx, e.auditOf(actor, action, target, detail))
	return err
}

func (e *Engine) auditOf(actor, action, target string, detail map[string]any) store.AuditRecord {
	var raw json.RawMessage
	if detail != nil {
		raw, _ = json.Marshal(detail)
	}
	return auditRecord(e.now(), actor, action, target, raw)
}

// refusedAgain is the answer for a realm that already refused this session finally.
func refusedAgain(realm string) *Error {
	return &Error{Code: CodeRefused, Message: "realm " + realm + " refused this session; start a new session",
		Details: map[string]any{"realm": realm}}
}
