package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

const (
	exampleDir = "../examples/banking"
	adminToken = "test-admin-token-0123456789"
	app        = "BankApp"
)

// startDaemon starts hostd in-process on 127.0.0.1 with a fresh (or the given) data folder.
func startDaemon(t *testing.T, dir, data string) *daemon.Daemon {
	t.Helper()
	if data == "" {
		data = t.TempDir()
	}
	s, err := daemon.LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Listen = "127.0.0.1:0"
	s.Data = data
	// Compiled wasm modules are shared by every daemon of the test run (compiling a Go guest
	// takes seconds, more under the race detector).
	s.AdapterCacheDir = adaptertest.CompilationCacheDir(t)
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: s, AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d
}

func baseURL(d *daemon.Daemon) string { return "http://" + d.Addr() }

// newClient is a client of the example app with alice's credentials for BankLogin and her PIN.
func newClient(t *testing.T, d *daemon.Daemon, env, version string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{
		BaseURL: baseURL(d), AppID: app, Environment: env, AppVersion: version,
		Device: &client.DeviceInfo{ID: "device-" + env, OS: env, Model: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	c.RegisterHandler("PinRealm", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "1234"}})
	return c
}

// raw is a bare HTTP client with a cookie jar, for checking the wire itself.
type raw struct {
	t       *testing.T
	base    string
	hc      *http.Client
	headers map[string]string
}

func newRaw(t *testing.T, d *daemon.Daemon, env, version string) *raw {
	jar, _ := cookiejar.New(nil)
	return &raw{t: t, base: baseURL(d), hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}, headers: map[string]string{
		"WL-App-Id": app, "WL-App-Environment": env, "WL-App-Version": version,
	}}
}

func (r *raw) do(method, path, body string, extra ...string) (int, map[string]any, http.Header) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &m); err != nil {
			r.t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func challenges(m map[string]any) map[string]any {
	c, _ := m["challenges"].(map[string]any)
	return c
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestAntiXSRFDance(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	status, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}")
	if status != 401 {
		t.Fatalf("first request: status %d, want 401", status)
	}
	token, _ := challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)
	if len(token) < 22 {
		t.Fatalf("challenge carries no WL-Instance-Id: %v", body)
	}
	// Without the header, or with another token, the server asks again.
	for _, hdr := range [][]string{nil, {"WL-Instance-Id", "forged-" + token}} {
		status, body, _ = r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", hdr...)
		if status != 401 || challenges(body)["wl_antiXSRFRealm"] == nil {
			t.Fatalf("request with header %v: status %d body %v, want the anti-XSRF challenge again", hdr, status, body)
		}
	}
	// With it, the anti-XSRF realm is passed and the user realm of the same step is still challenged.
	status, body, _ = r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", "WL-Instance-Id", token)
	if status != 401 {
		t.Fatalf("status %d, want 401 for the login step", status)
	}
	if diff := cmp.Diff([]string{"BankLogin"}, keys(challenges(body))); diff != "" {
		t.Errorf("challenged realms (-want +got):\n%s", diff)
	}
	// An answer without the header is refused even with the right password.
	status, body, _ = r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"alice-password"}`)
	if status != 403 || body["error"] != "xsrf_token_mismatch" {
		t.Fatalf("answer without WL-Instance-Id: status %d body %v", status, body)
	}
}

// TestPredefinedTestsAreOneStep: Worklight documents a webSecurityTest and a mobileSecurityTest as
// custom tests without step attributes, so one step. A client that answers every realm of the first
// challenge, as the protocol shows it, is never told "no pending challenge".
func TestPredefinedTestsAreOneStep(t *testing.T) {
	cases := []struct {
		env    string
		realms []string // challenged together in step 1 of 1
	}{
		{"mobilewebapp", []string{"BankLogin", "wl_antiXSRFRealm"}},
		{"android", []string{"BankLogin", "wl_antiXSRFRealm", "wl_deviceNoProvisioningRealm"}},
	}
	d := startDaemon(t, exampleDir, "")
	for _, tc := range cases {
		t.Run(tc.env, func(t *testing.T) {
			r := newRaw(t, d, tc.env, "2.1.0")
			initPath := "/api/v1/apps/BankApp/" + tc.env + "/init"
			status, body, _ := r.do("POST", initPath, "{}")
			if status != 401 || body["step"] != 1.0 {
				t.Fatalf("first request: status %d body %v, want 401 step 1", status, body)
			}
			if diff := cmp.Diff(tc.realms, keys(challenges(body))); diff != "" {
				t.Errorf("first challenge's realms (-want +got):\n%s", diff)
			}
			token := challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)
			x := []string{"WL-Instance-Id", token}
			answers := map[string]string{"BankLogin": `{"username":"alice","password":"alice-password"}`}
			if c, ok := challenges(body)["wl_deviceNoProvisioningRealm"].(map[string]any); ok {
				answers["wl_deviceNoProvisioningRealm"] = fmt.Sprintf(`{"token":%q,"device":{"id":"d1","os":"android","model":"test","displayName":"d1"}}`, c["token"])
			}
			for _, realm := range tc.realms {
				if realm == "wl_antiXSRFRealm" {
					continue // answered by the header
				}
				status, body, _ := r.do("POST", "/api/v1/auth/"+realm, answers[realm], x...)
				if status != 200 || body["status"] != "success" {
					t.Fatalf("answer %s: status %d body %v, want 200 success", realm, status, body)
				}
			}
			status, body, _ = r.do("POST", initPath, "{}", x...)
			if status != 200 {
				t.Fatalf("init after answering the first challenge: status %d body %v", status, body)
			}
		})
	}
}

func TestTwoStepCustomTest(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	r := newRaw(t, d, "android", "2.1.0")
	status, body, _ := r.do("POST", "/api/v1/adapters/Accounts/transfer", `{"parameters":[{"amount":10}]}`)
	if status != 401 {
		t.Fatalf("status %d, want 401", status)
	}
	// Step 1 challenges its realms together, and nothing of step 2.
	if diff := cmp.Diff([]string{"BankLogin", "wl_antiXSRFRealm"}, keys(challenges(body))); diff != "" {
		t.Errorf("step 1 realms (-want +got):\n%s", diff)
	}
	if body["step"] != 1.0 || body["securityTest"] != "transferTests" {
		t.Errorf("challenge head: %v", body)
	}
	token := challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)
	x := []string{"WL-Instance-Id", token}
	// The PIN realm was not challenged yet: answering it is a conflict.
	status, body, _ = r.do("POST", "/api/v1/auth/PinRealm", `{"username":"alice","password":"1234"}`, x...)
	if status != 409 || body["error"] != "no_challenge" {
		t.Fatalf("PIN before step 2: status %d body %v, want 409 no_challenge", status, body)
	}
	status, body, _ = r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"alice-password"}`, x...)
	if status != 200 || body["status"] != "success" {
		t.Fatalf("login: status %d body %v", status, body)
	}
	status, body, _ = r.do("POST", "/api/v1/adapters/Accounts/transfer", `{"parameters":[{"amount":10}]}`, x...)
	if status != 401 || body["step"] != 2.0 {
		t.Fatalf("after step 1: status %d body %v, want the step 2 challenge", status, body)
	}
	if diff := cmp.Diff([]string{"PinRealm"}, keys(challenges(body))); diff != "" {
		t.Errorf("step 2 realms (-want +got):\n%s", diff)
	}
	status, _, _ = r.do("POST", "/api/v1/auth/PinRealm", `{"username":"alice","password":"1234"}`, x...)
	if status != 200 {
		t.Fatalf("PIN: status %d", status)
	}
	// Every realm passed: the procedure runs in the wasm adapter, with the user's identity.
	status, body, _ = r.do("POST", "/api/v1/adapters/Accounts/transfer", `{"parameters":[{"amount":10,"to":"bob"}]}`, x...)
	want := map[string]any{"isSuccessful": true, "result": map[string]any{"transferred": 10.0, "to": "bob", "from": "alice"}}
	if diff := cmp.Diff(want, body); status != 200 || diff != "" {
		t.Fatalf("after both steps: status %d, body (-want +got):\n%s", status, diff)
	}
}

func TestClientWalksMobileTestAndReadsIdentities(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	c := newClient(t, d, "android", "2.1.0")
	res, err := c.Init(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.SecurityTest != "mobileTests" {
		t.Errorf("security test %q, want mobileTests", res.SecurityTest)
	}
	if res.User["userId"] != "alice" || res.Device["id"] != "device-android" {
		t.Errorf("identities: user %v device %v", res.User, res.Device)
	}
	info, err := c.Session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"BankLogin", "wl_antiXSRFRealm", "wl_deviceNoProvisioningRealm"}, sortedRealms(info)); diff != "" {
		t.Errorf("session realms (-want +got):\n%s", diff)
	}
	// Logging out of the user realm makes the next request challenge it again.
	logins := 0
	c.RegisterHandler("BankLogin", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		logins++
		return client.Credentials{Username: "bob", Password: "bob-password"}, nil
	}})
	if _, err := c.Init(context.Background()); err != nil || logins != 0 {
		t.Fatalf("init before logout: err %v, %d logins (want 0: still logged in)", err, logins)
	}
	if err := c.Logout(context.Background(), "BankLogin"); err != nil {
		t.Fatal(err)
	}
	res, err = c.Init(context.Background())
	if err != nil || logins != 1 || res.User["userId"] != "bob" {
		t.Fatalf("init after logout: err %v, %d logins, user %v; want one new login as bob", err, logins, res.User)
	}
}

func sortedRealms(info *client.SessionInfo) []string {
	var out []string
	for k := range info.Realms {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestWebAndMobileEnvironmentsOfOneApp(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	tests := []struct {
		env, wantTest string
		wantDevice    bool
	}{
		{"android", "mobileTests", true},
		{"iphone", "mobileTests", true},
		{"mobilewebapp", "webTests", false},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			c := newClient(t, d, tc.env, "2.1.0")
			res, err := c.Init(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.SecurityTest != tc.wantTest {
				t.Errorf("test %q, want %q", res.SecurityTest, tc.wantTest)
			}
			if got := res.Device != nil; got != tc.wantDevice {
				t.Errorf("device identity present = %v, want %v (%v)", got, tc.wantDevice, res.Device)
			}
		})
	}
}

func TestFormLoginWrongThenRight(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	var prompts []client.LoginPrompt
	c.RegisterHandler("BankLogin", &client.LoginHandler{Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
		prompts = append(prompts, p)
		if p.Attempt == 1 {
			return client.Credentials{Username: "alice", Password: "not-her-password"}, nil
		}
		return client.Credentials{Username: "alice", Password: "alice-password"}, nil
	}})
	res, err := c.Init(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.User["userId"] != "alice" {
		t.Errorf("user %v", res.User)
	}
	if len(prompts) != 2 {
		t.Fatalf("%d prompts, want 2", len(prompts))
	}
	if prompts[1].Error == "" || prompts[1].RemainingAttempts == nil || *prompts[1].RemainingAttempts != 4 {
		t.Errorf("second prompt %+v: want the server's error and 4 remaining attempts", prompts[1])
	}
}

func TestAttemptLimit(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	_, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}")
	x := []string{"WL-Instance-Id", challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)}
	r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", x...) // draws the BankLogin challenge
	var statuses []int
	for i := 0; i < 6; i++ {
		status, _, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"guess"}`, x...)
		statuses = append(statuses, status)
	}
	if diff := cmp.Diff([]int{401, 401, 401, 401, 429, 429}, statuses); diff != "" {
		t.Errorf("statuses of wrong answers (-want +got):\n%s", diff)
	}
	// Even the right password is refused now in this session.
	status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"alice-password"}`, x...)
	if status != 429 || body["error"] != "too_many_attempts" {
		t.Errorf("right password after the limit: %d %v", status, body)
	}
	// The client SDK reports the limit as a typed error.
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	c.RegisterHandler("BankLogin", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		return client.Credentials{Username: "alice", Password: "guess"}, nil
	}})
	if _, err := c.Init(context.Background()); !errors.Is(err, client.ErrTooManyAttempts) {
		t.Errorf("client error %v, want ErrTooManyAttempts", err)
	}
}

// admin sends an admin API request.
func admin(t *testing.T, d *daemon.Daemon, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, baseURL(d)+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestRemoteDisableNotifyAndBlock(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	status, _ := admin(t, d, "PUT", "/admin/v1/apps/BankApp/android/remote-disable",
		`{"rules":[{"versions":"<3.0.0","action":"notify","message":"Maintenance on Sunday","messageId":"m1"}]}`, adminToken)
	if status != 200 {
		t.Fatalf("PUT rules: %d", status)
	}
	var notices []client.Notice
	c, _ := client.New(client.Config{BaseURL: baseURL(d), AppID: app, Environment: "android", AppVersion: "2.1.0",
		Device:   &client.DeviceInfo{ID: "dev-n"},
		OnNotify: func(_ context.Context, n client.Notice) error { notices = append(notices, n); return nil }})
	c.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "bob", Password: "bob-password"}})
	if _, err := c.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || notices[0].Message != "Maintenance on Sunday" || notices[0].MessageID != "m1" {
		t.Errorf("notices %+v", notices)
	}
	// Acknowledged once per session: the next request is not challenged again.
	if _, err := c.Init(context.Background()); err != nil || len(notices) != 1 {
		t.Errorf("second init: err %v, %d notices", err, len(notices))
	}

	// Block versions before 2.0.0 only.
	admin(t, d, "PUT", "/admin/v1/apps/BankApp/android/remote-disable",
		`{"rules":[{"versions":"<2.0.0","action":"block","message":"Please update","downloadLink":"https://example.com/bank.apk"}]}`, adminToken)
	old := newClient(t, d, "android", "1.4.0")
	_, err := old.Init(context.Background())
	var ce *client.Error
	if !errors.Is(err, client.ErrApplicationDisabled) || !errors.As(err, &ce) || ce.Status != 403 || ce.DownloadLink != "https://example.com/bank.apk" || ce.Message != "Please update" {
		t.Errorf("old version: %v (%+v), want 403 application_disabled with the download link", err, ce)
	}
	if _, err := newClient(t, d, "android", "2.1.0").Init(context.Background()); err != nil {
		t.Errorf("current version: %v", err)
	}

	status, rules := admin(t, d, "GET", "/admin/v1/apps/BankApp/android/remote-disable", "", adminToken)
	if status != 200 || len(rules["rules"].([]any)) != 1 {
		t.Errorf("GET rules: %d %v", status, rules)
	}
	admin(t, d, "DELETE", "/admin/v1/apps/BankApp/android/remote-disable", "", adminToken)
	if _, err := newClient(t, d, "android", "1.4.0").Init(context.Background()); err != nil {
		t.Errorf("after DELETE: %v", err)
	}
	_, audit := admin(t, d, "GET", "/admin/v1/audit", "", adminToken)
	var actions []string
	for _, rec := range audit["records"].([]any) {
		if a := rec.(map[string]any)["action"].(string); a == "remote_disable.put" {
			actions = append(actions, a)
		}
	}
	if len(actions) != 3 {
		t.Errorf("audited remote-disable changes: %d, want 3", len(actions))
	}
}

func TestAdminAPIAuthAndListing(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	if status, _ := admin(t, d, "GET", "/admin/v1/security-tests", "", ""); status != 401 {
		t.Errorf("no token: %d, want 401", status)
	}
	if status, _ := admin(t, d, "GET", "/admin/v1/security-tests", "", "wrong-token-wrong-token"); status != 401 {
		t.Errorf("wrong token: %d, want 401", status)
	}
	status, body := admin(t, d, "GET", "/admin/v1/security-tests", "", adminToken)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	got := map[string]any{}
	for _, v := range body["securityTests"].([]any) {
		m := v.(map[string]any)
		got[m["name"].(string)] = m["steps"]
	}
	want := map[string]any{
		"mobileTests":                  []any{[]any{"wl_antiXSRFRealm", "wl_remoteDisableRealm", "BankLogin", "wl_deviceNoProvisioningRealm"}},
		"webTests":                     []any{[]any{"wl_antiXSRFRealm", "BankLogin"}},
		"offersTests":                  []any{[]any{"wl_antiXSRFRealm", "wl_anonymousUserRealm"}},
		"transferTests":                []any{[]any{"wl_antiXSRFRealm", "BankLogin"}, []any{"PinRealm"}},
		"wl_defaultMobileSecurityTest": []any{[]any{"wl_antiXSRFRealm", "wl_remoteDisableRealm", "wl_anonymousUserRealm", "wl_deviceNoProvisioningRealm"}},
		"wl_defaultWebSecurityTest":    []any{[]any{"wl_antiXSRFRealm", "wl_anonymousUserRealm"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("security tests (-want +got):\n%s", diff)
	}
	if status, _ := admin(t, d, "PUT", "/admin/v1/apps/BankApp/android/remote-disable", `{"rules":[{"action":"explode","message":"x"}]}`, adminToken); status != 400 {
		t.Errorf("bad rule: %d, want 400", status)
	}
	if status, _ := admin(t, d, "PUT", "/admin/v1/apps/NoApp/android/remote-disable", `{"rules":[]}`, adminToken); status != 404 {
		t.Errorf("unknown app: %d, want 404", status)
	}
}

func TestAdminAPIOffWithoutToken(t *testing.T) {
	s, _ := daemon.LoadSettings(exampleDir)
	s.Listen, s.Data, s.AdapterCacheDir = "127.0.0.1:0", t.TempDir(), adaptertest.CompilationCacheDir(t)
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: exampleDir, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	if status, _ := admin(t, d, "GET", "/admin/v1/security-tests", "", adminToken); status != 404 {
		t.Errorf("admin API without a configured token: %d, want 404", status)
	}
}

func TestStaticResourcePattern(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	resp, err := c.Get(context.Background(), "/statements/2026-11.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Closing balance") {
		t.Errorf("statement: %d %q", resp.StatusCode, b)
	}
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/statements/2026-11.txt", 401},       // protected by webTests
		{"/statements/../hostd.yaml", 404},     // cleaned to /hostd.yaml: not a static resource
		{"/elsewhere/2026-11.txt", 404},        // no pattern matches
		{"/statements/%2e%2e/hostd.yaml", 404}, // encoded traversal
	} {
		if status, _, _ := r.do("GET", tc.path, ""); status != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, status, tc.want)
		}
	}
}

func TestPolicyStepUpAndDeny(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	c := newClient(t, d, "android", "2.1.0")
	ctx := context.Background()
	var ce *client.Error
	pins := 0
	c.RegisterHandler("PinRealm", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		pins++
		return client.Credentials{Username: "alice", Password: "1234"}, nil
	}})
	// A small bill passes the environment's test alone.
	out, err := c.InvokeProcedure(ctx, "Accounts", "payBill", map[string]any{"amount": 50, "payee": "power"})
	if err != nil || !strings.Contains(string(out), `"paid":50`) {
		t.Fatalf("small bill: %s %v", out, err)
	}
	if pins != 0 {
		t.Errorf("PIN asked %d times for a small bill, want 0", pins)
	}
	// A large one makes the policy require the PIN realm as an extra step.
	if out, err := c.InvokeProcedure(ctx, "Accounts", "payBill", map[string]any{"amount": 5000, "payee": "rent"}); err != nil || !strings.Contains(string(out), `"paid":5000`) {
		t.Fatalf("large bill: %s %v", out, err)
	}
	if pins != 1 {
		t.Errorf("PIN asked %d times, want 1 (step-up)", pins)
	}
	// Version 1.x may not transfer at all: the user policy denies with its message.
	old := newClient(t, d, "android", "1.9.0")
	_, err = old.InvokeProcedure(ctx, "Accounts", "transfer", map[string]any{"amount": 5})
	if !errors.As(err, &ce) || ce.Status != 403 || ce.Code != "policy_denied" || !strings.Contains(ce.Message, "versions before 2.0") {
		t.Errorf("old version transfer: %v", err)
	}
}

func TestPersistentCookieAcrossSessionsAndRestart(t *testing.T) {
	data := t.TempDir()
	d := startDaemon(t, exampleDir, data)
	r := newRaw(t, d, "android", "2.1.0")
	// The first request of a session already passes the anonymous realm, which sets the cookie.
	_, body, hdr := r.do("POST", "/api/v1/adapters/Accounts/getOffers", "{}")
	x := []string{"WL-Instance-Id", challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)}
	status, offers, _ := r.do("POST", "/api/v1/adapters/Accounts/getOffers", "{}", x...)
	if status != 200 {
		t.Fatalf("offers: %d %v", status, offers)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == "WL_PERSISTENT_COOKIE" {
			cookie = c
		}
	}
	if cookie == nil || cookie.MaxAge < 364*24*3600 || !cookie.HttpOnly {
		t.Fatalf("persistent cookie %+v, want a one-year HttpOnly cookie", cookie)
	}
	// The adapter sees the anonymous user's id, never the cookie (a bearer secret).
	anonID := engine.AnonymousUserID(cookie.Value)
	if res, _ := offers["result"].(map[string]any); res["for"] != anonID {
		t.Errorf("offers for %v, want the anonymous user %s", res["for"], anonID)
	}
	if raw, _ := json.Marshal(offers); strings.Contains(string(raw), cookie.Value) {
		t.Errorf("the adapter's answer holds the persistent cookie: %s", raw)
	}
	user := func(d *daemon.Daemon) string {
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: app, Environment: "android", AppVersion: "2.1.0", PersistentCookie: cookie.Value})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.InvokeProcedure(context.Background(), "Accounts", "getOffers")
		if err != nil || !strings.Contains(string(out), `"for":"`+anonID+`"`) || strings.Contains(string(out), cookie.Value) {
			t.Fatalf("offers: %s %v: want them for the cookie's user", out, err)
		}
		info, err := c.Session(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		id, _ := info.Realms["wl_anonymousUserRealm"].Identity["userId"].(string)
		return id
	}
	if got := user(d); got != anonID {
		t.Errorf("new session with the cookie: user %q, want %q", got, anonID)
	}
	d.Shutdown(context.Background())
	d2 := startDaemon(t, exampleDir, data)
	if got := user(d2); got != anonID {
		t.Errorf("after restart: user %q, want %q", got, anonID)
	}
}

func TestBadInput(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	r := newRaw(t, d, "android", "2.1.0")
	big := `{"parameters":["` + strings.Repeat("x", 2<<20) + `"]}`
	tests := []struct {
		name, method, path, body string
		headers                  []string
		want                     int
		code                     string
	}{
		{"bad json", "POST", "/api/v1/adapters/Accounts/getRates", `{"parameters":`, nil, 400, "bad_request"},
		{"parameters not a list", "POST", "/api/v1/adapters/Accounts/getRates", `{"parameters":7}`, nil, 400, "bad_request"},
		{"huge body", "POST", "/api/v1/adapters/Accounts/getRates", big, nil, 413, "payload_too_large"},
		{"unknown procedure", "POST", "/api/v1/adapters/Accounts/nosuch", `{}`, nil, 404, "not_found"},
		{"unknown adapter", "POST", "/api/v1/adapters/Nope/x", `{}`, nil, 404, "not_found"},
		{"unknown env", "POST", "/api/v1/apps/BankApp/android/init", `{}`, []string{"WL-App-Environment", "blackberry"}, 404, "unknown_application"},
		{"unknown app", "POST", "/api/v1/apps/Nope/android/init", `{}`, []string{"WL-App-Id", "Nope"}, 404, "unknown_application"},
		{"path and headers differ", "POST", "/api/v1/apps/BankApp/iphone/init", `{}`, nil, 400, "bad_request"},
		{"answer to unknown realm", "POST", "/api/v1/auth/NoSuchRealm", `{}`, nil, 404, "unknown_realm"},
		{"answer without session", "POST", "/api/v1/auth/BankLogin", `{"username":"a","password":"b"}`, nil, 409, "no_challenge"},
		{"answer not json", "POST", "/api/v1/auth/BankLogin", `username=a`, nil, 400, "bad_request"},
		{"unknown api", "GET", "/api/v1/nothing", ``, nil, 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := r.do(tc.method, tc.path, tc.body, tc.headers...)
			if status != tc.want || body["error"] != tc.code || body["message"] == "" {
				t.Errorf("status %d body %v, want %d %s with a message", status, body, tc.want, tc.code)
			}
		})
	}
	noCtx := &raw{t: t, base: baseURL(d), hc: http.DefaultClient, headers: map[string]string{}}
	if status, body, _ := noCtx.do("POST", "/api/v1/apps/BankApp/android/init", "{}"); status != 400 || body["error"] != "missing_app_context" {
		t.Errorf("no app context: %d %v", status, body)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(baseURL(d) + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
	newClient(t, d, "android", "2.1.0").Init(context.Background())
	resp, err := http.Get(baseURL(d) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`realmgate_decisions_total{outcome="allow",security_test="mobileTests"}`, `realmgate_http_requests_total{route="init",status="401"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<loginConfiguration>
  <securityTests>
    <customSecurityTest name="t">
      <test realm="nosuch" isInternalUserID="true" step="x"/>
    </customSecurityTest>
  </securityTests>
</loginConfiguration>`)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"check", "--config", dir}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1; output:\n%s%s", code, out.String(), errb.String())
	}
	want := filepath.Join(dir, "server/conf/authenticationConfig.xml") + `:4: error: bad step "x" for realm "nosuch"`
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	// An adapter backend of a kind no backend registered is refused with the known kinds.
	mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<loginConfiguration/>`)
	mustWrite(t, filepath.Join(dir, "adapters/A/A.xml"), `<adapter name="A">
  <backend kind="jvm"/>
  <procedure name="p"/>
</adapter>`)
	out.Reset()
	if code := run(context.Background(), []string{"check", "--config", dir}, &out, &errb); code != 1 ||
		!strings.Contains(out.String(), `A.xml:2: error: unknown adapter kind "jvm"; fix: use one of: js, plugin, wasm`) {
		t.Errorf("unknown kind: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "--config", exampleDir}, &out, &errb); code != 0 {
		t.Errorf("example project: exit %d\n%s", code, out.String())
	}
}

func TestPolicyCompileAndTestCommands(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"policy", "compile", "--config", exampleDir, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("compile: exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "realmgate/tests/transferTests.rego"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `["PinRealm"]`) || !strings.Contains(string(b), "package realmgate.tests.transferTests") {
		t.Errorf("compiled transferTests:\n%s", b)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"policy", "test", "--config", exampleDir}, &stdout, &stderr); code != 0 {
		t.Fatalf("policy test: exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "0 failed") {
		t.Errorf("policy test output: %s", stdout.String())
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAdminBlocksADevice(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	c := newClient(t, d, "android", "2.1.0")
	ctx := context.Background()
	if _, err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if st, body := admin(t, d, "PUT", "/admin/v1/devices/device-android/status", `{"status":"blocked"}`, adminToken); st != 200 {
		t.Fatalf("block: %d %v", st, body)
	}
	// The blocked device is refused at once, in its existing session and in a new one.
	var ce *client.Error
	if _, err := c.Init(ctx); !errors.As(err, &ce) || ce.Status != 403 || ce.Code != "device_blocked" {
		t.Fatalf("blocked device, same session: %v", err)
	}
	if _, err := newClient(t, d, "android", "2.1.0").Init(ctx); !errors.As(err, &ce) || ce.Code != "device_blocked" {
		t.Fatalf("blocked device, new session: %v", err)
	}
	if st, _ := admin(t, d, "PUT", "/admin/v1/devices/device-android/status", `{"status":"active"}`, adminToken); st != 200 {
		t.Fatal("unblock")
	}
	if _, err := newClient(t, d, "android", "2.1.0").Init(ctx); err != nil {
		t.Fatalf("unblocked device: %v", err)
	}
	if st, _ := admin(t, d, "PUT", "/admin/v1/devices/nosuch/status", `{"status":"blocked"}`, adminToken); st != 404 {
		t.Errorf("unknown device: %d, want 404", st)
	}
}

// TestUnprotectedEnvironment: wl_unprotected as an environment's securityTest loads (with a
// warning) and serves the environment without a challenge, as Worklight did.
func TestUnprotectedEnvironment(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	// The wasm adapter is built from source inside the module; init needs no adapter.
	if err := os.RemoveAll(filepath.Join(dir, "adapters", "Accounts")); err != nil {
		t.Fatal(err)
	}
	desc := filepath.Join(dir, "apps", "BankApp", "application-descriptor.xml")
	b, err := os.ReadFile(desc)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, desc, strings.Replace(string(b), `<mobileWebApp securityTest="webTests"/>`, `<mobileWebApp securityTest="wl_unprotected"/>`, 1))
	d := startDaemon(t, dir, "")
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	status, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}")
	if status != 200 || body["securityTest"] != "wl_unprotected" {
		t.Fatalf("init: status %d body %v, want 200 from the unprotected environment", status, body)
	}
	// The other environments keep their tests.
	r = newRaw(t, d, "android", "2.1.0")
	if status, body, _ := r.do("POST", "/api/v1/apps/BankApp/android/init", "{}"); status != 401 {
		t.Fatalf("android init: status %d body %v, want 401", status, body)
	}
}
