package engine_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// fuzzMaxAttempts is the attempt limit of FuzzAnswer's engine: small, so that fuzzed answers
// reach it.
const fuzzMaxAttempts = 3

// knownCodes are the codes an answer may fail with.
var knownCodes = map[engine.Code]bool{
	engine.CodeBadRequest: true, engine.CodeUnknownApplication: true, engine.CodeUnknownRealm: true,
	engine.CodeNoChallenge: true, engine.CodeRefused: true, engine.CodeTooManyAttempts: true,
	engine.CodeApplicationDisabled: true, engine.CodeDeviceBlocked: true, engine.CodePolicyDenied: true,
	engine.CodeNotImplemented: true, engine.CodeXSRF: true, engine.CodeUnavailable: true,
	engine.CodeNonce: true, engine.CodeUnknownSecurityTest: true, engine.CodeBackoff: true,
	engine.CodeIdentityMismatch: true, engine.CodeProcedureNotAllowed: true,
}

// fuzzLab is the lab with notices to acknowledge and a blocked device, and for each realm the
// test that challenges it first (step 1), or "xsrf" when none does.
func fuzzLab(f *testing.F) (*lab, []string, map[string]string) {
	l := newLabWith(f, labOptions{config: engine.Config{MaxAttempts: fuzzMaxAttempts},
		wrap: func(s engine.Store) engine.Store { return &writeCounter{Store: s} }})
	ctx := f.Context()
	if err := l.eng.SetRules(ctx, "admin", labApp, "android", []store.Rule{
		{Action: "notify", Message: "first notice", MessageID: "n1"},
		{Action: "notify", Message: "second notice"},
	}); err != nil {
		f.Fatal(err)
	}
	if err := l.db.PutDevice(ctx, store.Device{ID: "blocked-device", Entity: "none", Status: store.DeviceBlocked}); err != nil {
		f.Fatal(err)
	}
	var realms []string
	for name := range l.project.Realms {
		realms = append(realms, name)
	}
	slices.Sort(realms)
	tests := slices.Sorted(func(yield func(string) bool) {
		for name := range l.project.Tests {
			if !yield(name) {
				return
			}
		}
	})
	first := map[string]string{}
	for _, r := range realms {
		first[r] = "xsrf"
		for _, name := range tests {
			if steps := l.project.Tests[name].Steps; len(steps) > 0 && slices.Contains(steps[0], r) {
				first[r] = name
				break
			}
		}
	}
	return l, realms, first
}

// normalized returns the state with realm's failure count and pending challenge cleared, and
// every realm present, so that two states can be compared apart from them.
func normalized(st storedState, realm string) storedState {
	out := st
	out.Realms = map[string]*storedRealm{}
	for k, v := range st.Realms {
		c := *v
		out.Realms[k] = &c
	}
	if out.Realms[realm] == nil {
		out.Realms[realm] = &storedRealm{}
	}
	out.Realms[realm].Failures, out.Realms[realm].Challenged, out.Realms[realm].Refused = 0, false, false
	out.Realms[realm].Nonces = nil // checked by checkNonceList
	return out
}

// checkNonceList checks what a refused answer did to the realm's list of live nonces: it may
// spend the nonce it carried and issue the next one (the retry's challenge), dropping the oldest
// past engine.MaxLiveNonces, and nothing else.
func checkNonceList(t *testing.T, realm string, before, after []string) {
	t.Helper()
	if len(after) > engine.MaxLiveNonces {
		t.Fatalf("Answer(%s): the session lists %d nonces of the realm, more than %d", realm, len(after), engine.MaxLiveNonces)
	}
	kept := after
	if len(after) > 0 && !slices.Contains(before, after[len(after)-1]) {
		kept = after[:len(after)-1] // the retry's new nonce
	}
	for i, n := range kept {
		if !slices.Contains(before, n) {
			t.Fatalf("Answer(%s): nonce list %v -> %v adds more than the retry's nonce", realm, before, after)
		}
		if i > 0 && slices.Index(before, kept[i-1]) > slices.Index(before, n) {
			t.Fatalf("Answer(%s): nonce list %v -> %v reorders the nonces", realm, before, after)
		}
	}
}

func realmOf(st storedState, realm string) storedRealm {
	if rs := st.Realms[realm]; rs != nil {
		return *rs
	}
	return storedRealm{}
}

// FuzzAnswer answers a challenged realm, once to three times, with a fuzzed body, Basic
// credentials and headers. Answer never panics; every error is an *Error with a known code; and
// an answer that is refused or malformed changes nothing stored but the realm's failure count
// (and, once the realm is locked, its pending challenge): no login, no rotation, no user, no
// device, no audit record. In the body, $NONCE stands for the device challenge's nonce.
func FuzzAnswer(f *testing.F) {
	l, realms, first := fuzzLab(f)
	for _, s := range []struct {
		realm    string
		rounds   uint8
		body     string
		basic    bool
		user     string
		pass     string
		header   string
		token    string
		rightTok bool
	}{
		{"PasswordRealm", 0, `{"username":"alice","password":"` + alicePassword + `"}`, false, "", "", "", "", true},
		{"PasswordRealm", 2, `{"j_username":"bob","j_password":"` + alicePassword + `"}`, false, "", "", "", "", true},
		{"BasicRealm", 0, `{}`, true, "admin", adminPassword, "", "", true},
		{"BasicRealm", 2, `{"username":"admin","password":"` + adminPassword + `"}`, true, "admin", "wrong", "", "", true},
		{"HeaderRealm", 0, `{}`, false, "", "", "carol", "", true},
		{"HeaderRealm", 1, `{}`, false, "", "", "", "", true},
		{"FormRealm", 2, `{"username":"","password":null}`, false, "", "", "", "", true},
		{"FormRealm", 0, `{"j_username":"carol"}`, false, "", "", "", "", true},
		{"ExpiringRealm", 0, `{"username":7}`, false, "", "", "", "", true},
		{"RejectRealm", 2, `{"username":"root","password":"root"}`, false, "", "", "", "", true},
		{"UnconfiguredRealm", 1, `{"username":"admin","password":"` + adminPassword + `"}`, false, "", "", "", "", true},
		{"LdapRealm", 0, `{"username":"alice","password":"` + alicePIN + `"}`, true, "", "", "", "", true},
		{"PinRealm", 0, `{"username":"alice","password":"` + alicePIN + `"}`, false, "", "", "", "", true},
		{project.RealmRemoteDisable, 1, `{"acknowledged":true,"messageId":"n1"}`, false, "", "", "", "", true},
		{project.RealmRemoteDisable, 2, `{"acknowledged":"yes"}`, false, "", "", "", "", true},
		{project.RealmDeviceNoProvision, 0, `{"token":"$NONCE","device":{"id":"blocked-device"}}`, false, "", "", "", "", true},
		{project.RealmDeviceNoProvision, 2, `{"token":"$NONCE","device":{"id":"dev-1","os":"android"}}`, false, "", "", "", "", true},
		{project.RealmDeviceNoProvision, 2, `{"token":"$NONCE$NONCE","device":{"id":"dev-2"}}`, false, "", "", "", "", true},
		{project.RealmDeviceNoProvision, 0, `[]`, false, "", "", "", "", true},
		{project.RealmDeviceNoProvision, 0, `{"token":"$NONCE","device":{"id":"` + strings.Repeat("d", 300) + `"}}`, false, "", "", "", "", true},
		{project.RealmAntiXSRF, 0, ``, false, "", "", "", "", true},
		{project.RealmAntiXSRF, 2, `{}`, false, "", "", "", "forged", false},
		{project.RealmAnonymousUser, 0, `{}`, false, "", "", "", "", true},
		{project.RealmAuthenticity, 0, `{}`, false, "", "", "", "", true},
		{project.RealmDeviceAutoProvision, 0, `{"csr":"x"}`, false, "", "", "", "", true},
	} {
		i := slices.Index(realms, s.realm)
		if i < 0 {
			f.Fatalf("seed realm %s is not in the project", s.realm)
		}
		f.Add(uint8(i), s.rounds, []byte(s.body), s.basic, s.user, s.pass, s.header, s.token, s.rightTok)
	}
	f.Fuzz(func(t *testing.T, realmIdx, rounds uint8, body []byte, useBasic bool, user, pass, header, token string, rightToken bool) {
		realm := realms[int(realmIdx)%len(realms)]
		tl := l.withT(t)
		c := tl.client("android", "2.1.0")
		acc, err := c.authorize(first[realm])
		if err != nil && codeOf(err) != engine.CodeNotImplemented {
			t.Fatalf("Authorize(%s): %v", first[realm], err)
		}
		if acc != nil && acc.Challenge != nil {
			if n, ok := acc.Challenge.Challenges[project.RealmDeviceNoProvision]["token"].(string); ok {
				body = bytes.ReplaceAll(body, []byte("$NONCE"), []byte(n))
			}
		}
		if !rightToken {
			c.instanceID = token
		}
		c.headers[headerName] = header
		req := engine.AnswerRequest{Realm: realm, Body: body}
		if useBasic {
			req.Basic = &engine.BasicCredentials{Username: user, Password: pass}
		}
		for range 1 + int(rounds%3) {
			if passed := checkAnswer(t, tl, c, req); passed {
				return
			}
		}
	})
}

// checkAnswer posts one answer and checks the invariants of FuzzAnswer; it reports whether the
// answer was accepted.
func checkAnswer(t *testing.T, l *lab, c *client, req engine.AnswerRequest) bool {
	realm := req.Realm
	recBefore, before, had := l.session(c.sid)
	writes := l.store.(*writeCounter)
	writes.reset()
	oldID := c.sid
	res, err := c.answerWith(req)

	var e *engine.Error
	if err != nil && (!errors.As(err, &e) || !knownCodes[e.Code]) {
		t.Fatalf("Answer(%s): error %#v is not an *engine.Error with a known code", realm, err)
	}
	if err == nil && res.Retry == nil && res.Status == "" {
		t.Fatalf("Answer(%s): neither an error, a retry nor a status: %+v", realm, res)
	}
	if err == nil && res.Retry == nil {
		return true
	}
	if err == nil && res.Retry.Challenges[realm]["error"] == nil {
		return false // a right answer with another round to go
	}
	if !had {
		if c.sid != "" {
			t.Fatalf("an answer without a session created one: %q", c.sid)
		}
		return false
	}
	// Refused or malformed: nothing changed but the failure count.
	if res != nil && res.Cookies != (engine.Cookies{}) {
		t.Fatalf("a refused answer set cookies %+v", res.Cookies)
	}
	recAfter, after, ok := l.session(oldID)
	if !ok {
		t.Fatal("a refused answer removed the session")
	}
	recBefore.State, recAfter.State = nil, nil
	if diff := cmp.Diff(recBefore, recAfter); diff != "" {
		t.Fatalf("session record changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(normalized(before, realm), normalized(after, realm), cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("Answer(%s) refused (%v, retry %v) but changed the session (-before +after):\n%s", realm, err, res, diff)
	}
	checkNonceList(t, realm, realmOf(before, realm).Nonces, realmOf(after, realm).Nonces)
	b, a := realmOf(before, realm), realmOf(after, realm)
	wantFailures, wantChallenged, wantRefused := b.Failures, b.Challenged, b.Refused
	switch {
	case err == nil: // a retry
		wantFailures++
	case e.Code == engine.CodeTooManyAttempts && b.Failures < fuzzMaxAttempts:
		wantFailures, wantChallenged = b.Failures+1, false
	case e.Code == engine.CodeRefused, e.Code == engine.CodeIdentityMismatch:
		wantChallenged, wantRefused = false, true
	}
	if a.Failures != wantFailures || a.Challenged != wantChallenged || a.Refused != wantRefused || a.Passed != b.Passed {
		t.Fatalf("Answer(%s) -> %v: realm %+v -> %+v, want failures %d challenged %v", realm, err, b, a, wantFailures, wantChallenged)
	}
	if err == nil {
		p := res.Retry.Challenges[realm]
		if p["remainingAttempts"] != fuzzMaxAttempts-a.Failures {
			t.Fatalf("retry %v after %d failures", p, a.Failures)
		}
	}
	// Beside the session, a refused answer may issue the realm's next nonce, or spend the one
	// it carried; a wrong answer to a login may also count the failure and audit it; nothing
	// else.
	got := writes.other()
	if wantFailures > b.Failures {
		got = slices.DeleteFunc(got, func(w string) bool { return w == "AddLoginFailure" || w == "AppendAudit login.failure" })
	}
	if e != nil && e.Code == engine.CodeIdentityMismatch {
		got = slices.DeleteFunc(got, func(w string) bool { return w == "AppendAudit login.identity_mismatch" })
	}
	if len(got) > 0 {
		t.Fatalf("Answer(%s) refused (%v) but wrote %v", realm, err, got)
	}
	return false
}

// writeCounter counts the store writes other than sessions and nonces.
type writeCounter struct {
	engine.Store
	mu     sync.Mutex
	writes []string
}

func (w *writeCounter) note(what string) {
	w.mu.Lock()
	w.writes = append(w.writes, what)
	w.mu.Unlock()
}

func (w *writeCounter) reset() {
	w.mu.Lock()
	w.writes = nil
	w.mu.Unlock()
}

func (w *writeCounter) other() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

// Update counts the writes of a unit of work once it has committed.
func (w *writeCounter) Update(ctx context.Context, fn func(store.Tx) error) error {
	var notes []string
	err := w.Store.Update(ctx, func(tx store.Tx) error {
		notes = notes[:0]
		return fn(&countingTx{Tx: tx, notes: &notes})
	})
	if err == nil {
		for _, n := range notes {
			w.note(n)
		}
	}
	return err
}

// countingTx notes the writes made through it, other than sessions and nonces.
type countingTx struct {
	store.Tx
	notes *[]string
}

func (c *countingTx) note(what string) { *c.notes = append(*c.notes, what) }

func (c *countingTx) DeleteSession(ctx context.Context, id string) error {
	c.note("DeleteSession")
	return c.Tx.DeleteSession(ctx, id)
}

func (c *countingTx) PutUser(ctx context.Context, u store.User) error {
	c.note("PutUser")
	return c.Tx.PutUser(ctx, u)
}

func (c *countingTx) PutDevice(ctx context.Context, d store.Device) error {
	c.note("PutDevice")
	return c.Tx.PutDevice(ctx, d)
}

func (c *countingTx) SetDeviceStatus(ctx context.Context, id, status string) error {
	c.note("SetDeviceStatus")
	return c.Tx.SetDeviceStatus(ctx, id, status)
}

func (c *countingTx) PutRules(ctx context.Context, app, env string, rules []store.Rule) error {
	c.note("PutRules")
	return c.Tx.PutRules(ctx, app, env, rules)
}

func (c *countingTx) AddLoginFailure(ctx context.Context, key string, now, expiresAt time.Time) (store.LoginFailure, error) {
	c.note("AddLoginFailure")
	return c.Tx.AddLoginFailure(ctx, key, now, expiresAt)
}

func (c *countingTx) ResetLoginFailures(ctx context.Context, key string) error {
	c.note("ResetLoginFailures")
	return c.Tx.ResetLoginFailures(ctx, key)
}

func (c *countingTx) AppendAudit(ctx context.Context, r store.AuditRecord) (int64, error) {
	c.note("AppendAudit " + r.Action)
	return c.Tx.AppendAudit(ctx, r)
}

func (c *countingTx) PutCertificate(ctx context.Context, r store.CertificateRecord) error {
	c.note("PutCertificate")
	return c.Tx.PutCertificate(ctx, r)
}

func (c *countingTx) RevokeCertificate(ctx context.Context, serial, reason string, at time.Time) error {
	c.note("RevokeCertificate")
	return c.Tx.RevokeCertificate(ctx, serial, reason, at)
}

func (c *countingTx) RevokeTokens(ctx context.Context, r store.TokenRevocation) error {
	c.note("RevokeTokens")
	return c.Tx.RevokeTokens(ctx, r)
}
