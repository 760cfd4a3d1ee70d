package hostdtest_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/hostd/hostdtest"
)

// banking is the example project (its adapter built from source: served in place); sso is a
// project without adapters.
const (
	banking = "../../examples/banking"
	sso     = "../testdata/ssoproject"
)

// session is a bare HTTP client of the banking example's web app, with a cookie jar.
type session struct {
	t    *testing.T
	d    *hostdtest.Daemon
	hc   *http.Client
	xsrf string
}

func newSession(t *testing.T, d *hostdtest.Daemon) *session {
	jar, _ := cookiejar.New(nil)
	return &session{t: t, d: d, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (s *session) post(path, body string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest("POST", s.d.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("WL-App-Id", "BankApp")
	req.Header.Set("WL-App-Environment", "mobilewebapp")
	req.Header.Set("WL-App-Version", "2.1.0")
	if s.xsrf != "" {
		req.Header.Set("WL-Instance-Id", s.xsrf)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	challenges, _ := m["challenges"].(map[string]any)
	if c, ok := challenges["wl_antiXSRFRealm"].(map[string]any); ok {
		s.xsrf, _ = c["WL-Instance-Id"].(string)
	}
	return resp.StatusCode, m
}

// sessionCookie returns the session id the jar holds.
func (s *session) sessionCookie() string {
	for _, c := range s.hc.Jar.Cookies(mustParse(s.t, s.d.URL)) {
		if c.Name == "WL_SESSION" {
			return c.Value
		}
	}
	return ""
}

func mustParse(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// record is what a test compares of a recorded request.
type record struct {
	Method, Path, Body string
	Status             int
}

func records(reqs []hostdtest.Request) []record {
	out := []record{}
	for _, r := range reqs {
		out = append(out, record{r.Method, r.Path, r.Body, r.Status})
	}
	return out
}

// The daemon serves the project, records what it received, and counts a session once across
// its id rotation at login; a request that comes back with the replaced id opens a new session.
func TestRequestsAndSessions(t *testing.T) {
	t.Parallel()
	d := hostdtest.Start(t, banking, hostdtest.Options{})
	s := newSession(t, d)
	login := `{"username":"alice","password":"alice-password"}`
	var statuses []int
	for _, step := range []struct{ path, body string }{
		{"/api/v1/apps/BankApp/mobilewebapp/init", "{}"}, // 401 anti-XSRF, new session
		{"/api/v1/apps/BankApp/mobilewebapp/init", "{}"}, // 401 BankLogin
		{"/api/v1/auth/BankLogin", login},                // 200, the id rotates
	} {
		status, _ := s.post(step.path, step.body)
		statuses = append(statuses, status)
	}
	if diff := cmp.Diff([]int{401, 401, 200}, statuses); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	if got := d.Sessions(); got != 1 {
		t.Errorf("Sessions after a login = %d, want 1", got)
	}
	want := []record{
		{"POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", 401},
		{"POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", 401},
		{"POST", "/api/v1/auth/BankLogin", login, 200},
	}
	if diff := cmp.Diff(want, records(d.Requests())); diff != "" {
		t.Errorf("Requests (-want +got):\n%s", diff)
	}
	if got := d.Count("POST", "/api/v1/apps/BankApp/mobilewebapp/init"); got != 2 {
		t.Errorf("Count(init) = %d, want 2", got)
	}
	if got := d.Requests()[2].Header.Get("WL-Instance-Id"); got == "" || got != s.xsrf {
		t.Errorf("recorded WL-Instance-Id %q, want the session's %q", got, s.xsrf)
	}

	// The id from before the login is worthless: the daemon opens a new session for it.
	rotated := s.sessionCookie()
	stale := newSession(t, d)
	stale.hc.Jar.SetCookies(mustParse(t, d.URL), []*http.Cookie{{Name: "WL_SESSION", Value: firstSessionID(t, d)}})
	if status, _ := stale.post("/api/v1/apps/BankApp/mobilewebapp/init", "{}"); status != 401 {
		t.Fatalf("stale id: %d, want 401", status)
	}
	if stale.sessionCookie() == rotated {
		t.Fatal("the stale id was given the rotated session")
	}
	if got := d.Sessions(); got != 2 {
		t.Errorf("Sessions after a request with the replaced id = %d, want 2", got)
	}
}

// firstSessionID is the session id the daemon gave the first request: the second request
// carried it back.
func firstSessionID(t *testing.T, d *hostdtest.Daemon) string {
	t.Helper()
	reqs := d.Requests()
	if len(reqs) < 2 {
		t.Fatal("fewer than two requests recorded")
	}
	c, err := (&http.Request{Header: reqs[1].Header}).Cookie("WL_SESSION")
	if err != nil {
		t.Fatalf("the second request carried no session: %v", err)
	}
	return c.Value
}

// The record hands the body on unchanged: the daemon still applies its own limit.
func TestRecordKeepsTheBodyLimit(t *testing.T) {
	t.Parallel()
	d := hostdtest.Start(t, banking, hostdtest.Options{})
	big := `{"parameters":["` + strings.Repeat("x", 2<<20) + `"]}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(strings.NewReader(big)) // no length known: sent chunked
		}
		req, _ := http.NewRequest("POST", d.URL+"/api/v1/adapters/Accounts/getRates", body)
		req.Header.Set("WL-App-Id", "BankApp")
		req.Header.Set("WL-App-Environment", "android")
		req.Header.Set("WL-App-Version", "2.1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked=%v: status %d, want 413", chunked, resp.StatusCode)
		}
	}
	for _, r := range d.Requests() {
		if len(r.Body) != 1<<20 || r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("recorded body of %d bytes, status %d; want the first MiB and 413", len(r.Body), r.Status)
		}
	}
}

// Admin reaches the admin API with the daemon's token; its requests are not in the record.
func TestAdmin(t *testing.T) {
	t.Parallel()
	d := hostdtest.Start(t, banking, hostdtest.Options{})
	var tests struct {
		SecurityTests []struct{ Name string } `json:"securityTests"`
	}
	status, err := d.Admin("GET", "/admin/v1/security-tests", nil, &tests)
	if err != nil || status != 200 {
		t.Fatalf("GET security-tests: %d %v", status, err)
	}
	var names []string
	for _, st := range tests.SecurityTests {
		names = append(names, st.Name)
	}
	if !slices.Contains(names, "transferTests") {
		t.Errorf("security tests %v lack transferTests", names)
	}
	rules := map[string]any{"rules": []map[string]string{{"action": "block", "message": "no"}}}
	if status, err := d.Admin("PUT", "/admin/v1/apps/BankApp/android/remote-disable", rules, nil); err != nil || status != 200 {
		t.Errorf("PUT rules: %d %v", status, err)
	}
	if status, err := d.Admin("PUT", "/admin/v1/apps/BankApp/android/remote-disable", `{"rules":[{"action":"explode"}]}`, nil); err != nil || status != 400 {
		t.Errorf("PUT a bad rule: %d %v, want 400", status, err)
	}
	if status, err := d.Admin("GET", "/admin/v1/nothing", nil, nil); err != nil || status != 404 {
		t.Errorf("GET an unknown admin path: %d %v, want 404", status, err)
	}
	if status, err := d.Admin("GET", "/healthz", nil, &[]int{}); err == nil {
		t.Errorf("a reply that does not decode into out: status %d, no error", status)
	}
	// Without the token the admin API refuses.
	resp, err := http.Get(d.URL + "/admin/v1/security-tests")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	if diff := cmp.Diff([]record{{"GET", "/admin/v1/security-tests", "", 401}}, records(d.Requests())); diff != "" {
		t.Errorf("Requests: only the test's own request, not Admin's (-want +got):\n%s", diff)
	}
}

// Files go into a copy of the project, which the daemon serves; the provisioning CA made for the
// run is the daemon's; the token keys are published at JWKSURL.
func TestFilesCAAndJWKS(t *testing.T) {
	t.Parallel()
	d := hostdtest.Start(t, sso, hostdtest.Options{Files: map[string][]byte{
		"static/notes/n1.txt": []byte("a note\n"),
	}})
	if d.Dir == sso || !strings.HasPrefix(d.Dir, os.TempDir()) {
		t.Errorf("served %s, want a copy in a temporary folder", d.Dir)
	}
	if _, err := os.Stat(filepath.Join(sso, "static/notes/n1.txt")); err == nil {
		t.Errorf("the file was written into the project itself")
	}
	b, err := os.ReadFile(filepath.Join(d.Dir, "static/notes/n1.txt"))
	if err != nil || !bytes.Contains(b, []byte("a note")) {
		t.Errorf("the copy lacks the file: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "apps/Mail/application-descriptor.xml")); err != nil {
		t.Errorf("the copy lacks the project's own files: %v", err)
	}

	ca := d.ProvisioningCA()
	if ca == nil || !ca.IsCA {
		t.Fatalf("ProvisioningCA = %v, want a CA certificate", ca)
	}
	pemBytes, err := os.ReadFile(filepath.Join(d.Data, "ca", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemBytes)
	if blk == nil || !bytes.Equal(blk.Bytes, ca.Raw) {
		t.Errorf("ProvisioningCA is not the CA in the data folder")
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: d.ProvisioningRoots()}); err != nil {
		t.Errorf("ProvisioningRoots does not hold the CA: %v", err)
	}

	resp, err := http.Get(d.JWKSURL)
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []map[string]any }
	json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(jwks.Keys) == 0 {
		t.Errorf("JWKS: %d %v", resp.StatusCode, jwks)
	}
	if d.Issuer != d.URL {
		t.Errorf("Issuer %q, want the base URL %q", d.Issuer, d.URL)
	}
}

func TestNoProvisioningCA(t *testing.T) {
	t.Parallel()
	d := hostdtest.Start(t, banking, hostdtest.Options{NoProvisioningCA: true})
	if d.ProvisioningCA() != nil {
		t.Errorf("ProvisioningCA = %v, want none", d.ProvisioningCA().Subject)
	}
}

// Launch serves without a test; Close stops the daemon and removes what Launch made.
func TestLaunchAndClose(t *testing.T) {
	t.Parallel()
	d, err := hostdtest.Launch(sso, hostdtest.Options{Files: map[string][]byte{"extra.txt": []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(d.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("readyz: %d", resp.StatusCode)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, dir := range []string{d.Dir, d.Data} {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s is still there after Close", dir)
		}
	}
	if _, err := http.Get(d.URL + "/readyz"); err == nil {
		t.Errorf("the daemon still answers after Close")
	}
}

// A project the daemon refuses, or a file that would leave the project, is an error.
func TestLaunchRefuses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		dir   string
		files map[string][]byte
		want  string
	}{
		"file outside the project": {sso, map[string][]byte{"../escape.txt": nil}, "not a slash-separated path inside the project"},
		"project with an error":    {t.TempDir(), map[string][]byte{"server/conf/authenticationConfig.xml": []byte(`<loginConfiguration><securityTests><customSecurityTest name="t"><test realm="nosuch"/></customSecurityTest></securityTests></loginConfiguration>`)}, "nosuch"},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := hostdtest.Launch(tc.dir, hostdtest.Options{Files: tc.files})
			if err == nil {
				d.Close()
				t.Fatal("Launch succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
}

// Only tests import hostdtest, and hostdtest does not import the client SDK (whose tests import
// it).
func TestImportedByTestsOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("lists every package of the module")
	}
	t.Parallel()
	const self = "github.com/realmgate/realmgate/hostd/hostdtest"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/realmgate/realmgate/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && slices.Contains(fields[1:], self) {
			t.Errorf("%s imports %s outside its tests", fields[0], self)
		}
	}
	deps, err := exec.Command("go", "list", "-deps", self).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if slices.Contains(strings.Fields(string(deps)), "github.com/realmgate/realmgate/client") {
		t.Errorf("%s depends on the client SDK", self)
	}
}
