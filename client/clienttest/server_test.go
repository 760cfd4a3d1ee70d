package clienttest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests speak raw HTTP to the fake server, so the server is checked against the wire
// protocol independently of package client.

func config() Config {
	return Config{
		Tests: map[string][][]string{
			"web":     {{RealmAntiXSRF}},
			"twoStep": {{RealmAntiXSRF, RealmDeviceNoProvisioning}, {"form"}},
			"rd":      {{RealmRemoteDisable}},
		},
		InitTest: "web",
		Procedures: map[string]Procedure{
			"a/p":  {SecurityTest: "twoStep", Run: func(p []json.RawMessage) (any, error) { return len(p), nil }},
			"a/rd": {SecurityTest: "rd", Run: func([]json.RawMessage) (any, error) { return "ok", nil }},
		},
		Login: map[string]LoginRealm{"form": {Authenticator: "form", Users: map[string]string{"alice": "secret"}}},
	}
}

// rawClient keeps cookies and the app context, nothing else.
type rawClient struct {
	t    *testing.T
	hc   *http.Client
	base string
	hdr  map[string]string
}

func newRaw(t *testing.T, s *Server) *rawClient {
	jar, _ := cookiejar.New(nil)
	return &rawClient{t: t, hc: &http.Client{Jar: jar}, base: s.URL,
		hdr: map[string]string{"WL-App-Id": "sample", "WL-App-Environment": "android", "WL-App-Version": "1.0"}}
}

type answer struct {
	Status int
	Body   map[string]any
}

func (c *rawClient) do(method, path, body string, extra ...string) answer {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("%s %s: body %q is not a JSON object", method, path, b)
	}
	return answer{resp.StatusCode, m}
}

func challenges(a answer) map[string]any {
	ch, _ := a.Body["challenges"].(map[string]any)
	return ch
}

func TestAppContext(t *testing.T) {
	t.Parallel()
	s := NewServer(t, config())
	c := newRaw(t, s)
	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		code   string
	}{
		{"missing", map[string]string{"WL-App-Id": ""}, 400, "missing_app_context"},
		{"unknown app", map[string]string{"WL-App-Id": "other"}, 404, "unknown_application"},
		{"unknown env", map[string]string{"WL-App-Environment": "iphone"}, 404, "unknown_application"},
	}
	for _, tt := range tests {
		c.hdr = map[string]string{"WL-App-Id": "sample", "WL-App-Environment": "android", "WL-App-Version": "1.0"}
		for k, v := range tt.hdr {
			c.hdr[k] = v
		}
		got := c.do("GET", "/api/v1/session", "")
		if diff := cmp.Diff([2]any{tt.status, tt.code}, [2]any{got.Status, got.Body["error"]}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestCookies(t *testing.T) {
	t.Parallel()
	s := NewServer(t, config())
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/session", nil)
	req.Header.Set("WL-App-Id", "sample")
	req.Header.Set("WL-App-Environment", "android")
	req.Header.Set("WL-App-Version", "1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := map[string][3]any{}
	for _, ck := range resp.Cookies() {
		got[ck.Name] = [3]any{ck.HttpOnly, ck.SameSite, ck.MaxAge}
	}
	want := map[string][3]any{
		"WL_SESSION":           {true, http.SameSiteStrictMode, 0},
		"WL_PERSISTENT_COOKIE": {true, http.SameSite(0), 365 * 24 * 3600},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cookies (-want +got):\n%s", diff)
	}
}

func TestTwoStepDance(t *testing.T) {
	t.Parallel()
	s := NewServer(t, config())
	c := newRaw(t, s)

	// No session yet: nothing to answer.
	if got := c.do("POST", "/api/v1/auth/form", `{}`); got.Status != 409 || got.Body["error"] != "no_challenge" {
		t.Fatalf("answer before any challenge: %+v", got)
	}
	first := c.do("POST", "/api/v1/adapters/a/p", `{"parameters":[1,2]}`)
	ch := challenges(first)
	if first.Status != 401 || first.Body["step"] != 1.0 || first.Body["securityTest"] != "twoStep" || len(ch) != 2 {
		t.Fatalf("first reply: %+v", first)
	}
	tok := ch[RealmAntiXSRF].(map[string]any)["WL-Instance-Id"].(string)
	nonce := ch[RealmDeviceNoProvisioning].(map[string]any)["token"].(string)

	// Without the instance id the anti-XSRF realm is still challenged; with another, too.
	if got := c.do("POST", "/api/v1/auth/"+RealmAntiXSRF, `{}`, "WL-Instance-Id", "other"); got.Status != 401 {
		t.Errorf("anti-XSRF answer with a wrong id: %+v", got)
	}
	if got := c.do("POST", "/api/v1/auth/"+RealmAntiXSRF, `{}`, "WL-Instance-Id", tok); got.Status != 200 || got.Body["status"] != "success" {
		t.Errorf("anti-XSRF answer: %+v", got)
	}
	c.hdr["WL-Instance-Id"] = tok
	bad := c.do("POST", "/api/v1/auth/"+RealmDeviceNoProvisioning, `{"token":"nope","device":{"id":"d"}}`)
	if bad.Status != 401 || challenges(bad)[RealmDeviceNoProvisioning].(map[string]any)["error"] == nil {
		t.Errorf("wrong nonce: %+v", bad)
	}
	if fresh := challenges(bad)[RealmDeviceNoProvisioning].(map[string]any)["token"].(string); fresh == nonce {
		t.Errorf("the challenge after a wrong answer reuses nonce %s", nonce)
	} else {
		nonce = fresh
	}
	dev := c.do("POST", "/api/v1/auth/"+RealmDeviceNoProvisioning, `{"token":"`+nonce+`","device":{"id":"d","os":"android"}}`)
	if diff := cmp.Diff(answer{200, map[string]any{"realm": RealmDeviceNoProvisioning, "status": "success", "identity": map[string]any{"id": "d", "os": "android"}}}, dev); diff != "" {
		t.Errorf("device answer (-want +got):\n%s", diff)
	}
	// The nonce is single-use.
	if got := c.do("POST", "/api/v1/auth/"+RealmDeviceNoProvisioning, `{"token":"`+nonce+`","device":{"id":"d"}}`); got.Status != 409 {
		t.Errorf("reused nonce: %+v", got)
	}

	second := c.do("POST", "/api/v1/adapters/a/p", `{"parameters":[1,2]}`)
	if second.Status != 401 || second.Body["step"] != 2.0 || len(challenges(second)) != 1 {
		t.Fatalf("second reply: %+v", second)
	}
	if got := c.do("POST", "/api/v1/auth/form", `{"j_username":"alice","j_password":"secret"}`); got.Status != 200 {
		t.Fatalf("j_ form answer: %+v", got)
	}
	if diff := cmp.Diff(answer{200, map[string]any{"isSuccessful": true, "result": 2.0}}, c.do("POST", "/api/v1/adapters/a/p", `{"parameters":[1,2]}`)); diff != "" {
		t.Errorf("procedure (-want +got):\n%s", diff)
	}
	if got := c.do("POST", "/api/v1/logout/form", `{}`); got.Body["status"] != "logged_out" {
		t.Errorf("logout: %+v", got)
	}
	if got := c.do("POST", "/api/v1/adapters/a/p", `{"parameters":[]}`); got.Status != 401 || got.Body["step"] != 2.0 {
		t.Errorf("after logout: %+v", got)
	}
}

func TestAttemptLimit(t *testing.T) {
	t.Parallel()
	s := NewServer(t, config())
	c := newRaw(t, s)
	// Pass step 1 so that step 2 challenges the form realm.
	ch := challenges(c.do("POST", "/api/v1/adapters/a/p", `{}`))
	c.hdr["WL-Instance-Id"] = ch[RealmAntiXSRF].(map[string]any)["WL-Instance-Id"].(string)
	n := ch[RealmDeviceNoProvisioning].(map[string]any)["token"].(string)
	c.do("POST", "/api/v1/auth/"+RealmDeviceNoProvisioning, `{"token":"`+n+`","device":{"id":"d"}}`)
	if a := c.do("POST", "/api/v1/adapters/a/p", `{}`); challenges(a)["form"] == nil {
		t.Fatalf("step 2 not challenged: %+v", a)
	}
	var got []any
	for range 6 {
		a := c.do("POST", "/api/v1/auth/form", `{"username":"alice","password":"x"}`)
		if a.Status == 401 {
			got = append(got, challenges(a)["form"].(map[string]any)["remainingAttempts"])
		} else {
			got = append(got, a.Body["error"])
		}
	}
	want := []any{4.0, 3.0, 2.0, 1.0, "too_many_attempts", "too_many_attempts"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replies to wrong answers (-want +got):\n%s", diff)
	}
	// Bad bodies and unknown realms.
	if a := c.do("POST", "/api/v1/auth/form", `not json`); a.Status != 400 {
		t.Errorf("bad body: %+v", a)
	}
	if a := c.do("POST", "/api/v1/auth/nosuch", `{}`); a.Status != 404 || a.Body["error"] != "unknown_realm" {
		t.Errorf("unknown realm: %+v", a)
	}
	if a := c.do("POST", "/api/v1/auth/form", strings.Repeat(" ", maxBody+1)); a.Status != 413 {
		t.Errorf("large body: %+v", a)
	}
}

func TestRemoteDisableRules(t *testing.T) {
	t.Parallel()
	s := NewServer(t, config())
	c := newRaw(t, s)
	s.SetRemoteDisable(&Rule{Action: "block", Versions: []string{"1.0"}, Message: "update", DownloadLink: "https://x.example/app"})
	want := answer{403, map[string]any{"error": "application_disabled", "message": "update", "downloadLink": "https://x.example/app"}}
	if diff := cmp.Diff(want, c.do("GET", "/api/v1/session", "")); diff != "" {
		t.Errorf("blocked (-want +got):\n%s", diff)
	}
	c.hdr["WL-App-Version"] = "2.0"
	if got := c.do("GET", "/api/v1/session", ""); got.Status != 200 {
		t.Errorf("other version: %+v", got)
	}
	s.SetRemoteDisable(&Rule{Action: "notify", Message: "hello", MessageID: "m1"})
	ch := challenges(c.do("POST", "/api/v1/adapters/a/rd", `{}`))
	if diff := cmp.Diff(map[string]any{RealmRemoteDisable: map[string]any{"action": "notify", "message": "hello", "messageId": "m1"}}, ch); diff != "" {
		t.Errorf("notify challenge (-want +got):\n%s", diff)
	}
	if got := c.do("POST", "/api/v1/auth/"+RealmRemoteDisable, `{"acknowledged":true,"messageId":"m1"}`); got.Status != 200 {
		t.Errorf("acknowledgement: %+v", got)
	}
	if got := c.do("POST", "/api/v1/adapters/a/rd", `{}`); got.Status != 200 {
		t.Errorf("after acknowledgement: %+v", got)
	}
}

func TestConfigMistakes(t *testing.T) {
	t.Parallel()
	tests := map[string]func(*Config){
		"unknown realm":  func(c *Config) { c.Tests["x"] = [][]string{{"nosuch"}} },
		"unknown test":   func(c *Config) { c.InitTest = "nosuch" },
		"bad auth":       func(c *Config) { c.Login["form"] = LoginRealm{Authenticator: "magic"} },
		"header no name": func(c *Config) { c.Login["form"] = LoginRealm{Authenticator: "header"} },
	}
	for name, edit := range tests {
		cfg := config()
		edit(&cfg)
		if s, err := Start(cfg); err == nil {
			s.Close()
			t.Errorf("%s: Start accepted the config", name)
		}
	}
}

// A login rotates the session id; the old id then opens a new, empty session. Answers must carry
// the anti-XSRF token once the session has one.
func TestSessionRotationAndAnswerXSRF(t *testing.T) {
	t.Parallel()
	s := NewServer(t, config())
	c := newRaw(t, s)
	ch := challenges(c.do("POST", "/api/v1/adapters/a/p", `{}`))
	tok := ch[RealmAntiXSRF].(map[string]any)["WL-Instance-Id"].(string)
	n := ch[RealmDeviceNoProvisioning].(map[string]any)["token"].(string)
	device := `{"token":"` + n + `","device":{"id":"d"}}`
	if a := c.do("POST", "/api/v1/auth/"+RealmDeviceNoProvisioning, device); a.Status != 403 || a.Body["error"] != "xsrf_token_mismatch" {
		t.Fatalf("answer without WL-Instance-Id: %+v", a)
	}
	c.hdr["WL-Instance-Id"] = tok
	c.do("POST", "/api/v1/auth/"+RealmDeviceNoProvisioning, device)
	c.do("POST", "/api/v1/adapters/a/p", `{}`)

	u, _ := url.Parse(s.URL)
	sessionID := func() string {
		for _, ck := range c.hc.Jar.Cookies(u) {
			if ck.Name == "WL_SESSION" {
				return ck.Value
			}
		}
		return ""
	}
	before := sessionID()
	if a := c.do("POST", "/api/v1/auth/form", `{"username":"alice","password":"secret"}`); a.Status != 200 {
		t.Fatalf("login: %+v", a)
	}
	after := sessionID()
	if before == "" || after == before {
		t.Fatalf("session id %q not rotated (now %q)", before, after)
	}
	if a := c.do("POST", "/api/v1/adapters/a/p", `{"parameters":[1]}`); a.Status != 200 {
		t.Errorf("call with the rotated id: %+v", a)
	}
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "WL_SESSION", Value: before, Path: "/"}})
	if a := c.do("GET", "/api/v1/session", ""); len(a.Body["realms"].(map[string]any)) != 0 || sessionID() == before {
		t.Errorf("the old id still opens the session: %+v", a)
	}
	if got := s.Sessions(); got != 2 {
		t.Errorf("%d sessions opened, want 2 (the first, and one for the stale id)", got)
	}
}
