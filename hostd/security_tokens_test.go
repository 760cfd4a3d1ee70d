package main

// Attacks on secrets at rest, access tokens and session limits, each driven against a real
// daemon over HTTP on 127.0.0.1.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/resource"
)

// startDaemonWith starts hostd on dir like startDaemon, with the settings changed by mutate, and
// returns Start's error rather than failing: some attacks are refused at start.
func startDaemonWith(t *testing.T, dir, data, adminTok string, mutate func(*daemon.Settings)) (*daemon.Daemon, error) {
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
	s.AdapterCacheDir = adaptertest.CompilationCacheDir(t)
	if mutate != nil {
		mutate(&s)
	}
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: s, AdminToken: adminTok})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d, nil
}

func mustStart(t *testing.T, dir, data string, mutate func(*daemon.Settings)) *daemon.Daemon {
	t.Helper()
	d, err := startDaemonWith(t, dir, data, adminToken, mutate)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSecretFilesReadableByOthersAreRefused: a secret file that group or other users may read
// stops the daemon at start, with an error naming the file and the chmod that fixes it; after
// the chmod the daemon serves.
func TestSecretFilesReadableByOthersAreRefused(t *testing.T) {
	tests := []struct {
		name string
		// setup lays the secret out in data (and elsewhere) and returns its path, the admin token
		// to pass (empty: from a file) and the settings change that points at it.
		setup func(t *testing.T, data string) (path string, mutate func(*daemon.Settings))
	}{
		{"token signing keys", func(t *testing.T, data string) (string, func(*daemon.Settings)) {
			d := mustStart(t, exampleDir, data, nil) // generates the keys
			d.Shutdown(context.Background())
			return filepath.Join(data, "keys", "token-keys.json"), nil
		}},
		{"token signing keys in tokens.keysDir", func(t *testing.T, data string) (string, func(*daemon.Settings)) {
			dir := t.TempDir()
			mutate := func(s *daemon.Settings) { s.Tokens.KeysDir = dir }
			d := mustStart(t, exampleDir, data, mutate)
			d.Shutdown(context.Background())
			return filepath.Join(dir, "token-keys.json"), mutate
		}},
		{"admin token file", func(t *testing.T, data string) (string, func(*daemon.Settings)) {
			path := filepath.Join(t.TempDir(), "admin-token")
			if err := os.WriteFile(path, []byte(adminToken+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return path, func(s *daemon.Settings) { s.AdminTokenFile = path }
		}},
		{"provisioning CA key", func(t *testing.T, data string) (string, func(*daemon.Settings)) {
			dir := filepath.Join(t.TempDir(), "ca")
			if _, err := pki.InitCA(dir, pki.CAOptions{CommonName: "Test provisioning CA"}); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, pki.CAKeyFile), func(s *daemon.Settings) { s.Provisioning.CADir = dir }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			path, mutate := tc.setup(t, data)
			for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
				if err := os.Chmod(path, mode); err != nil {
					t.Fatal(err)
				}
				d, err := startDaemonWith(t, exampleDir, data, "", mutate)
				if err == nil {
					d.Shutdown(context.Background())
					t.Fatalf("mode %#o: the daemon started with %s readable by others", mode, path)
				}
				for _, want := range []string{path, "chmod 600 "} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("mode %#o: error %q does not name %q", mode, err, want)
					}
				}
			}
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := startDaemonWith(t, exampleDir, data, "", mutate)
			if err != nil {
				t.Fatalf("mode 0600: %v", err)
			}
			if status, body := admin(t, d, "GET", "/admin/v1/security-tests", "", adminToken); tc.name == "admin token file" && status != 200 {
				t.Errorf("admin API with the token of the file: %d %v", status, body)
			}
			if resp, err := http.Get(baseURL(d) + "/readyz"); err != nil || resp.StatusCode != 200 {
				t.Errorf("readyz: %v %v", err, resp)
			} else {
				resp.Body.Close()
			}
		})
	}
}

// TestDataFolderIsTightened: an existing data folder that others may list or enter is made
// private at start, before the store and keys are written into it.
func TestDataFolderIsTightened(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	d := mustStart(t, exampleDir, data, nil)
	fi, err := os.Stat(data)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data folder mode %#o after start, want 0700", perm)
	}
	if _, err := newClient(t, d, "android", "2.1.0").Init(context.Background()); err != nil {
		t.Errorf("init: %v", err)
	}
}

// cookieValue returns the value of the cookie name the raw client holds for the daemon.
func cookieValue(t *testing.T, r *raw, name string) string {
	t.Helper()
	u, _ := url.Parse(r.base)
	for _, c := range r.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no %s cookie", name)
	return ""
}

// rawLogin signs alice in with the raw client through webTests (anti-XSRF, then BankLogin) and
// returns the WL-Instance-Id header to send with later requests.
func rawLogin(t *testing.T, r *raw) []string {
	t.Helper()
	const init = "/api/v1/apps/BankApp/mobilewebapp/init"
	_, body, _ := r.do("POST", init, "{}")
	tok, _ := challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)
	x := []string{"WL-Instance-Id", tok}
	if status, body, _ := r.do("POST", init, "{}", x...); status != 401 || challenges(body)["BankLogin"] == nil {
		t.Fatalf("want the BankLogin challenge: %d %v", status, body)
	}
	if status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"alice-password"}`, x...); status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	if status, body, _ := r.do("POST", init, "{}", x...); status != 200 {
		t.Fatalf("init after login: %d %v", status, body)
	}
	return x
}

// TestSessionIDsAreStoredHashed: the store holds the SHA-256 of a session id, never the id, so a
// copy of the database gives no session to resume; the daemon still finds the session after a
// restart, and the stored key is not a usable cookie.
func TestSessionIDsAreStoredHashed(t *testing.T) {
	data := t.TempDir()
	d := mustStart(t, exampleDir, data, nil)
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	x := rawLogin(t, r)
	id := cookieValue(t, r, "WL_SESSION")
	d.Shutdown(context.Background())

	dbPath := filepath.Join(data, "realmgate.db")
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(id)) {
			t.Errorf("%s holds the session id in plaintext", filepath.Base(f))
		}
	}
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	rows, err := db.Query(`SELECT id FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		stored = append(stored, s)
	}
	rows.Close()
	db.Close()
	sum := sha256.Sum256([]byte(id))
	if diff := cmp.Diff([]string{hex.EncodeToString(sum[:])}, stored); diff != "" {
		t.Errorf("stored session keys (-want +got):\n%s", diff)
	}

	// The cookie still names the session after a restart.
	d = mustStart(t, exampleDir, data, nil)
	r.base = baseURL(d)
	jar := r.hc.Jar
	u, _ := url.Parse(r.base)
	jar.SetCookies(u, []*http.Cookie{{Name: "WL_SESSION", Value: id}})
	if status, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", x...); status != 200 || body["user"].(map[string]any)["userId"] != "alice" {
		t.Errorf("the session after a restart: %d %v", status, body)
	}
	// What the database holds, sent as a cookie, is nobody's session.
	thief := newRaw(t, d, "mobilewebapp", "2.1.0")
	thief.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "WL_SESSION", Value: stored[0]}})
	if status, body, _ := thief.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", x...); status != 401 {
		t.Errorf("the stored key as a cookie: %d %v, want a new session's challenge", status, body)
	}
}

// tokenClaims returns the claims of a token as a resource server reads them, after checking its
// signature against the daemon's JWKS.
func tokenClaims(t *testing.T, d *daemon.Daemon, token string) map[string]any {
	t.Helper()
	_, claims := verify(t, d, token)
	return claims
}

// obtain posts a token request through the client (which answers the challenges) and returns
// the status and body.
func obtain(t *testing.T, c *client.Client, d *daemon.Daemon, params map[string]string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(params)
	req, _ := http.NewRequest("POST", baseURL(d)+"/oauth/token", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func active(t *testing.T, d *daemon.Daemon, form url.Values) bool {
	t.Helper()
	status, body := postForm(t, d, "/oauth/validation", form)
	if status != 200 {
		t.Fatalf("validation: %d %v", status, body)
	}
	return body["active"] == true
}

// TestTokenAudience: a token names the resource it is for (aud): the application by default, a
// resource server the configuration knows when the request names it. A token for one resource
// server is refused by another, online and offline.
func TestTokenAudience(t *testing.T) {
	d := mustStart(t, exampleDir, "", func(s *daemon.Settings) {
		s.Tokens.Audiences = []string{"statements", "https://payments.example.com/"}
	})
	ctx := context.Background()
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	def, err := c.ObtainAccessToken(ctx, "webTests")
	if err != nil {
		t.Fatal(err)
	}
	if aud := tokenClaims(t, d, def.Value)["aud"]; aud != app {
		t.Errorf("default aud %v, want the application %s", aud, app)
	}
	tests := []struct {
		name   string
		params map[string]string
		status int
		aud    string
		code   string
	}{
		{"audience", map[string]string{"scope": "webTests", "audience": "statements"}, 200, "statements", ""},
		{"RFC 8707 resource", map[string]string{"scope": "webTests", "resource": "https://payments.example.com/"}, 200, "https://payments.example.com/", ""},
		{"both, equal", map[string]string{"audience": "statements", "resource": "statements"}, 200, "statements", ""},
		{"both, different", map[string]string{"audience": "statements", "resource": "https://payments.example.com/"}, 400, "", "invalid_target"},
		{"unknown resource server", map[string]string{"audience": "https://evil.example.com/"}, 400, "", "invalid_target"},
		{"another application", map[string]string{"audience": "OtherApp"}, 400, "", "invalid_target"},
		{"its own application", map[string]string{"audience": app}, 200, app, ""},
	}
	tokens := map[string]string{}
	for _, tc := range tests {
		status, body := obtain(t, c, d, tc.params)
		if status != tc.status || (tc.code != "" && body["error"] != tc.code) {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, body, tc.status, tc.code)
			continue
		}
		if status == 200 {
			tok, _ := body["access_token"].(string)
			if aud := tokenClaims(t, d, tok)["aud"]; aud != tc.aud {
				t.Errorf("%s: aud %v, want %s", tc.name, aud, tc.aud)
			}
			tokens[tc.aud] = tok
		}
	}
	statements := tokens["statements"]

	// Online: a validator that names its audience gets active only for its tokens.
	for _, tc := range []struct {
		token, audience string
		want            bool
	}{
		{statements, "statements", true},
		{statements, "", true},
		{statements, app, false},
		{def.Value, "statements", false},
		{def.Value, app, true},
		{statements, "https://payments.example.com/", false},
	} {
		if got := active(t, d, url.Values{"token": {tc.token}, "audience": {tc.audience}}); got != tc.want {
			t.Errorf("validation of a token for %v as %q: active %v, want %v", tokenClaims(t, d, tc.token)["aud"], tc.audience, got, tc.want)
		}
	}
	if got := active(t, d, url.Values{"token": {statements}, "resource": {"statements"}}); !got {
		t.Error("validation with resource=statements: inactive")
	}

	// Offline: the resource package's validator with an audience.
	v, err := resource.New(resource.Config{JWKSURL: baseURL(d) + "/oauth/jwks", Issuer: d.Issuer(), Audience: "statements"})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := v.Validate(ctx, statements, "webTests"); err != nil || c.Audience != "statements" {
		t.Errorf("offline, token for statements: %v %+v", err, c)
	}
	if _, err := v.Validate(ctx, def.Value, "webTests"); !errors.Is(err, resource.ErrInvalidToken) {
		t.Errorf("offline, token for the app: %v, want ErrInvalidToken", err)
	}
}

// TestAudienceNamedLikeAnApplicationIsRefused: a resource server named like an application of
// the project would let every application mint tokens that application's back end accepts.
func TestAudienceNamedLikeAnApplicationIsRefused(t *testing.T) {
	_, err := startDaemonWith(t, exampleDir, "", adminToken, func(s *daemon.Settings) { s.Tokens.Audiences = []string{"statements", app} })
	if err == nil || !strings.Contains(err.Error(), `tokens.audiences: "BankApp" is an application`) {
		t.Errorf("start with an application among the audiences: %v", err)
	}
}

// TestLogoutRevokesTokens: after the user logs out, /oauth/validation answers inactive for the
// tokens the session obtained; a token obtained after logging in again is active.
func TestLogoutRevokesTokens(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	ctx := context.Background()
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	before, err := c.ObtainAccessToken(ctx, "webTests")
	if err != nil {
		t.Fatal(err)
	}
	other := newClient(t, d, "mobilewebapp", "2.1.0") // alice in another session
	otherTok, err := other.ObtainAccessToken(ctx, "webTests")
	if err != nil {
		t.Fatal(err)
	}
	if claims := tokenClaims(t, d, before.Value); claims["sid"] == nil || claims["sid"] == tokenClaims(t, d, otherTok.Value)["sid"] {
		t.Errorf("sid %v: want a reference to the session, not shared by another session", claims["sid"])
	}
	if !active(t, d, url.Values{"token": {before.Value}}) {
		t.Fatal("token inactive before logout")
	}
	if err := c.Logout(ctx, "BankLogin"); err != nil {
		t.Fatal(err)
	}
	if active(t, d, url.Values{"token": {before.Value}}) {
		t.Error("token still active after its session logged out")
	}
	if active(t, d, url.Values{"token": {before.Value}, "scope": {"webTests"}}) {
		t.Error("token still active (with its scope) after its session logged out")
	}
	if !active(t, d, url.Values{"token": {otherTok.Value}}) {
		t.Error("the other session's token was revoked too")
	}
	after, err := c.ObtainAccessToken(ctx, "webTests") // logs in again in the same session
	if err != nil {
		t.Fatal(err)
	}
	if !active(t, d, url.Values{"token": {after.Value}}) {
		t.Error("a token obtained after logging in again is inactive")
	}
	if active(t, d, url.Values{"token": {before.Value}}) {
		t.Error("the revoked token came back after a new login")
	}
}

// TestBlockedDeviceTokensAreRevoked: an administrator blocking a device makes its tokens
// inactive at once; unblocking it does not revive them, and new tokens are active.
func TestBlockedDeviceTokensAreRevoked(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	ctx := context.Background()
	c := newClient(t, d, "android", "2.1.0")
	tok, err := c.ObtainAccessToken(ctx, "mobileTests")
	if err != nil {
		t.Fatal(err)
	}
	otherDevice := newClient(t, d, "iphone", "2.1.0")
	otherTok, err := otherDevice.ObtainAccessToken(ctx, "mobileTests")
	if err != nil {
		t.Fatal(err)
	}
	if !active(t, d, url.Values{"token": {tok.Value}}) {
		t.Fatal("token inactive before the block")
	}
	if st, body := admin(t, d, "PUT", "/admin/v1/devices/device-android/status", `{"status":"blocked"}`, adminToken); st != 200 {
		t.Fatalf("block: %d %v", st, body)
	}
	if active(t, d, url.Values{"token": {tok.Value}}) {
		t.Error("the blocked device's token is still active")
	}
	if !active(t, d, url.Values{"token": {otherTok.Value}}) {
		t.Error("another device's token was revoked")
	}
	if st, _ := admin(t, d, "PUT", "/admin/v1/devices/device-android/status", `{"status":"active"}`, adminToken); st != 200 {
		t.Fatal("unblock")
	}
	// Tokens issued within the second of the block are revoked with it (iat is in seconds).
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	fresh, err := newClient(t, d, "android", "2.1.0").ObtainAccessToken(ctx, "mobileTests")
	if err != nil {
		t.Fatal(err)
	}
	if !active(t, d, url.Values{"token": {fresh.Value}}) {
		t.Error("a token issued after the device was unblocked is inactive")
	}
	if active(t, d, url.Values{"token": {tok.Value}}) {
		t.Error("unblocking the device revived a token issued before the block")
	}
}

const costlyDir = "testdata/costlypolicy"

// costlyRaw is a raw client of the costlypolicy project's web app.
func costlyRaw(t *testing.T, d *daemon.Daemon) *raw {
	r := newRaw(t, d, "mobilewebapp", "1.0")
	r.headers["WL-App-Id"] = "Costly"
	return r
}

func manyParameters(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = `"` + strings.Repeat("p", 40) + `"`
	}
	return `{"parameters":[` + strings.Join(items, ",") + `]}`
}

// TestUnauthenticatedParametersAreBounded: before a caller passed a realm that needs a
// credential, the policy never evaluates more than a bounded size of procedure parameters: it
// decides without them, so the caller gets the challenge at once (or 413 where the test would
// let it through). Parameters nested too deep are refused. A signed-in caller's parameters are
// evaluated in full.
func TestUnauthenticatedParametersAreBounded(t *testing.T) {
	d := mustStart(t, costlyDir, "", nil)
	r := costlyRaw(t, d)
	const upload = "/api/v1/adapters/Docs/upload"
	many := manyParameters(2000) // over 64 KiB
	deep := `{"parameters":[` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `]}`
	status, body, _ := r.do("POST", upload, many)
	if status != 401 || challenges(body)["wl_antiXSRFRealm"] == nil {
		t.Errorf("many parameters, unauthenticated: %d %v; want the challenge, decided without reading them", status, body)
	}
	if status, body, _ := r.do("POST", upload, deep); status != 400 || body["error"] != "bad_request" {
		t.Errorf("deep parameters, unauthenticated: %d %v; want 400 bad_request", status, body)
	}
	// Sign in through the challenges, then the same call reaches the policy whole.
	_, body, _ = r.do("POST", upload, `{"parameters":[]}`)
	x := []string{"WL-Instance-Id", challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)}
	if status, body, _ := r.do("POST", upload, `{"parameters":[]}`, x...); status != 401 || challenges(body)["CostlyLogin"] == nil {
		t.Fatalf("want the CostlyLogin challenge: %d %v", status, body)
	}
	if status, body, _ := r.do("POST", "/api/v1/auth/CostlyLogin", `{"username":"carol","password":"any"}`, x...); status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	if status, body, _ := r.do("POST", upload, many, x...); status != 403 || body["message"] != "the policy read 2000 parameters" {
		t.Errorf("many parameters, signed in: %d %v; want the policy's refusal", status, body)
	}
	if status, body, _ := r.do("POST", upload, `{"parameters":["a"]}`, x...); status != 501 {
		t.Errorf("one parameter, signed in: %d %v; want 501 (allowed; the adapter has no backend)", status, body)
	}

	// On the banking example: most of the 1 MiB body limit, unauthenticated, costs no policy
	// evaluation; where the test lets anyone through (the anti-XSRF and anonymous realms of
	// getOffers), the call is refused rather than evaluated.
	bank := startDaemon(t, exampleDir, "")
	br := newRaw(t, bank, "mobilewebapp", "2.1.0")
	items := make([]string, 0, 20000)
	for i := range 20000 {
		items = append(items, `{"amount":`+strings.Repeat("1", 1+i%9)+`,"to":"someone-with-a-long-name"}`)
	}
	big := `{"parameters":[` + strings.Join(items, ",") + `]}`
	if len(big) < 700<<10 || len(big) >= 1<<20 {
		t.Fatalf("parameters of %d bytes; want most of the 1 MiB body limit", len(big))
	}
	for _, path := range []string{"/api/v1/adapters/Accounts/transfer", "/api/v1/adapters/Accounts/payBill"} {
		start := time.Now()
		status, body, _ := br.do("POST", path, big)
		if status != 401 {
			t.Errorf("%s, %d KiB unauthenticated: %d %v, want the challenge", path, len(big)>>10, status, body)
		}
		t.Logf("%s, %d KiB of parameters, unauthenticated: %d in %v", path, len(big)>>10, status, time.Since(start))
	}
	_, body, _ = br.do("POST", "/api/v1/adapters/Accounts/getOffers", "{}")
	bx := []string{"WL-Instance-Id", challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)}
	if status, body, _ := br.do("POST", "/api/v1/adapters/Accounts/getOffers", "{}", bx...); status != 200 {
		t.Fatalf("offers: %d %v", status, body)
	}
	if status, body, _ := br.do("POST", "/api/v1/adapters/Accounts/getOffers", big, bx...); status != 413 || body["error"] != "input_too_large" {
		t.Errorf("large parameters with only credential-free realms passed: %d %v, want 413 input_too_large", status, body["error"])
	}
	// A signed-in user's large parameters reach the policy and the adapter.
	c := newClient(t, bank, "mobilewebapp", "2.1.0")
	if _, err := c.InvokeProcedure(context.Background(), "Accounts", "payBill", map[string]any{"payee": strings.Repeat("x", 80<<10), "amount": 12}); err != nil {
		t.Errorf("signed-in user, 80 KiB parameter (over the unauthenticated 64 KiB): %v", err)
	}
}

// TestUnauthenticatedPolicyEvaluationIsBounded: a policy that is slow on a request stops at the
// deadline when the caller has not authenticated: 503 within about half a second, and the
// daemon keeps answering.
func TestUnauthenticatedPolicyEvaluationIsBounded(t *testing.T) {
	d := mustStart(t, costlyDir, "", nil)
	r := costlyRaw(t, d)
	for i := range 3 {
		start := time.Now()
		status, body, _ := r.do("POST", "/api/v1/apps/Costly/mobilewebapp/init", "{}")
		took := time.Since(start)
		if status != 503 || body["error"] != "policy_timeout" || took > 1500*time.Millisecond {
			t.Errorf("request %d: %d %v in %v; want 503 policy_timeout within the 0.5 s deadline", i, status, body, took)
		}
	}
	if resp, err := http.Get(baseURL(d) + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
}

// TestSessionMaxLifetime: a session ends session.maxLifetime after it began, however active it
// stays; the idle timeout alone would keep it forever.
func TestSessionMaxLifetime(t *testing.T) {
	const life = 3 * time.Second
	d := mustStart(t, exampleDir, "", func(s *daemon.Settings) { s.Session.MaxLifetime = daemon.Duration(life) })
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	start := time.Now()
	x := rawLogin(t, r)
	for time.Since(start) < life-time.Second {
		if status, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", x...); status != 200 {
			t.Fatalf("within the lifetime (%v): %d %v", time.Since(start), status, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(time.Until(start.Add(life + 200*time.Millisecond)))
	status, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", x...)
	if status != 401 || challenges(body)["wl_antiXSRFRealm"] == nil {
		t.Errorf("after the lifetime: %d %v, want a new session's challenge", status, body)
	}
}

// TestSessionMaxLifetimeSetting: hostd.yaml's session.maxLifetime, 12h by default.
func TestSessionMaxLifetimeSetting(t *testing.T) {
	dir := t.TempDir()
	if got := time.Duration(daemon.DefaultSettings().Session.MaxLifetime); got != 12*time.Hour {
		t.Errorf("default maxLifetime %v, want 12h", got)
	}
	mustWrite(t, filepath.Join(dir, "hostd.yaml"), "session:\n  maxLifetime: 8h\ntokens:\n  audiences: [statements]\n")
	s, err := daemon.LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(s.Session.MaxLifetime) != 8*time.Hour || !cmp.Equal(s.Tokens.Audiences, []string{"statements"}) {
		t.Errorf("settings %+v %+v", s.Session, s.Tokens)
	}
}

// TestSettingsValidation: settings that have no safe reading are refused, from the file and
// when given to Start.
func TestSettingsValidation(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"tokens:\n  audiences: [\"two words\"]\n", "not a resource server name"},
		{"tokens:\n  audiences: [\"\"]\n", "not a resource server name"},
		{"limits:\n  inputDepth: -1\n", "cannot be negative"},
	} {
		dir := t.TempDir()
		mustWrite(t, filepath.Join(dir, "hostd.yaml"), tc.yaml)
		if _, err := daemon.LoadSettings(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error saying %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := startDaemonWith(t, exampleDir, "", adminToken, func(s *daemon.Settings) { s.Tokens.Audiences = []string{"a b"} }); err == nil {
		t.Error("Start accepted an audience with a space")
	}
}
