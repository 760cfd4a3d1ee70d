// Package web_test checks the demo web app's project: hostd serves its pages as a static
// resource, and what the page does through the JavaScript client (a form login, the protected
// procedure, an access token for the example resource server) works over the wire, walked here
// by the Go client.
package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/resource"
	"software.sslmate.com/src/go-pkcs12"
)

func get(t *testing.T, hc *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// usersCA is a PKCS#12 file of a new CA for the embedded PKI of wl_userCertificateAuthRealm, as
// README.md makes it with openssl (password demo-password).
func usersCA(t *testing.T) []byte {
	t.Helper()
	ca, err := pki.NewCA(pki.CAOptions{CommonName: "Demo users CA"})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(ca.Key, ca.Cert, nil, "demo-password")
	if err != nil {
		t.Fatal(err)
	}
	return p12
}

// startDemo starts hostd on a copy of the demo project with files written over it: the embedded
// PKI's CA, and the Accounts descriptor with its source folder made absolute, so that the daemon
// builds the module from this folder, inside the repository's module (the copy is outside it).
func startDemo(t *testing.T, files map[string][]byte) *hostdtest.Daemon {
	t.Helper()
	desc, err := os.ReadFile("adapters/Accounts/Accounts.xml")
	if err != nil {
		t.Fatal(err)
	}
	src, err := filepath.Abs("adapters/Accounts/src")
	if err != nil {
		t.Fatal(err)
	}
	abs := strings.Replace(string(desc), ` source="src"`, ` source="`+filepath.ToSlash(src)+`"`, 1)
	if abs == string(desc) {
		t.Fatal(`adapters/Accounts/Accounts.xml has no source="src"`)
	}
	all := map[string][]byte{
		"users-ca.p12":                   usersCA(t),
		"adapters/Accounts/Accounts.xml": []byte(abs),
	}
	for name, b := range files {
		all[name] = b
	}
	return hostdtest.Start(t, ".", hostdtest.Options{Files: all})
}

func TestDemoWebApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo's wasm adapter")
	}
	d := startDemo(t, nil)
	hc := &http.Client{Timeout: 30 * time.Second}

	// The pages load for anyone: a static resource whose test only sets the anonymous cookie.
	for path, typ := range map[string]string{"/demo/index.html": "text/html", "/demo/app.js": "javascript", "/demo/demo.css": "text/css"} {
		resp, body := get(t, hc, d.URL+path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), typ) || body == "" {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if resp, _ := get(t, hc, d.URL+"/demo/missing.html"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a missing page: %d", resp.StatusCode)
	}

	// What app.js does, by the Go client: the procedure asks for the form realm, then answers.
	c, err := client.New(client.Config{BaseURL: d.URL, AppID: "WebDemo", Environment: "desktopbrowser", AppVersion: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	asked := 0
	c.RegisterHandler("WebLogin", &client.LoginHandler{Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
		asked++
		if p.Authenticator != "form" {
			t.Errorf("WebLogin asks with %q, want the form authenticator", p.Authenticator)
		}
		return client.Credentials{Username: "alice", Password: "alice-password"}, nil
	}})
	ctx := context.Background()
	out, err := c.InvokeProcedure(ctx, "Accounts", "getBalance")
	if err != nil {
		t.Fatalf("getBalance: %v", err)
	}
	var balance struct {
		User    string  `json:"user"`
		Balance float64 `json:"balance"`
	}
	if err := json.Unmarshal(out, &balance); err != nil || balance.User != "alice" || balance.Balance != 1180.40 || asked != 1 {
		t.Errorf("getBalance: %s (%v), login asked %d times", out, err, asked)
	}

	// The example resource server's statements need a token of scope webTests.
	v, err := resource.New(resource.Config{Issuer: d.Issuer, JWKSURL: d.JWKSURL})
	if err != nil {
		t.Fatal(err)
	}
	rs := httptest.NewServer(v.Require("webTests")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"user": resource.ClientFromContext(r.Context()).UserID})
	})))
	defer rs.Close()
	req, _ := http.NewRequest("GET", rs.URL+"/statements", nil)
	resp, err := c.CallResource(ctx, req, "")
	if err != nil {
		t.Fatalf("CallResource: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"user":"alice"`) {
		t.Errorf("the resource server: %d %s", resp.StatusCode, body)
	}
	if tok := c.LastAccessToken("webTests"); tok == nil {
		t.Error("no access token of scope webTests kept")
	}

	// The admin console shows the demo's environment and its test.
	jar, _ := cookiejar.New(nil)
	op := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if resp, err := op.PostForm(d.URL+"/console/login", url.Values{"token": {d.AdminToken}}); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("console sign-in: %v %v", resp, err)
	}
	if _, page := get(t, op, d.URL+"/console/"); !strings.Contains(page, "WebDemo") || !strings.Contains(page, "WebLogin") || !strings.Contains(page, "pagesTest") {
		t.Errorf("the console's applications page:\n%s", page)
	}
}
