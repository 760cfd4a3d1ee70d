package engine_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
)

// recorder is an engine.Observer that writes each event as one line.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(parts ...string) {
	r.mu.Lock()
	r.events = append(r.events, strings.Join(parts, " "))
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func (r *recorder) Decision(test, outcome string) { r.add("decision", test, outcome) }
func (r *recorder) Challenge(realm string)        { r.add("challenge", realm) }
func (r *recorder) AnswerFailed(realm string, code engine.Code) {
	r.add("answer-failed", realm, string(code))
}
func (r *recorder) CertificateIssued(realm, bridge string)  { r.add("cert-issued", realm, bridge) }
func (r *recorder) CertificateRefused(realm, bridge string) { r.add("cert-refused", realm, bridge) }
func (r *recorder) TokenMinted(scope string)                { r.add("token-minted", scope) }
func (r *recorder) TokenValidated(outcome string)           { r.add("token-validated", outcome) }

// TestObserverSeesTheChallengeProtocol walks a login with a wrong answer first, a refusal, and
// requests the project does not define: each is one event, and names the project does not
// define come as "unknown".
func TestObserverSeesTheChallengeProtocol(t *testing.T) {
	rec := &recorder{}
	l := newLabWith(t, labOptions{observer: rec})
	c := l.client("android", "2.1.0")
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"challenge", func() { c.mustChallenge("form") },
			[]string{"challenge FormRealm", "decision form challenge"}},
		{"wrong answer", func() {
			if res, err := c.answer("FormRealm", `{"username":""}`); err != nil || res.Retry == nil {
				t.Fatalf("empty user name: %+v %v, want a retry", res, err)
			}
		}, []string{"answer-failed FormRealm wrong_answer"}},
		{"right answer", func() { c.mustSucceed("FormRealm", `{"username":"carol"}`) }, nil},
		{"allowed", func() { c.mustAllow("form") }, []string{"decision form allow"}},
		{"refused for good", func() {
			c.mustChallenge("reject")
			if _, err := c.answer("RejectRealm", `{"username":"x","password":"y"}`); codeOf(err) != engine.CodeRefused {
				t.Fatalf("RejectRealm: %v, want realm_refused", err)
			}
			if _, err := c.authorize("reject"); codeOf(err) != engine.CodeRefused {
				t.Fatalf("reject after refusal: %v", err)
			}
		}, []string{"challenge RejectRealm", "decision reject challenge", "answer-failed RejectRealm realm_refused", "decision reject deny"}},
		{"unknown realm", func() {
			if _, err := c.answer("NoSuchRealm-"+c.sid, `{}`); codeOf(err) != engine.CodeUnknownRealm {
				t.Fatalf("unknown realm: %v", err)
			}
		}, []string{"answer-failed unknown unknown_realm"}},
		{"unknown test", func() {
			if _, err := c.authorize("noSuchTest-" + c.sid); codeOf(err) != engine.CodeUnknownSecurityTest {
				t.Fatalf("unknown test: %v", err)
			}
		}, []string{"decision unknown error"}},
		{"not a challenged realm", func() {
			if _, err := c.answer("PasswordRealm", `{}`); codeOf(err) != engine.CodeNoChallenge {
				t.Fatalf("answer without a challenge: %v", err)
			}
		}, []string{"answer-failed PasswordRealm no_challenge"}},
	}
	for _, s := range steps {
		s.do()
		if diff := cmp.Diff(s.want, rec.take()); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", s.name, diff)
		}
	}
}

// TestNilObserver: an engine without an observer works (the events go nowhere).
func TestNilObserver(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("form")
	c.mustSucceed("FormRealm", `{"username":"carol"}`)
	c.mustAllow("form")
}
