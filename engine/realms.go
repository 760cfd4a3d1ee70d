package engine

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// exchange is one request's view of the engine: the session, the clock and the request facts a
// realm may read.
type exchange struct {
	ctx     context.Context
	e       *Engine
	s       *session
	now     time.Time
	app     AppContext
	passive Passive
	test    *project.SecurityTest

	// setPersistentUser is set when the anonymous realm issued a new persistent cookie.
	setPersistentUser string

	// clientIP is the client's address as the server saw it ("" when unknown), and client its
	// failed-login counter key.
	clientIP, client string
	// login is the credential check a realm's answer ran, if any (for backoff and audit).
	login *loginAttempt
	// headerLogins are the realms a header logged in during this request (the session id was
	// rotated for them).
	headerLogins []string
	// retried holds what a wrong password in the request's Authorization header adds to its
	// Basic realm's challenge ("error", "remainingAttempts"), by realm.
	retried map[string]map[string]any
}

func (x *exchange) header(name string) string {
	if x.passive.Header == nil {
		return ""
	}
	return x.passive.Header(name)
}

// realm is one realm's behaviour.
type realm interface {
	// challenge returns the realm's challenge payload (it may issue a nonce).
	challenge(x *exchange) (map[string]any, error)
	// answer decides a client's answer; a *retryError lets the client try again, an *Error with
	// CodeRefused is final.
	answer(x *exchange, a *AnswerRequest) (answerOutcome, error)
	// expiration is how long a login stays valid without use; 0 for the session's life.
	expiration() time.Duration
}

// observer is a realm that looks at every request (anti-XSRF, anonymous user, remote disable,
// header authentication) rather than only at answers. Its verdict replaces the stored one.
type observer interface {
	observe(x *exchange) (bool, error)
}

// sessionLife is embedded by realms whose result lives as long as the session.
type sessionLife struct{}

func (sessionLife) expiration() time.Duration { return 0 }

// buildRealms creates the implementation of every realm of the project.
func buildRealms(e *Engine, p *project.Project) (map[string]realm, error) {
	out := map[string]realm{}
	for name, r := range p.Realms {
		impl, err := newRealm(e, p, r)
		if err != nil {
			return nil, fmt.Errorf("realm %q: %w", name, err)
		}
		out[name] = impl
	}
	return out, nil
}

func newRealm(e *Engine, p *project.Project, r *project.Realm) (realm, error) {
	if r.Builtin {
		switch r.Name {
		case project.RealmAntiXSRF:
			return antiXSRF{}, nil
		case project.RealmAnonymousUser:
			return anonymousUser{}, nil
		case project.RealmRemoteDisable:
			return remoteDisable{}, nil
		case project.RealmDeviceNoProvision:
			return deviceNoProvisioning{}, nil
		case project.RealmDeviceAutoProvision:
			return newProvisioningRealm(e, p, r)
		case project.RealmAuthenticity:
			return authenticity{}, nil
		}
		return unavailableRealm{name: r.Name, what: "built-in realm " + r.Name}, nil
	}
	if r.Class != nil {
		switch r.Class.Kind {
		case "adapter":
			return newAdapterRealm(e, p, r, p.LoginModules[r.LoginModule])
		case "userCertificate":
			return newUserCertRealm(e, p, r)
		case "deviceProvisioning":
			return newProvisioningRealm(e, p, r)
		}
	}
	if r.Status(p) != project.Implemented {
		return unavailableRealm{name: r.Name, what: fmt.Sprintf("realm %s (%s)", r.Name, r.ClassName)}, nil
	}
	return newLoginRealm(e, p, r)
}

// unavailableRealm stands for a realm this version recognizes but does not enforce: any request
// that needs it is refused, never passed.
type unavailableRealm struct {
	sessionLife
	name, what string
}

func (u unavailableRealm) err() error {
	return &Error{Code: CodeNotImplemented, Message: u.what + " is not available in this version of Realmgate",
		Details: map[string]any{"realm": u.name}}
}

func (u unavailableRealm) challenge(*exchange) (map[string]any, error) { return nil, u.err() }
func (u unavailableRealm) answer(*exchange, *AnswerRequest) (answerOutcome, error) {
	return answerOutcome{}, u.err()
}

// antiXSRF is wl_antiXSRFRealm: the first request of a session gets a token, and every later
// request must carry it in the WL-Instance-Id header.
type antiXSRF struct{ sessionLife }

func (antiXSRF) observe(x *exchange) (bool, error) {
	want := x.s.st.InstanceID
	return want != "" && subtle.ConstantTimeCompare([]byte(x.passive.InstanceID), []byte(want)) == 1, nil
}

func (antiXSRF) challenge(x *exchange) (map[string]any, error) {
	if x.s.st.InstanceID == "" {
		x.s.st.InstanceID = newID()
		x.s.dirty = true
	}
	return map[string]any{"WL-Instance-Id": x.s.st.InstanceID}, nil
}

func (a antiXSRF) answer(x *exchange, _ *AnswerRequest) (answerOutcome, error) {
	if ok, _ := a.observe(x); !ok {
		return answerOutcome{}, retry("send the WL-Instance-Id header with the token of the challenge")
	}
	return answerOutcome{}, nil
}

// remoteDisable is wl_remoteDisableRealm: administrators block or notify app versions.
type remoteDisable struct{ sessionLife }

func (remoteDisable) observe(x *exchange) (bool, error) {
	notify, err := x.e.remoteDisableRule(x)
	if err != nil {
		return false, err
	}
	return notify == nil, nil
}

// remoteDisableRule returns the first matching notify rule this session has not acknowledged,
// or an *Error when a block rule matches.
func (e *Engine) remoteDisableRule(x *exchange) (*store.Rule, error) {
	rules, err := e.rules.get(x.ctx, x.app.App, x.app.Env, x.now)
	if err != nil {
		return nil, err
	}
	var pending *store.Rule
	for i := range rules {
		if !rules[i].appliesTo(x.app.Version) {
			continue
		}
		r := &rules[i].Rule
		switch r.Action {
		case "block":
			return nil, &Error{Code: CodeApplicationDisabled, Message: r.Message,
				Details: map[string]any{"downloadLink": r.DownloadLink}}
		case "notify":
			rs := x.s.peek(project.RealmRemoteDisable)
			if pending == nil && (rs == nil || rs.Data["ack:"+messageID(r)] == "") {
				pending = r
			}
		}
	}
	return pending, nil
}

// matches reports whether a remote-disable rule applies to an app version (nil: the version
// did not parse).
//
// A pre-release belongs to the release it prepares: X.Y.Z-anything falls under a rule exactly
// when X.Y.Z does. So "<3.0.0" holds 2.1.0-rc, 1.0.0-0 and 2.9.9-beta+x (as it holds 2.1.0, 1.0.0
// and 2.9.9) and not 3.0.0-rc or 3.0.0-0, which prepare 3.0.0: the constraint speaks of releases
// and excludes everything from 3.0.0-0 upward. ">=2.1.0" holds 2.1.0-rc, "~2.1" 2.1.0-beta, and
// "=2.1.0" every pre-release of 2.1.0. A constraint that names pre-releases itself ("<3.0.0-beta")
// also compares them in semantic-version precedence, so it holds 3.0.0-alpha. Build metadata
// (+x) never matters. The semver library alone leaves every pre-release out of a constraint
// without one, which let a client dodge a block by adding "-rc" to its version.
//
// A version that does not parse falls under every rule: neither a block nor a notice can be
// dodged by sending a malformed version.
func (r *compiledRule) matches(v *semver.Version) bool {
	if r.constraint == nil || v == nil || r.constraint.Check(v) {
		return true
	}
	if v.Prerelease() == "" {
		return false
	}
	release := semver.New(v.Major(), v.Minor(), v.Patch(), "", "")
	return r.constraint.Check(release)
}

// parseVersion returns the app version, or nil when it does not parse.
func parseVersion(s string) *semver.Version {
	v, err := semver.NewVersion(s)
	if err != nil {
		return nil
	}
	return v
}

func (remoteDisable) challenge(x *exchange) (map[string]any, error) {
	r, err := x.e.remoteDisableRule(x)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return map[string]any{}, nil
	}
	return map[string]any{"action": "notify", "message": r.Message, "messageId": messageID(r)}, nil
}

func (remoteDisable) answer(x *exchange, a *AnswerRequest) (answerOutcome, error) {
	var body struct {
		Acknowledged bool   `json:"acknowledged"`
		MessageID    string `json:"messageId"`
	}
	if err := decodeAnswer(a.Body, &body); err != nil {
		return answerOutcome{}, err
	}
	r, err := x.e.remoteDisableRule(x)
	if err != nil {
		return answerOutcome{}, err
	}
	if r == nil {
		return answerOutcome{}, nil
	}
	if !body.Acknowledged || body.MessageID != messageID(r) {
		return answerOutcome{}, retry("acknowledge message %q", messageID(r))
	}
	rs := x.s.realm(project.RealmRemoteDisable)
	if rs.Data == nil {
		rs.Data = map[string]string{}
	}
	rs.Data["ack:"+body.MessageID] = "1"
	if next, err := x.e.remoteDisableRule(x); err == nil && next != nil {
		// Another notify message waits: keep the realm challenged.
		return answerOutcome{}, nextRound("acknowledge message %q as well", messageID(next))
	}
	return answerOutcome{}, nil
}

// deviceNoProvisioning is wl_deviceNoProvisioningRealm: the device says who it is, signed over
// nothing; the identity is used as sent.
type deviceNoProvisioning struct{ sessionLife }

func (deviceNoProvisioning) challenge(x *exchange) (map[string]any, error) {
	n, err := x.e.issueNonce(x, project.RealmDeviceNoProvision)
	if err != nil {
		return nil, err
	}
	return map[string]any{"token": n}, nil
}

// DeviceInfo is what a client says about its device.
type DeviceInfo struct {
	ID          string `json:"id"`
	OS          string `json:"os,omitempty"`
	Model       string `json:"model,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

func (d DeviceInfo) validate() error {
	switch {
	case d.ID == "" || len(d.ID) > 256:
		return errorf(CodeBadRequest, "device.id must be 1 to 256 characters")
	case len(d.OS) > 256 || len(d.Model) > 256 || len(d.DisplayName) > 256:
		return errorf(CodeBadRequest, "device fields must be at most 256 characters")
	}
	return nil
}

func (deviceNoProvisioning) answer(x *exchange, a *AnswerRequest) (answerOutcome, error) {
	var body struct {
		Token  string     `json:"token"`
		Device DeviceInfo `json:"device"`
	}
	if err := decodeAnswer(a.Body, &body); err != nil {
		return answerOutcome{}, err
	}
	if err := body.Device.validate(); err != nil {
		return answerOutcome{}, err
	}
	if err := x.e.consumeNonce(x, body.Token, project.RealmDeviceNoProvision); err != nil {
		return answerOutcome{}, err
	}
	dev, err := x.e.store.GetDevice(x.ctx, body.Device.ID, "none")
	switch {
	case err == nil:
		if dev.Status == store.DeviceBlocked {
			return answerOutcome{}, &Error{Code: CodeDeviceBlocked, Message: "this device is blocked; contact your administrator"}
		}
	case errors.Is(err, store.ErrNotFound):
		dev = store.Device{ID: body.Device.ID, Entity: "none", Status: store.DeviceActive, CreatedAt: x.now}
	default:
		return answerOutcome{}, unavailable("the device store", err)
	}
	dev.App, dev.OS, dev.Model, dev.DisplayName, dev.LastSeen = x.app.App, body.Device.OS, body.Device.Model, body.Device.DisplayName, x.now
	x.s.later(func(ctx context.Context, tx store.Tx) error {
		// Read again in the unit, so that a block that committed since is kept.
		d := dev
		switch old, err := tx.GetDevice(ctx, d.ID, d.Entity); {
		case err == nil:
			if old.Status == store.DeviceBlocked {
				return &Error{Code: CodeDeviceBlocked, Message: "this device is blocked; contact your administrator"}
			}
			d.CreatedAt = old.CreatedAt
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return tx.PutDevice(ctx, d)
	})
	id := map[string]any{"id": body.Device.ID}
	for k, v := range map[string]string{"os": body.Device.OS, "model": body.Device.Model, "displayName": body.Device.DisplayName} {
		if v != "" {
			id[k] = v
		}
	}
	return answerOutcome{identity: id}, nil
}

// issueNonce creates a single-use nonce bound to the session's lineage and the realm: in the
// nonce store of this process when the engine has one (Options.Nonces), else in the request's
// unit of work, which commits before the client sees the nonce. The session lists the realm's
// live nonces; past MaxLiveNonces the oldest is deleted, in the same unit of work when the
// nonces live in the store (sessionbounds.go).
func (e *Engine) issueNonce(x *exchange, realm string) (string, error) {
	n := store.Nonce{Value: newID(), SessionID: x.s.st.Lineage, Realm: realm, ExpiresAt: x.now.Add(e.cfg.NonceTTL)}
	dropped := x.s.realm(realm).trackNonce(n.Value)
	x.s.dirty = true
	now := x.now
	if e.nonces == nil {
		x.s.later(func(ctx context.Context, tx store.Tx) error {
			if dropped != "" {
				if err := tx.ConsumeNonce(ctx, dropped, n.SessionID, realm, now); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			return tx.PutNonce(ctx, n)
		})
		return n.Value, nil
	}
	if dropped != "" {
		if err := e.nonces.ConsumeNonce(x.ctx, dropped, n.SessionID, realm, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", unavailable("the nonce store", err)
		}
	}
	if err := e.nonces.PutNonce(x.ctx, n); err != nil {
		return "", unavailable("the nonce store", err)
	}
	return n.Value, nil
}

// consumeNonce accepts a nonce once: an unknown, used, expired or foreign nonce is a wrong answer.
func (e *Engine) consumeNonce(x *exchange, value, realm string) error {
	if value == "" || len(value) > 128 {
		return retry("the answer must carry the challenge's token")
	}
	var err error
	if e.nonces != nil {
		err = e.nonces.ConsumeNonce(x.ctx, value, x.s.st.Lineage, realm, x.now)
	} else {
		// A unit of its own, before the answer's slow work: whether the nonce was still unused
		// is decided first, so a replayed answer costs no signing and no adapter call.
		lineage, now := x.s.st.Lineage, x.now
		err = e.update(x.ctx, func(tx store.Tx) error { return tx.ConsumeNonce(x.ctx, value, lineage, realm, now) })
	}
	switch {
	case err == nil:
		if rs := x.s.peek(realm); rs != nil && rs.untrackNonce(value) {
			x.s.dirty = true
		}
		return nil
	case errors.Is(err, store.ErrNotFound):
		return retry("the token is unknown, used or expired: answer the new challenge")
	default:
		return unavailable("the nonce store", err)
	}
}

// decodeAnswer reads a JSON answer body strictly enough to give a clear error.
func decodeAnswer(body json.RawMessage, v any) error {
	if len(body) == 0 {
		return errorf(CodeBadRequest, "the answer body is empty; send a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Code: CodeBadRequest, Message: "the answer is not valid JSON for this realm: " + jsonProblem(err), Err: err}
	}
	return nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return "the body must be " + jsonKind(te.Type)
		}
		return fmt.Sprintf("field %q must be %s", te.Field, jsonKind(te.Type))
	}
	return "malformed"
}

// jsonKind names the JSON value a Go type decodes from: a client is told "an object", not the Go
// type of the realm's answer.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}
