package engine_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/sqlite"
)

// Application and passwords of the lab project.
const (
	labApp        = "LabApp"
	alicePassword = "alice-correct-horse"
	bobPassword   = "bob-battery-staple"
	alicePIN      = "4711"
	adminPassword = "admin-s3cret-pass"
	headerName    = "X-Lab-User"
)

// hashOf returns a bcrypt hash of password at the lowest cost (tests only), memoized: bcrypt is
// slow on purpose.
var hashes sync.Map

func hashOf(t testing.TB, password string) string {
	if h, ok := hashes.Load(password); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hashes.Store(password, string(h))
	return string(h)
}

// labAuthConfig is the lab project's authentication configuration: one custom security test per
// behaviour under test, so that each test exercises the realm it names and nothing else.
func labAuthConfig(t testing.TB) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="mobile">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="wl_remoteDisableRealm" step="1"/>
			<test realm="wl_anonymousUserRealm" isInternalUserID="true" step="1"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="2"/>
		</customSecurityTest>
		<customSecurityTest name="web">
			<test realm="wl_antiXSRFRealm"/>
			<test realm="wl_anonymousUserRealm" isInternalUserID="true"/>
		</customSecurityTest>
		<customSecurityTest name="xsrf"><test realm="wl_antiXSRFRealm"/></customSecurityTest>
		<customSecurityTest name="anon"><test realm="wl_anonymousUserRealm" isInternalUserID="true"/></customSecurityTest>
		<customSecurityTest name="remote"><test realm="wl_remoteDisableRealm"/></customSecurityTest>
		<customSecurityTest name="device"><test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true"/></customSecurityTest>
		<customSecurityTest name="form"><test realm="FormRealm" isInternalUserID="true"/></customSecurityTest>
		<customSecurityTest name="xsrfForm">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="FormRealm" isInternalUserID="true" step="2"/>
		</customSecurityTest>
		<customSecurityTest name="password"><test realm="PasswordRealm" isInternalUserID="true"/></customSecurityTest>
		<customSecurityTest name="basic"><test realm="BasicRealm" isInternalUserID="true"/></customSecurityTest>
		<customSecurityTest name="unconfigured"><test realm="UnconfiguredRealm"/></customSecurityTest>
		<customSecurityTest name="header"><test realm="HeaderRealm" isInternalUserID="true"/></customSecurityTest>
		<customSecurityTest name="reject"><test realm="RejectRealm"/></customSecurityTest>
		<customSecurityTest name="expiring"><test realm="ExpiringRealm"/></customSecurityTest>
		<customSecurityTest name="sessionLong"><test realm="SessionLongRealm"/></customSecurityTest>
		<customSecurityTest name="steps">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="PasswordRealm" isInternalUserID="true" step="2"/>
			<test realm="PinRealm" step="3"/>
		</customSecurityTest>
		<customSecurityTest name="deviceAndLogin">
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="1"/>
			<test realm="PasswordRealm" isInternalUserID="true" step="1"/>
		</customSecurityTest>
		<customSecurityTest name="ldap">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="LdapRealm" step="2"/>
		</customSecurityTest>
		<customSecurityTest name="authenticity"><test realm="wl_authenticityRealm"/></customSecurityTest>
	</securityTests>

	<realms>
		<realm name="FormRealm" loginModule="AnyUser">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="PasswordRealm" loginModule="Users">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="PinRealm" loginModule="Pins">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="BasicRealm" loginModule="Admin">
			<className>com.worklight.core.auth.ext.BasicAuthenticator</className>
			<parameter name="basic-realm-name" value="Lab administration"/>
		</realm>
		<realm name="UnconfiguredRealm" loginModule="Nobody">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="HeaderRealm" loginModule="ProxyUser">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
		</realm>
		<realm name="RejectRealm" loginModule="Closed">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="ExpiringRealm" loginModule="Short">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="SessionLongRealm" loginModule="SessionLong">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="LdapRealm" loginModule="Directory">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
	</realms>

	<loginModules>
		<loginModule name="AnyUser">
			<className>com.worklight.core.auth.ext.NonValidatingLoginModule</className>
		</loginModule>
		<loginModule name="Users" expirationInSeconds="1800" audit="true">
			<className>realmgate.PasswordFileLoginModule</className>
			<parameter name="file" value="users.htpasswd"/>
		</loginModule>
		<loginModule name="Pins" expirationInSeconds="300" audit="true">
			<className>realmgate.PasswordFileLoginModule</className>
			<parameter name="file" value="pins.htpasswd"/>
		</loginModule>
		<loginModule name="Admin" audit="true">
			<className>com.worklight.core.auth.ext.SingleIdentityLoginModule</className>
			<parameter name="user-name" value="admin"/>
			<parameter name="password-hash" value="` + hashOf(t, adminPassword) + `"/>
			<parameter name="display-name" value="Administrator"/>
		</loginModule>
		<loginModule name="Nobody">
			<className>com.worklight.core.auth.ext.SingleIdentityLoginModule</className>
		</loginModule>
		<loginModule name="ProxyUser">
			<className>com.worklight.core.auth.ext.HeaderLoginModule</className>
			<parameter name="user-name-header" value="` + headerName + `"/>
		</loginModule>
		<loginModule name="Closed">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
		<loginModule name="Short" expirationInSeconds="60">
			<className>com.worklight.core.auth.ext.NonValidatingLoginModule</className>
		</loginModule>
		<loginModule name="SessionLong" expirationInSeconds="-1">
			<className>com.worklight.core.auth.ext.NonValidatingLoginModule</className>
		</loginModule>
		<loginModule name="Directory">
			<className>com.worklight.core.auth.ext.LdapLoginModule</className>
			<parameter name="ldapProviderUrl" value="ldap://127.0.0.1:389"/>
			<parameter name="ldapSecurityPrincipalPattern" value="uid={username},ou=people,dc=example,dc=com"/>
		</loginModule>
	</loginModules>
</tns:loginConfiguration>
`
}

const labDescriptor = `<?xml version="1.0" encoding="UTF-8"?>
<application xmlns="http://www.worklight.com/application-descriptor" id="LabApp" platformVersion="7.1.0">
	<displayName>LabApp</displayName>
	<android securityTest="mobile" version="2.1.0"/>
	<iphone securityTest="mobile" version="2.1.0"/>
	<mobileWebApp securityTest="web"/>
</application>
`

// labPolicy refuses one resource and steps large amounts up to the PIN realm.
const labPolicy = `package realmgate.user.lab

deny contains "transfers to this account are closed" if {
	input.resource.name == "Accounts.closed"
}

require contains "PinRealm" if {
	input.request.amount > 1000
}
`

// labFiles returns the files of the lab project.
func labFiles(t testing.TB) map[string]string {
	return map[string]string{
		project.AuthConfigPath:                   labAuthConfig(t),
		"apps/LabApp/application-descriptor.xml": labDescriptor,
		"policies/lab.rego":                      labPolicy,
		"users.htpasswd":                         "# users\nalice:" + hashOf(t, alicePassword) + "\nbob:" + hashOf(t, bobPassword) + "\n",
		"pins.htpasswd":                          "alice:" + hashOf(t, alicePIN) + "\n",
	}
}

// writeProject writes files into a new temporary directory.
func writeProject(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeClock is the engine's clock in tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a slog handler.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lab is an engine over a real project, a real SQLite store and a fake clock, recording its
// decisions and logs.
type lab struct {
	t       testing.TB
	project *project.Project
	eval    *policies.Evaluator
	store   engine.Store
	db      *sqlite.Store
	eng     *engine.Engine
	clock   *fakeClock
	logs    *syncBuffer

	mu        sync.Mutex
	decisions []engine.DecisionRecord
	// discard stops keeping decision records (benchmarks would measure the growing slice).
	discard atomic.Bool
}

// labOptions change the lab's engine.
type labOptions struct {
	config engine.Config
	files  map[string]string // replaces the lab project
	// wrap wraps the store (to inject failures).
	wrap func(engine.Store) engine.Store
	// procs runs the procedures of adapter-based realms.
	procs engine.ProcedureRunner
	// observer is told of the engine's events.
	observer engine.Observer
	// nonces keeps the challenge nonces apart from the store (engine.Options.Nonces).
	nonces store.Nonces
	// directories opens the directories of LDAP login modules (engine.Options.Directories).
	directories engine.DirectoryOpener
}

func newLab(t testing.TB) *lab { return newLabWith(t, labOptions{}) }

func newLabWith(t testing.TB, o labOptions) *lab {
	t.Helper()
	files := o.files
	if files == nil {
		files = labFiles(t)
	}
	dir := writeProject(t, files)
	p, err := project.Load(dir, project.LoadOptions{})
	if err != nil {
		var le *project.LoadError
		if errors.As(err, &le) {
			var lines []string
			for _, d := range le.Diagnostics {
				lines = append(lines, d.String())
			}
			t.Fatalf("Load: %v\n%s", err, strings.Join(lines, "\n"))
		}
		t.Fatalf("Load: %v", err)
	}
	mods, err := policies.CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := policies.NewEvaluator(t.Context(), mods)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l := &lab{t: t, project: p, eval: ev, db: db, store: db, clock: newClock(), logs: &syncBuffer{}}
	if o.wrap != nil {
		l.store = o.wrap(db)
	}
	l.eng, err = engine.New(p, engine.Options{
		Config:     o.config,
		Store:      l.store,
		Nonces:     o.nonces,
		Evaluator:  ev,
		Now:        l.clock.Now,
		Procedures: o.procs,
		Observer:   o.observer,
		Logger:     slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Decisions: engine.DecisionFunc(func(d engine.DecisionRecord) {
			if l.discard.Load() {
				return
			}
			l.mu.Lock()
			l.decisions = append(l.decisions, d)
			l.mu.Unlock()
		}),
		Directories: o.directories,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// withT returns the lab seen from another test (a fuzz iteration): helpers then report to t.
func (l *lab) withT(t testing.TB) *lab {
	return &lab{t: t, project: l.project, eval: l.eval, store: l.store, db: l.db, eng: l.eng, clock: l.clock, logs: l.logs}
}

// records returns the decisions recorded so far.
func (l *lab) records() []engine.DecisionRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]engine.DecisionRecord(nil), l.decisions...)
}

// storedState mirrors the session state the engine stores, for checks on what was written.
type storedState struct {
	Lineage    string                  `json:"lineage"`
	Version    string                  `json:"version"`
	InstanceID string                  `json:"instanceId"`
	Realms     map[string]*storedRealm `json:"realms"`
}

type storedRealm struct {
	Passed     bool              `json:"passed"`
	ExpiresAt  time.Time         `json:"expiresAt"`
	LastUsed   time.Time         `json:"lastUsed"`
	Identity   map[string]any    `json:"identity"`
	Challenged bool              `json:"challenged"`
	Failures   int               `json:"failures"`
	Refused    bool              `json:"refused"`
	Data       map[string]string `json:"data"`
	Nonces     []string          `json:"nonces"`
}

// sessionKey is the key the store holds the session with id under: the SHA-256 of the id, in
// hex (never the id itself).
func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// session returns the stored session with id and its decoded state; ok is false when the store
// does not hold it (or it has expired).
func (l *lab) session(id string) (store.Session, storedState, bool) {
	l.t.Helper()
	rec, err := l.db.GetSession(l.t.Context(), sessionKey(id), l.clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		return rec, storedState{}, false
	}
	if err != nil {
		l.t.Fatal(err)
	}
	var st storedState
	if len(rec.State) > 0 {
		if err := json.Unmarshal(rec.State, &st); err != nil {
			l.t.Fatalf("session state %s: %v", rec.State, err)
		}
	}
	return rec, st, true
}

// client is a simulated application instance: it keeps its cookies and anti-XSRF token as a
// real client does.
type client struct {
	l          *lab
	app        engine.AppContext
	sid        string
	instanceID string
	persistent string
	headers    map[string]string
	// tokens are the anti-XSRF tokens seen in challenges, in order.
	tokens []string
}

func (l *lab) client(env, version string) *client {
	return &client{l: l, app: engine.AppContext{App: labApp, Env: env, Version: version}, headers: map[string]string{}}
}

func (c *client) passive() engine.Passive {
	return engine.Passive{
		InstanceID:     c.instanceID,
		PersistentUser: c.persistent,
		Header:         func(name string) string { return c.headers[name] },
		Request: func() map[string]any {
			h := map[string]any{}
			for k, v := range c.headers {
				h[k] = v
			}
			return map[string]any{"headers": h, "parameters": map[string]any{}}
		},
	}
}

func (c *client) take(ck engine.Cookies) {
	if ck.SessionID != "" {
		c.sid = ck.SessionID
	}
	if ck.PersistentUser != "" {
		c.persistent = ck.PersistentUser
	}
}

func (c *client) adoptToken(ch *engine.Challenge) {
	if ch == nil {
		return
	}
	if p, ok := ch.Challenges[project.RealmAntiXSRF]; ok {
		tok, _ := p["WL-Instance-Id"].(string)
		c.tokens = append(c.tokens, tok)
		c.instanceID = tok
	}
}

// resource is the app resource protected by test.
func (c *client) resource(test string) engine.Resource {
	return engine.Resource{Kind: engine.ResourceApp, Name: c.app.App + "/" + c.app.Env, Test: test}
}

// authorize requests the app resource protected by test.
func (c *client) authorize(test string) (*engine.Access, error) {
	return c.request(c.resource(test), nil)
}

// request requests a resource with request facts.
func (c *client) request(res engine.Resource, facts map[string]any) (*engine.Access, error) {
	acc, err := c.l.eng.Authorize(c.l.t.Context(), engine.AccessRequest{
		App: c.app, SessionID: c.sid, Resource: res, Passive: c.passive(), Facts: facts,
	})
	if err == nil {
		c.take(acc.Cookies)
		c.adoptToken(acc.Challenge)
	}
	return acc, err
}

// answer posts a JSON answer for realm.
func (c *client) answer(realm, body string) (*engine.AnswerResult, error) {
	return c.answerWith(engine.AnswerRequest{Realm: realm, Body: json.RawMessage(body)})
}

// answerWith completes req with the client's context and posts it.
func (c *client) answerWith(req engine.AnswerRequest) (*engine.AnswerResult, error) {
	req.App, req.SessionID, req.Passive = c.app, c.sid, c.passive()
	res, err := c.l.eng.Answer(c.l.t.Context(), req)
	if err == nil {
		c.take(res.Cookies)
	}
	return res, err
}

// mustChallenge requests test's resource and returns the realms challenged, failing otherwise.
func (c *client) mustChallenge(test string) *engine.Challenge {
	c.l.t.Helper()
	acc, err := c.authorize(test)
	if err != nil {
		c.l.t.Fatalf("Authorize(%s): %v", test, err)
	}
	if acc.Challenge == nil {
		c.l.t.Fatalf("Authorize(%s): allowed, want a challenge", test)
	}
	return acc.Challenge
}

// mustAllow requests test's resource and fails unless it is allowed.
func (c *client) mustAllow(test string) *engine.Access {
	c.l.t.Helper()
	acc, err := c.authorize(test)
	if err != nil {
		c.l.t.Fatalf("Authorize(%s): %v", test, err)
	}
	if !acc.Allowed || acc.Challenge != nil {
		c.l.t.Fatalf("Authorize(%s): challenge %+v, want allowed", test, acc.Challenge)
	}
	return acc
}

// mustSucceed answers realm and fails unless the realm is passed.
func (c *client) mustSucceed(realm, body string) *engine.AnswerResult {
	c.l.t.Helper()
	res, err := c.answer(realm, body)
	if err != nil {
		c.l.t.Fatalf("Answer(%s, %s): %v", realm, body, err)
	}
	if res.Status != engine.StatusSuccess {
		c.l.t.Fatalf("Answer(%s, %s): status %q retry %+v, want success", realm, body, res.Status, res.Retry)
	}
	return res
}

// realmsOf lists the challenged realms, sorted.
func realmsOf(ch *engine.Challenge) []string {
	if ch == nil {
		return nil
	}
	var out []string
	for r := range ch.Challenges {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// codeOf returns the engine code of err: "" for nil, "not an *engine.Error" for other errors.
func codeOf(err error) engine.Code {
	if err == nil {
		return ""
	}
	var e *engine.Error
	if !errors.As(err, &e) {
		return "not an *engine.Error: " + engine.Code(err.Error())
	}
	return e.Code
}

// jsonOf marshals v for the error messages of tests.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
