package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// countingHandler counts the challenges a realm's handler answers.
type countingHandler struct {
	n int
	client.ChallengeHandler
}

func (c *countingHandler) HandleChallenge(ctx context.Context, ch *client.Challenge) (*client.Answer, error) {
	c.n++
	return c.ChallengeHandler.HandleChallenge(ctx, ch)
}

// TestOnDemandLogin: the Go client logs in to the example's login-module realm with
// POST /api/v1/login/{realm} before it requests anything; the realm's challenge is answered
// with the handler it already has; a second login, and the app's init that the realm protects,
// are served without a challenge; after a logout the login challenges again.
func TestOnDemandLogin(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	h := &countingHandler{ChallengeHandler: &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}}}
	c.RegisterHandler("BankLogin", h)
	ctx := context.Background()

	id, err := c.Login(ctx, "BankLogin")
	if err != nil {
		t.Fatal(err)
	}
	if id["userId"] != "alice" || h.n != 1 {
		t.Fatalf("Login = %v after %d challenges, want alice after 1", id, h.n)
	}
	if id, err = c.Login(ctx, "BankLogin"); err != nil || id["userId"] != "alice" {
		t.Fatalf("Login when logged in = %v, %v: want alice", id, err)
	}
	init, err := c.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if init.User["userId"] != "alice" || h.n != 1 {
		t.Errorf("init after the login: user %v after %d challenges, want alice after 1", init.User, h.n)
	}
	if err := c.Logout(ctx, "BankLogin"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "BankLogin"); err != nil || h.n != 2 {
		t.Errorf("Login after logout: %v after %d challenges, want a second challenge answered", err, h.n)
	}

	// A realm that cannot be logged in to on demand, and one that does not exist.
	for realm, want := range map[string]struct {
		status int
		code   string
	}{
		"wl_anonymousUserRealm": {http.StatusForbidden, "login_not_allowed"},
		"NoSuchRealm":           {http.StatusNotFound, "unknown_realm"},
	} {
		_, err := c.Login(ctx, realm)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != want.status || ce.Code != want.code || ce.Message == "" {
			t.Errorf("Login(%s) = %v, want %d %s with a message", realm, err, want.status, want.code)
		}
	}
}

// TestOnDemandLoginWire checks the wire: from no session, the login request gets the challenge
// a protected request of the app gets (its anti-XSRF token and the realm's payload, the test
// and step); the answer then passes the realm; a refused login issues no session; and a session
// holding an anti-XSRF token must send it.
func TestOnDemandLoginWire(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	const path = "/api/v1/login/BankLogin"

	_, viaInit, _ := newRaw(t, d, "mobilewebapp", "2.1.0").do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}")
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	status, body, _ := r.do("POST", path, "")
	if status != http.StatusUnauthorized {
		t.Fatalf("login from no session: %d %v, want 401", status, body)
	}
	if diff := cmp.Diff(keys(challenges(viaInit)), keys(challenges(body))); diff != "" {
		t.Errorf("realms challenged (-init +login):\n%s", diff)
	}
	if diff := cmp.Diff(challenges(viaInit)["BankLogin"], challenges(body)["BankLogin"]); diff != "" {
		t.Errorf("BankLogin's payload (-init +login):\n%s", diff)
	}
	if body["securityTest"] != "webTests" || body["step"] != 1.0 {
		t.Errorf("challenge of %v step %v, want webTests step 1", body["securityTest"], body["step"])
	}
	x := xsrf(t, body)
	if status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"alice-password"}`, x...); status != http.StatusOK {
		t.Fatalf("answer: %d %v, want 200", status, body)
	}
	status, body, _ = r.do("POST", path, "{}", x...)
	if id, _ := body["identity"].(map[string]any); status != http.StatusOK || body["status"] != "success" || id["userId"] != "alice" {
		t.Errorf("login when logged in: %d %v, want 200 with alice's identity", status, body)
	}
	if status, body, _ := r.do("POST", path, "{}"); status != http.StatusForbidden || body["error"] != "xsrf_token_mismatch" {
		t.Errorf("login without WL-Instance-Id: %d %v, want 403 xsrf_token_mismatch", status, body)
	}
	if status, body, _ := r.do("POST", path, "not json", x...); status != http.StatusBadRequest {
		t.Errorf("login with a body that is not JSON: %d %v, want 400", status, body)
	}

	fresh := newRaw(t, d, "mobilewebapp", "2.1.0")
	status, body, hdr := fresh.do("POST", "/api/v1/login/wl_deviceNoProvisioningRealm", "")
	if msg, _ := body["message"].(string); status != http.StatusForbidden || body["error"] != "login_not_allowed" || !strings.Contains(msg, "login module") {
		t.Errorf("login to a device realm: %d %v, want 403 login_not_allowed saying which realms can", status, body)
	}
	if c := hdr.Get("Set-Cookie"); c != "" {
		t.Errorf("a refused login set a cookie: %s", c)
	}
	if status, body, _ := fresh.do("POST", "/api/v1/login/NoSuchRealm", ""); status != http.StatusNotFound || body["error"] != "unknown_realm" {
		t.Errorf("login to an unknown realm: %d %v, want 404 unknown_realm", status, body)
	}
	if status, _, hdr := fresh.do("GET", path, ""); status != http.StatusMethodNotAllowed || hdr.Get("Allow") != "POST" {
		t.Errorf("GET %s: %d, Allow %q: want 405, POST", path, status, hdr.Get("Allow"))
	}
}

// TestOnDemandLoginRateLimited: a login request without a session makes one, and spends a
// token of its client's bucket as any request that makes a session.
func TestOnDemandLoginRateLimited(t *testing.T) {
	d, _ := startTuned(t, func(s *daemon.Settings) {
		s.Limits.AnswersPerClient, s.Limits.ClientBurst = 0.01, 3
	})
	var got []string
	for range 4 {
		status, body, hdr := newRaw(t, d, "mobilewebapp", "2.1.0").do("POST", "/api/v1/login/BankLogin", "")
		got = append(got, outcome(status, body)+retryAfter(t, hdr, 100))
	}
	if diff := cmp.Diff([]string{"401", "401", "401", "429 rate_limited, Retry-After 1..100 s"}, got); diff != "" {
		t.Errorf("login requests without a session (-want +got):\n%s", diff)
	}
}

// TestProtocolDocOnDemandLogin runs the curl example of docs/protocol.md ("Logging in on
// demand") against the example project: the login request, the answer, and the login
// request again, which reports alice's identity.
func TestProtocolDocOnDemandLogin(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
			t.Fatal("curl is missing (.ci/install-curl.sh installs it)")
		}
		t.Skip("curl is missing (.ci/install-curl.sh installs it)")
	}
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "### Logging in on demand")
	_, rest, ok2 := strings.Cut(section, "```sh\n")
	block, _, ok3 := strings.Cut(rest, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal(`docs/protocol.md has no sh block under "### Logging in on demand"`)
	}
	d := startDaemon(t, exampleDir, "")
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HOSTD="+baseURL(d))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the example failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{
		`{"identity":{"displayName":"alice","realm":"BankLogin","userId":"alice"},"realm":"BankLogin","status":"success"}`,
		`{"identity":{"displayName":"alice","realm":"BankLogin","userId":"alice"},"realm":"BankLogin","status":"success"}`,
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("the example's output (-want +got):\n%s", diff)
	}
}
