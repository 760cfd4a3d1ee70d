package console_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/pki"
)

// The test project's names.
const (
	app        = "Wallet"
	env        = "android"
	certRealm  = "CertRealm"
	loginRealm = "Login"
	deviceID   = "device-0001"
)

var (
	accountsOnce sync.Once
	accountsWasm []byte
	accountsErr  error
)

// accounts builds the example bank's Accounts adapter, once per test binary.
func accounts(t testing.TB) []byte {
	t.Helper()
	accountsOnce.Do(func() {
		accountsWasm, accountsErr = os.ReadFile(adaptertest.BuildGoWasm(t, "../../../examples/banking/adapters/Accounts/src"))
	})
	if accountsErr != nil {
		t.Fatal(accountsErr)
	}
	return accountsWasm
}

// startDaemon starts hostd on testdata/project with the embedded PKI's CA and the adapter.
func startDaemon(t testing.TB) *hostdtest.Daemon {
	t.Helper()
	return startDaemonWith(t, nil)
}

// startDaemonWith is startDaemon with files written over the project.
func startDaemonWith(t testing.TB, files map[string][]byte) *hostdtest.Daemon {
	t.Helper()
	usersCA, err := pki.NewCA(pki.CAOptions{CommonName: "Wallet users CA"})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(usersCA.Key, usersCA.Cert, nil, "test-password")
	if err != nil {
		t.Fatal(err)
	}
	all := map[string][]byte{"users-ca.p12": p12, "adapters/Accounts/accounts.wasm": accounts(t)}
	for name, b := range files {
		all[name] = b
	}
	return hostdtest.Start(t, "testdata/project", hostdtest.Options{Files: all})
}

// walletClient is the wallet app at version on the test device, which signs its user in with a
// certificate kept in ks (enrolling one after a form login as alice when it has none).
func walletClient(t testing.TB, d *hostdtest.Daemon, ks client.Keystore, version string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{
		BaseURL: d.URL, AppID: app, Environment: env, AppVersion: version, Keystore: ks,
		Device: &client.DeviceInfo{ID: deviceID, OS: "android", Model: "Pixel 9", DisplayName: "Alice's phone"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler(certRealm, c.UserCertificateHandler())
	c.RegisterHandler(loginRealm, &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "any"}})
	return c
}

// certificate is a certificate as the admin API lists it.
type certificate struct {
	Serial    string     `json:"serial"`
	Entity    string     `json:"entity"`
	IssuedAt  time.Time  `json:"issuedAt"`
	RevokedAt *time.Time `json:"revokedAt"`
}

func certificates(t testing.TB, d *hostdtest.Daemon) []certificate {
	t.Helper()
	var out struct{ Certificates []certificate }
	if status, err := d.Admin("GET", "/admin/v1/certificates", nil, &out); err != nil || status != 200 {
		t.Fatalf("GET certificates: %d %v", status, err)
	}
	sort.SliceStable(out.Certificates, func(i, j int) bool { return out.Certificates[i].IssuedAt.Before(out.Certificates[j].IssuedAt) })
	return out.Certificates
}

type auditRecord struct {
	Actor, Action, Target string
}

func audit(t testing.TB, d *hostdtest.Daemon) []auditRecord {
	t.Helper()
	var out struct{ Records []auditRecord }
	if status, err := d.Admin("GET", "/admin/v1/audit?limit=500", nil, &out); err != nil || status != 200 {
		t.Fatalf("GET audit: %d %v", status, err)
	}
	return out.Records
}

// enroll makes the data the pages show: a device and a user certificate, through the Go
// client's real flows.
func enroll(t testing.TB, d *hostdtest.Daemon, ks client.Keystore) {
	t.Helper()
	if _, err := walletClient(t, d, ks, "2.0.0").Init(context.Background()); err != nil {
		t.Fatalf("the wallet client's first sign-in: %v", err)
	}
	if n := len(certificates(t, d)); n != 1 {
		t.Fatalf("%d certificates after the first sign-in, want 1", n)
	}
}

// operator is a browser-less console user: an HTTP client with a cookie jar that does not
// follow redirects.
type operator struct {
	// user and pass, when set, answer a Basic realm with every request.
	user, pass string
	t          testing.TB
	base       string
	http       *http.Client
}

func newOperator(t testing.TB, d *hostdtest.Daemon) *operator {
	jar, _ := cookiejar.New(nil)
	return &operator{t: t, base: d.URL, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (o *operator) do(method, path string, form url.Values) (*http.Response, string) {
	o.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, o.base+path, body)
	if err != nil {
		o.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if o.user != "" {
		req.SetBasicAuth(o.user, o.pass)
	}
	resp, err := o.http.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs the operator in with token and returns the session's CSRF token.
func (o *operator) signIn(token string) string {
	o.t.Helper()
	resp, _ := o.do("POST", "/console/login", url.Values{"token": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		o.t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := o.do("GET", "/console/devices", nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		o.t.Fatalf("no CSRF token in the devices page:\n%s", page)
	}
	return m[1]
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func isDisabled(err error) bool { return errors.Is(err, client.ErrApplicationDisabled) }
