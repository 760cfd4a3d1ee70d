package engine

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/realmgate/realmgate/htpasswd"
	"github.com/realmgate/realmgate/project"
)

// Credentials are what an authenticator collected for its login module.
type credentials struct {
	username, password string
}

// loginModule validates credentials and returns the user's identity.
type loginModule interface {
	// login returns the identity for the credentials, a *retryError for wrong credentials, or an
	// *Error with CodeRefused when no credentials can succeed. ctx is the request's: a module
	// that asks a server (a directory) stops waiting when the client or the daemon gives up.
	login(ctx context.Context, c credentials) (map[string]any, error)
}

// loginRealm is a realm made of an authenticator (form, basic, header) and a login module.
type loginRealm struct {
	name   string
	kind   string // authenticator kind: "form", "basic", "header"
	module loginModule
	// moduleName names the login module: failed logins are counted per user name of a module.
	moduleName string
	exp        time.Duration
	// header is the header the header authenticator reads.
	header string
	// basicRealm is the realm name offered to Basic clients.
	basicRealm string
	loginURL   string
}

// Limits on credentials; bcrypt reads at most 72 bytes of a password anyway.
const (
	maxUsername = 256
	maxPassword = 1024
)

// DefaultUserHeader is the header the header authenticator reads when neither the realm nor the
// login module names one (parameter user-name-header).
const DefaultUserHeader = project.DefaultUserHeader

func newLoginRealm(e *Engine, p *project.Project, r *project.Realm) (realm, error) {
	lm := p.LoginModules[r.LoginModule]
	if lm == nil || lm.Class == nil || r.Class == nil {
		// The loader refuses this for realms a test uses; unused realms are never challenged.
		return unavailableRealm{name: r.Name, what: "realm " + r.Name + " (incomplete configuration)"}, nil
	}
	var mod loginModule
	var err error
	if lm.Class.Kind == "ldap" {
		if e.directories == nil {
			return unavailableRealm{name: r.Name, what: "realm " + r.Name + " (no directory client is configured for LdapLoginModule)"}, nil
		}
		dir, err := e.directories(p, lm)
		if err != nil {
			return nil, fmt.Errorf("login module %s: %w", lm.Name, err)
		}
		mod = directoryModule{name: lm.Name, dir: dir}
	} else if mod, err = newLoginModule(p, lm); err != nil {
		return nil, err
	}
	lr := &loginRealm{name: r.Name, kind: r.Class.Kind, module: mod, moduleName: lm.Name, loginURL: r.OnLoginURL}
	if lm.ExpirationInSeconds > 0 {
		lr.exp = time.Duration(lm.ExpirationInSeconds) * time.Second
	}
	switch lr.kind {
	case "header":
		lr.header = r.UserHeader(p)
	case "basic":
		lr.basicRealm = r.Name
		if v, ok := r.Params.Get("basic-realm-name"); ok && v != "" {
			lr.basicRealm = v
		}
	}
	return lr, nil
}

func (l *loginRealm) expiration() time.Duration { return l.exp }

func (l *loginRealm) challenge(*exchange) (map[string]any, error) {
	c := map[string]any{"authenticator": l.kind}
	switch l.kind {
	case "basic":
		c["realm"] = l.basicRealm
	case "header":
		c["header"] = l.header
	}
	if l.loginURL != "" {
		c["onLoginUrl"] = l.loginURL
	}
	return c, nil
}

// observe lets a header-authenticated realm pass on any request that carries the header.
func (l *loginRealm) observe(x *exchange) (bool, error) {
	rs := x.s.peek(l.name)
	live := rs != nil && rs.Passed && (rs.ExpiresAt.IsZero() || x.now.Before(rs.ExpiresAt))
	if l.kind != "header" {
		return live, nil
	}
	v := x.header(l.header)
	if live {
		// Behind an SSO proxy the header names the user of each request: a request for another
		// user logs that user in (or fails) rather than running as the one before.
		if id, _ := rs.Identity["userId"].(string); v == "" || v == id {
			return true, nil
		}
		rs.Passed, rs.Identity = false, nil
		x.s.dirty = true
	}
	if v == "" || len(v) > maxUsername {
		return false, nil // an overlong value is refused by the answer, as a form's would be
	}
	id, err := l.module.login(x.ctx, credentials{username: v})
	if err != nil {
		return false, nil // the challenge and its answer report why
	}
	identity := l.identity(id)
	if err := x.e.bindUser(x, l.name, identity, isUserRealm(x.test, l.name)); err != nil {
		return false, nil // another user than the session's: not passed (audited)
	}
	rs = x.s.realm(l.name)
	rs.Passed, rs.Identity, rs.LastUsed = true, identity, x.now
	if l.exp > 0 {
		rs.ExpiresAt = x.now.Add(l.exp)
	}
	x.s.dirty = true
	// A login changes the session id, as an answer's does: an id a client held before (one an
	// attacker planted: fixation) must not be logged in by the victim's proxy.
	x.s.rotate()
	x.headerLogins = append(x.headerLogins, l.name)
	return true, nil
}

func (l *loginRealm) identity(id map[string]any) map[string]any {
	id["realm"] = l.name
	return id
}

func (l *loginRealm) answer(x *exchange, a *AnswerRequest) (answerOutcome, error) {
	var c credentials
	switch l.kind {
	case "form":
		var body struct {
			Username  *string `json:"username"`
			Password  *string `json:"password"`
			JUsername *string `json:"j_username"`
			JPassword *string `json:"j_password"`
		}
		if err := decodeAnswer(a.Body, &body); err != nil {
			return answerOutcome{}, err
		}
		c.username, c.password = deref(body.Username, body.JUsername), deref(body.Password, body.JPassword)
	case "basic":
		if a.Basic == nil {
			return answerOutcome{}, retry("send an Authorization: Basic header")
		}
		c.username, c.password = a.Basic.Username, a.Basic.Password
	case "header":
		c.username = x.header(l.header)
		if c.username == "" {
			return answerOutcome{}, retry("send the %s header", l.header)
		}
	default:
		return answerOutcome{}, errorf(CodeNotImplemented, "authenticator %q is not available", l.kind)
	}
	if len(c.username) > maxUsername || len(c.password) > maxPassword {
		return answerOutcome{}, errorf(CodeBadRequest, "user name or password too long")
	}
	if c.username == "" && l.kind != "header" {
		return answerOutcome{}, retry("a user name is required")
	}
	if l.kind != "header" {
		// A password is a secret that can be guessed: the account and the client may have to
		// wait, before any bcrypt is spent on the guess.
		if err := x.e.beginLogin(x, l.name, l.moduleName, c.username); err != nil {
			return answerOutcome{}, err
		}
	}
	id, err := l.module.login(x.ctx, c)
	if err != nil {
		return answerOutcome{}, err
	}
	return answerOutcome{identity: l.identity(id), userLogin: true}, nil
}

func deref(a, b *string) string {
	if a != nil {
		return *a
	}
	if b != nil {
		return *b
	}
	return ""
}

var errWrongCredentials = &retryError{msg: "wrong user name or password"}

func newLoginModule(p *project.Project, lm *project.LoginModule) (loginModule, error) {
	switch lm.Class.Kind {
	case "nonValidating":
		return nonValidating{}, nil
	case "rejecting":
		return rejecting{}, nil
	case "singleIdentity":
		user, _ := lm.Params.Get("user-name")
		hash, _ := lm.Params.Get("password-hash")
		display, _ := lm.Params.Get("display-name")
		return &singleIdentity{user: user, hash: []byte(hash), display: display}, nil
	case "header":
		display, _ := lm.Params.Get("display-name-header")
		return headerModule{displayHeader: display}, nil
	case "passwordFile":
		f, _ := lm.Params.Get("file")
		users, err := htpasswd.ReadFile(filepath.Join(p.Dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		return newPasswordFile(users), nil
	}
	return unavailableModule{name: lm.Name}, nil
}

type unavailableModule struct{ name string }

func (u unavailableModule) login(context.Context, credentials) (map[string]any, error) {
	return nil, errorf(CodeNotImplemented, "login module %q is not available in this version", u.name)
}

// nonValidating accepts any user name (NonValidatingLoginModule: for development).
type nonValidating struct{}

func (nonValidating) login(_ context.Context, c credentials) (map[string]any, error) {
	return map[string]any{"userId": c.username, "displayName": c.username}, nil
}

// rejecting refuses every login (RejectingLoginModule: a resource nobody may reach).
type rejecting struct{}

func (rejecting) login(context.Context, credentials) (map[string]any, error) {
	return nil, errorf(CodeRefused, "this realm accepts no login")
}

// headerModule is HeaderLoginModule: the header authenticator's value is the user name.
type headerModule struct{ displayHeader string }

func (h headerModule) login(_ context.Context, c credentials) (map[string]any, error) {
	if c.username == "" {
		return nil, errWrongCredentials
	}
	return map[string]any{"userId": c.username, "displayName": c.username}, nil
}

// singleIdentity is SingleIdentityLoginModule: one user, configured with a bcrypt hash.
type singleIdentity struct {
	user    string
	hash    []byte
	display string
}

func (s *singleIdentity) login(_ context.Context, c credentials) (map[string]any, error) {
	if s.user == "" || len(s.hash) == 0 {
		return nil, errorf(CodeRefused, "this realm has no identity configured")
	}
	userOK := subtle.ConstantTimeCompare([]byte(c.username), []byte(s.user)) == 1
	passOK := bcrypt.CompareHashAndPassword(s.hash, []byte(c.password)) == nil
	if !userOK || !passOK {
		return nil, errWrongCredentials
	}
	display := s.display
	if display == "" {
		display = s.user
	}
	return map[string]any{"userId": s.user, "displayName": display}, nil
}

// passwordFile is realmgate.PasswordFileLoginModule: users and bcrypt hashes from an htpasswd
// file.
type passwordFile struct {
	users map[string][]byte
	// dummy is checked for a user name the file does not hold: it has the cost of the file's
	// hashes, so that an unknown user answers as slowly as a known one and timing does not tell
	// which user names exist.
	dummy []byte
}

func newPasswordFile(users map[string][]byte) *passwordFile {
	return &passwordFile{users: users, dummy: dummyHash(htpasswd.CommonCost(users))}
}

// dummyHashes holds one dummy hash per bcrypt cost, made once: a reload does not pay for it
// again.
var dummyHashes sync.Map

// dummyHash returns a bcrypt hash of cost for a password nobody knows.
func dummyHash(cost int) []byte {
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic("engine: crypto/rand failed: " + err.Error())
	}
	h, err := bcrypt.GenerateFromPassword([]byte(base64.RawStdEncoding.EncodeToString(secret)), cost)
	if err != nil {
		// The cost came from a hash bcrypt read, so it is in range; never compare against nothing.
		h, _ = bcrypt.GenerateFromPassword(secret, bcrypt.DefaultCost)
	}
	actual, _ := dummyHashes.LoadOrStore(cost, h)
	return actual.([]byte)
}

func (p *passwordFile) login(_ context.Context, c credentials) (map[string]any, error) {
	hash, ok := p.users[c.username]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(p.dummy, []byte(c.password))
		return nil, errWrongCredentials
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(c.password)) != nil {
		return nil, errWrongCredentials
	}
	return map[string]any{"userId": c.username, "displayName": c.username}, nil
}
