package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// TestStepOrder walks a three-step test: each step is challenged only after the one before it
// passed, and each decision is recorded once, with the policy revision and a hashed session.
func TestStepOrder(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	type step struct {
		do      func()
		outcome string
		step    int
		realms  []string
		passed  []string
	}
	var sessions []string // the session id each decision was made in
	steps := []step{
		{nil, policies.Challenge, 1, []string{project.RealmAntiXSRF}, []string{}},
		{nil, policies.Challenge, 2, []string{"PasswordRealm"}, []string{project.RealmAntiXSRF}},
		{func() { c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`) },
			policies.Challenge, 3, []string{"PinRealm"}, []string{"PasswordRealm", project.RealmAntiXSRF}},
		{func() { c.mustSucceed("PinRealm", `{"username":"alice","password":"`+alicePIN+`"}`) },
			policies.Allow, 0, nil, []string{"PasswordRealm", "PinRealm", project.RealmAntiXSRF}},
	}
	var want []engine.DecisionRecord
	for i, s := range steps {
		if s.do != nil {
			s.do()
		}
		sid := c.sid
		acc, err := c.authorize("steps")
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if sid == "" {
			sid = acc.Cookies.SessionID
		}
		sessions = append(sessions, sid)
		if s.outcome == policies.Allow {
			if !acc.Allowed || acc.User["userId"] != "alice" {
				t.Fatalf("step %d: %+v, want allowed for alice", i, acc)
			}
		} else {
			wantCh := &engine.Challenge{SecurityTest: "steps", Step: s.step, Challenges: map[string]map[string]any{}}
			for _, r := range s.realms {
				wantCh.Challenges[r] = acc.Challenge.Challenges[r]
			}
			if diff := cmp.Diff(wantCh, acc.Challenge); diff != "" {
				t.Fatalf("step %d challenge (-want +got):\n%s", i, diff)
			}
		}
		// The policy sees the user realm's identity once the user realm (PasswordRealm) is passed.
		var user map[string]any
		if slices.Contains(s.passed, "PasswordRealm") {
			user = map[string]any{"displayName": "alice", "realm": "PasswordRealm", "userId": "alice"}
		}
		want = append(want, engine.DecisionRecord{
			Time: l.clock.Now(), Session: engine.SessionRef(sid), App: labApp, Env: "android", Version: "2.1.0",
			Resource: "LabApp/android", Kind: engine.ResourceApp, Test: "steps", Passed: s.passed,
			Outcome: s.outcome, Step: s.step, Realms: s.realms, Revision: l.eval.Revision(),
			// The input the policy decided on, for the decision log in OPA's shape.
			Input: &policies.Input{Test: "steps", Passed: s.passed,
				App:      policies.App{ID: labApp, Env: "android", Version: "2.1.0"},
				Resource: policies.Resource{Kind: engine.ResourceApp, Name: "LabApp/android"}, User: user},
		})
	}
	got := l.records()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(engine.DecisionRecord{}, "DecisionID"), cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("decision records (-want +got):\n%s", diff)
	}
	ids := map[string]bool{}
	for i, r := range got {
		if len(r.DecisionID) != 36 || ids[r.DecisionID] {
			t.Errorf("record %d: decision id %q is not a fresh UUID", i, r.DecisionID)
		}
		ids[r.DecisionID] = true
		if r.Session == sessions[i] || len(r.Session) != 12 {
			t.Errorf("record %d: session %q is not a short hash of the id", i, r.Session)
		}
	}
	if l.eng.Revision() != l.eval.Revision() || len(l.eng.Revision()) != 16 {
		t.Errorf("revision %q, evaluator's %q", l.eng.Revision(), l.eval.Revision())
	}
}

func TestNotImplementedRealm(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		test, realm string
		before      int // challenges answered before the realm's step
	}{
		{"ldap", "LdapRealm", 1},
	}
	for _, tc := range tests {
		t.Run(tc.test, func(t *testing.T) {
			c := l.client("android", "2.1.0")
			for range tc.before {
				c.mustChallenge(tc.test)
			}
			for range 2 { // refused every time, never passed
				_, err := c.authorize(tc.test)
				var e *engine.Error
				if !errors.As(err, &e) || e.Code != engine.CodeNotImplemented || e.Details["realm"] != tc.realm {
					t.Fatalf("Authorize: %#v, want %s for %s", err, engine.CodeNotImplemented, tc.realm)
				}
			}
			if _, err := c.answer(tc.realm, `{"username":"a","password":"b"}`); err == nil {
				t.Fatal("an answer to a realm that cannot be enforced succeeded")
			}
		})
	}
}

func TestPolicyDeny(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	closed := engine.Resource{Kind: engine.ResourceProcedure, Name: "Accounts.closed", Test: "form"}
	// Denied before any login and after: a deny is not a challenge.
	for i := range 2 {
		_, err := c.request(closed, map[string]any{"amount": 5.0})
		want := &engine.Error{Code: engine.CodePolicyDenied, Message: "transfers to this account are closed",
			Details: map[string]any{"reasons": []string{"transfers to this account are closed"}}}
		var e *engine.Error
		if !errors.As(err, &e) {
			t.Fatalf("request %d: %v", i, err)
		}
		if diff := cmp.Diff(want, e); diff != "" {
			t.Fatalf("request %d (-want +got):\n%s", i, diff)
		}
		if i == 0 {
			c.sid = ""
			c.mustChallenge("form")
			c.mustSucceed("FormRealm", `{"username":"carol"}`)
		}
	}
	recs := l.records()
	if len(recs) != 3 || recs[0].Outcome != policies.Deny || recs[2].Outcome != policies.Deny ||
		!cmp.Equal(recs[2].Reasons, []string{"transfers to this account are closed"}) {
		t.Fatalf("records %s", jsonOf(recs))
	}
}

// TestStepUp: a user policy requires the PIN realm for large amounts, after the test's realms.
func TestStepUp(t *testing.T) {
	l := newLab(t)
	pay := engine.Resource{Kind: engine.ResourceProcedure, Name: "Accounts.pay", Test: "password"}
	large := map[string]any{"amount": json.Number("5000")}
	c := l.client("android", "2.1.0")
	acc, err := c.request(pay, large)
	if err != nil || acc.Challenge == nil || acc.Challenge.Step != 1 || !cmp.Equal(realmsOf(acc.Challenge), []string{"PasswordRealm"}) {
		t.Fatalf("first: %+v %v", acc, err)
	}
	c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
	// A small amount needs the test's realms only.
	if acc, err := c.request(pay, map[string]any{"amount": json.Number("10")}); err != nil || !acc.Allowed {
		t.Fatalf("small amount: %+v %v", acc, err)
	}
	acc, err = c.request(pay, large)
	if err != nil || acc.Challenge == nil || acc.Challenge.Step != 2 || !cmp.Equal(realmsOf(acc.Challenge), []string{"PinRealm"}) {
		t.Fatalf("large amount after login: %+v %v, want the PIN realm as step 2", acc, err)
	}
	c.mustSucceed("PinRealm", `{"username":"alice","password":"`+alicePIN+`"}`)
	if acc, err := c.request(pay, large); err != nil || !acc.Allowed {
		t.Fatalf("after the PIN: %+v %v", acc, err)
	}
}

// failingAudit is a store whose audit log refuses writes, so that the engine has something to
// log.
type failingAudit struct{ engine.Store }

func (f failingAudit) Update(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Update(ctx, func(tx store.Tx) error { return fn(failingAuditTx{tx}) })
}

type failingAuditTx struct{ store.Tx }

func (failingAuditTx) AppendAudit(context.Context, store.AuditRecord) (int64, error) {
	return 0, errors.New("audit log unavailable")
}

// TestNoSecretsInRecordsOrLogs runs every kind of secret through the engine and looks for them
// in the decision records, the logs and the audit records.
func TestNoSecretsInRecordsOrLogs(t *testing.T) {
	for _, auditFails := range []bool{false, true} {
		name := "audit works"
		if auditFails {
			name = "audit fails"
		}
		t.Run(name, func(t *testing.T) {
			o := labOptions{}
			if auditFails {
				o.wrap = func(s engine.Store) engine.Store { return failingAudit{s} }
			}
			l := newLabWith(t, o)
			secrets := map[string]string{}
			keep := func(what, v string) {
				if v == "" {
					t.Fatalf("%s is empty", what)
				}
				secrets[what+" "+v] = v
			}
			c := l.client("android", "2.1.0")
			ch := c.mustChallenge("steps")
			keep("session id", c.sid)
			keep("instance id", c.instanceID)
			c.mustChallenge("steps")
			c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
			keep("rotated session id", c.sid)
			keep("password", alicePassword)
			if _, err := c.answer("PinRealm", `{"username":"alice","password":"wrong-pin-9876"}`); codeOf(err) != engine.CodeNoChallenge {
				t.Fatal(err)
			}
			c.mustChallenge("steps")
			res, err := c.answer("PinRealm", `{"username":"alice","password":"wrong-pin-9876"}`)
			if err != nil || res.Retry == nil {
				t.Fatal(res, err)
			}
			keep("wrong PIN", "wrong-pin-9876")
			c.mustSucceed("PinRealm", `{"username":"alice","password":"`+alicePIN+`"}`)
			keep("PIN hash", hashOf(t, alicePIN))
			_ = ch
			d := l.client("android", "2.1.0")
			nonce := deviceNonce(t, d)
			keep("session id", d.sid)
			keep("nonce", nonce)
			d.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+nonce+`","device":{"id":"dev-1"}}`)
			b := l.client("android", "2.1.0")
			b.mustChallenge("basic")
			if _, err := b.answerWith(engine.AnswerRequest{Realm: "BasicRealm", Basic: &engine.BasicCredentials{Username: "admin", Password: adminPassword}}); err != nil {
				t.Fatal(err)
			}
			keep("basic password", adminPassword)
			keep("session id", b.sid)
			if err := l.eng.SetRules(t.Context(), "admin", labApp, "android", []store.Rule{{Action: "notify", Message: "hi"}}); err != nil {
				t.Fatal(err)
			}

			recs, err := l.db.ListAudit(t.Context(), 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			haystacks := map[string]string{"decision records": jsonOf(l.records()), "logs": l.logs.String(), "audit": jsonOf(recs)}
			if len(l.records()) < 5 {
				t.Fatalf("only %d decision records", len(l.records()))
			}
			if auditFails != (l.logs.String() != "") || (!auditFails && len(recs) < 3) {
				t.Fatalf("logs %q, %d audit records: the check would see nothing", l.logs.String(), len(recs))
			}
			for where, text := range haystacks {
				for what, v := range secrets {
					if strings.Contains(text, v) {
						t.Errorf("%s holds the %s", where, what)
					}
				}
			}
		})
	}
}

// TestStoreFailure: a store that fails makes the engine answer CodeUnavailable, never a pass.
func TestStoreFailure(t *testing.T) {
	l := newLabWith(t, labOptions{wrap: func(s engine.Store) engine.Store { return &flakyStore{Store: s} }})
	fs := l.store.(*flakyStore)
	c := l.client("android", "2.1.0")
	c.mustChallenge("xsrf")
	c.mustAllow("xsrf")
	fs.fail.Store(true)
	for _, test := range []string{"xsrf", "anon", "remote"} {
		if _, err := c.authorize(test); codeOf(err) != engine.CodeUnavailable {
			t.Fatalf("%s with a failing store: %v", test, err)
		}
	}
	if _, err := c.answer("FormRealm", `{}`); codeOf(err) != engine.CodeUnavailable {
		t.Fatalf("answer with a failing store: %v", err)
	}
}

// flakyStore fails every call while fail is set.
type flakyStore struct {
	engine.Store
	fail atomic.Bool
}

var errStoreDown = errors.New("store down")

func (f *flakyStore) err() error {
	if f.fail.Load() {
		return errStoreDown
	}
	return nil
}

func (f *flakyStore) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	if err := f.err(); err != nil {
		return store.Session{}, err
	}
	return f.Store.GetSession(ctx, id, now)
}

// Update fails every unit of work while fail is set: none of a request's writes commits.
func (f *flakyStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.Update(ctx, fn)
}

func (f *flakyStore) PutSession(ctx context.Context, s store.Session) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.PutSession(ctx, s)
}

func (f *flakyStore) ReplaceSession(ctx context.Context, oldID string, s store.Session) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.ReplaceSession(ctx, oldID, s)
}

func (f *flakyStore) GetUser(ctx context.Context, id string) (store.User, error) {
	if err := f.err(); err != nil {
		return store.User{}, err
	}
	return f.Store.GetUser(ctx, id)
}

func (f *flakyStore) GetRules(ctx context.Context, app, env string) ([]store.Rule, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Store.GetRules(ctx, app, env)
}

// contendedStore gives up on every write after conflicts, as a PostgreSQL store whose retries
// ran out does: its units of work, and the session written alone.
type contendedStore struct{ engine.Store }

func (contendedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return errContended
}

func (contendedStore) PutSession(context.Context, store.Session) error { return errContended }

func (contendedStore) ReplaceSession(context.Context, string, store.Session) error {
	return errContended
}

var errContended = fmt.Errorf("postgres: %w", &store.ContentionError{Attempts: 9, Err: errors.New("could not serialize access")})

// TestStoreContention: a unit of work the store gave up on after conflicts is CodeUnavailable
// with a message of its own, and the log says so with the number of runs.
func TestStoreContention(t *testing.T) {
	l := newLabWith(t, labOptions{wrap: func(s engine.Store) engine.Store { return contendedStore{s} }})
	c := l.client("android", "2.1.0")
	_, err := c.authorize("xsrf")
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Code != engine.CodeUnavailable || !strings.Contains(ee.Message, "busy") {
		t.Fatalf("a request whose unit gave up: %v, want CodeUnavailable saying the store is busy", err)
	}
	if logs := l.logs.String(); !strings.Contains(logs, "gave up after conflicts") || !strings.Contains(logs, `"attempts":9`) {
		t.Errorf("logs %q do not report the contention", logs)
	}
}
