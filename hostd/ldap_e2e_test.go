package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/internal/slapdtest"
)

const ldapExampleDir = "../examples/ldap"

// ldapExample copies the LDAP example into a temporary folder with ldapProviderUrl pointing at
// the test directory s, and the other parameters edit gives (name to value) set.
func ldapExample(t *testing.T, s *slapdtest.Server, edit map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(ldapExampleDir)); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "data"))
	// The copy is outside the module, where hostd cannot build the adapter from its source: it
	// gets the module built here instead.
	copyFile(t, adaptertest.BuildGoWasm(t, ldapExampleDir+"/adapters/Teller/src"), filepath.Join(dir, "adapters/Teller/teller.wasm"))
	tellerXML := filepath.Join(dir, "adapters/Teller/Teller.xml")
	b, err := os.ReadFile(tellerXML)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tellerXML, []byte(strings.Replace(string(b), ` source="src"`, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A loaded test machine may take seconds for a login: only the test of a hung directory
	// sets a short timeout.
	params := map[string]string{"ldapProviderUrl": s.URL, "ldapTimeoutMs": "10000"}
	for k, v := range edit {
		params[k] = v
	}
	setLoginModuleParams(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), params)
	return dir
}

// setLoginModuleParams sets the value of each named <parameter> of the file (adding a parameter
// the file lacks after ldapProviderUrl).
func setLoginModuleParams(t testing.TB, file string, params map[string]string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	xml := string(b)
	for name, value := range params {
		re := regexp.MustCompile(`(<parameter\s+name="` + regexp.QuoteMeta(name) + `"\s+value=")[^"]*(")`)
		if re.MatchString(xml) {
			xml = re.ReplaceAllString(xml, "${1}"+strings.ReplaceAll(value, "$", "$$")+"${2}")
			continue
		}
		anchor := regexp.MustCompile(`(?m)^(\s*)(<parameter\s+name="ldapProviderUrl"[^>]*/>)`)
		if !anchor.MatchString(xml) {
			t.Fatalf("%s has no ldapProviderUrl to add %s after", file, name)
		}
		xml = anchor.ReplaceAllString(xml, "${1}${2}\n${1}<parameter name=\""+name+"\" value=\""+value+"\"/>")
	}
	if err := os.WriteFile(file, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exampleLDIF(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ldapExampleDir, "directory.ldif"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tellerClient is a client of the LDAP example's app that logs in as user with password.
func tellerClient(t *testing.T, d *daemon.Daemon, user, password string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "TellerApp", Environment: "mobilewebapp", AppVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler("DirectoryLogin", &client.LoginHandler{Credentials: client.Credentials{Username: user, Password: password}})
	return c
}

// TestLDAPGroupPolicy: users log in against the directory; their groups decide what the
// example's policy allows: a teller approves loans and refunds; a member of sales is denied the
// loan and must pass the supervisor's PIN for a refund.
func TestLDAPGroupPolicy(t *testing.T) {
	s := slapdtest.StartLDIF(t, exampleLDIF(t))
	d := startDaemon(t, ldapExample(t, s, nil), "")
	ctx := context.Background()

	alice := tellerClient(t, d, "alice", "alice-secret")
	out, err := alice.InvokeProcedure(ctx, "Teller", "whoami")
	if err != nil || !strings.Contains(string(out), `"groups":["tellers"]`) {
		t.Fatalf("alice whoami: %s %v", out, err)
	}
	info, err := alice.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := client.Identity{
		"userId": "alice", "displayName": "Alice Teller", "realm": "DirectoryLogin",
		"dn": "uid=alice,ou=people,dc=example,dc=com", "groups": []any{"tellers"},
		"groupDNs":   []any{"cn=tellers,ou=groups,dc=example,dc=com"},
		"attributes": map[string]any{"mail": []any{"alice@example.com"}, "displayName": []any{"Alice Teller"}},
	}
	if diff := cmp.Diff(want, info.User); diff != "" {
		t.Errorf("alice's identity (-want +got):\n%s", diff)
	}
	pins := 0
	pinHandler := &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		pins++
		return client.Credentials{Username: "supervisor", Password: "2468"}, nil
	}}
	alice.RegisterHandler("SupervisorPin", pinHandler)
	if out, err := alice.InvokeProcedure(ctx, "Teller", "approveLoan", map[string]any{"amount": 1000}); err != nil || !strings.Contains(string(out), `"approved":true`) {
		t.Errorf("alice approves a loan: %s %v", out, err)
	}
	if out, err := alice.InvokeProcedure(ctx, "Teller", "refund", map[string]any{"amount": 20}); err != nil || !strings.Contains(string(out), `"refunded":20`) {
		t.Errorf("alice refunds: %s %v", out, err)
	}
	if pins != 0 {
		t.Errorf("a teller was asked for the supervisor's PIN %d times", pins)
	}

	carol := tellerClient(t, d, "carol", "carol-secret")
	carol.RegisterHandler("SupervisorPin", pinHandler)
	var ce *client.Error
	_, err = carol.InvokeProcedure(ctx, "Teller", "approveLoan", map[string]any{"amount": 1000})
	if !errors.As(err, &ce) || ce.Status != 403 || ce.Code != "policy_denied" || !strings.Contains(ce.Message, "tellers group") {
		t.Errorf("carol approves a loan: %v, want 403 policy_denied", err)
	}
	if out, err := carol.InvokeProcedure(ctx, "Teller", "refund", map[string]any{"amount": 20}); err != nil || !strings.Contains(string(out), `"refunded":20`) {
		t.Errorf("carol refunds with the supervisor's PIN: %s %v", out, err)
	}
	if pins != 1 {
		t.Errorf("the supervisor's PIN was asked %d times for carol's refund, want 1 (step-up)", pins)
	}
}

// TestLDAPLoginRefusals: wrong and empty passwords, unknown users and names carrying LDAP
// metacharacters are wrong credentials (401 with the challenge again), never a server error
// and never a login.
func TestLDAPLoginRefusals(t *testing.T) {
	s := slapdtest.StartLDIF(t, exampleLDIF(t))
	d := startDaemon(t, ldapExample(t, s, nil), "")
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", "alice", "alice-secreT"},
		{"another user's password", "alice", "carol-secret"},
		{"unknown user", "mallory", "whatever"},
		{"empty password", "carol", ""},
		{"filter metacharacters", "*)(uid=*", "alice-secret"},
		{"filter injection with an or", "admin)(|(a=*", "alice-secret"},
		{"a wildcard", "ali*", "alice-secret"},
		{"DN injection", "alice,ou=people,dc=example,dc=com", "alice-secret"},
		{"DN injection with a plus", "alice+cn=admin", "alice-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRaw(t, d, "mobilewebapp", "1.0")
			r.headers["WL-App-Id"] = "TellerApp"
			_, body, _ := r.do("POST", "/api/v1/apps/TellerApp/mobilewebapp/init", "{}")
			x := []string{"WL-Instance-Id", challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)}
			if status, body, _ := r.do("POST", "/api/v1/apps/TellerApp/mobilewebapp/init", "{}", x...); status != 401 || challenges(body)["DirectoryLogin"] == nil {
				t.Fatalf("init: %d %v, want the DirectoryLogin challenge", status, body)
			}
			answer := `{"username":` + jsonString(tc.user) + `,"password":` + jsonString(tc.pass) + `}`
			status, body, _ := r.do("POST", "/api/v1/auth/DirectoryLogin", answer, x...)
			if status != 401 || challenges(body)["DirectoryLogin"] == nil {
				t.Errorf("answer %s: %d %v, want 401 and the challenge again", answer, status, body)
			}
			if status, _, _ := r.do("POST", "/api/v1/apps/TellerApp/mobilewebapp/init", "{}", x...); status == 200 {
				t.Error("the app opened after a refused login")
			}
		})
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestLDAPDirectoryDownAndBack: with the directory stopped, a login answers 503 with a message
// that says so; with it hung, 503 after the module's timeout; a realm that does not use it keeps
// working; started again on the same port, the next login works with no restart of hostd.
func TestLDAPDirectoryDownAndBack(t *testing.T) {
	s := slapdtest.StartLDIF(t, exampleLDIF(t))
	// The timeout leaves the PIN realm's login, several round trips, seconds to finish while a
	// login waits on the hung directory, even on a loaded machine under the race detector.
	d := startDaemon(t, ldapExample(t, s, map[string]string{"ldapTimeoutMs": "5000"}), "")
	ctx := context.Background()
	if _, err := tellerClient(t, d, "alice", "alice-secret").Init(ctx); err != nil {
		t.Fatalf("login with the directory up: %v", err)
	}

	unavailable := func(what string, min, max time.Duration) {
		t.Helper()
		start := time.Now()
		_, err := tellerClient(t, d, "carol", "carol-secret").Init(ctx)
		took := time.Since(start)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 503 || ce.Code != "unavailable" || !strings.Contains(ce.Message, "directory") {
			t.Errorf("%s: %v, want 503 unavailable naming the directory", what, err)
		}
		if took < min || took > max {
			t.Errorf("%s: answered after %v, want between %v and %v", what, took, min, max)
		}
	}
	drawer := func(what string) {
		t.Helper()
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "TellerApp", Environment: "mobilewebapp", AppVersion: "1.0"})
		if err != nil {
			t.Fatal(err)
		}
		c.RegisterHandler("SupervisorPin", &client.LoginHandler{Credentials: client.Credentials{Username: "supervisor", Password: "2468"}})
		if out, err := c.InvokeProcedure(ctx, "Teller", "openDrawer"); err != nil || !strings.Contains(string(out), `"open"`) {
			t.Errorf("%s: the PIN realm's procedure: %s %v", what, out, err)
		}
	}

	// While a login waits on the hung directory, the PIN realm answers at once.
	s.Pause(t)
	hung := make(chan struct{})
	go func() {
		defer close(hung)
		unavailable("directory hung", 4900*time.Millisecond, 20*time.Second)
	}()
	time.Sleep(100 * time.Millisecond)
	drawer("directory hung")
	select {
	case <-hung:
		t.Error("the PIN realm's procedure waited for the hung directory's login")
	default:
	}
	<-hung
	s.Resume(t)

	s.Stop(t)
	unavailable("directory stopped", 0, 5*time.Second)
	drawer("directory stopped")

	s.Restart(t)
	info, err := tellerClient(t, d, "carol", "carol-secret").Init(ctx)
	if err != nil || info.User["userId"] != "carol" {
		t.Fatalf("login after the directory came back: %v %v", info, err)
	}
}

// TestLDAPOverTLS: the same logins over ldaps:// and over ldap:// with StartTLS, the directory's
// certificate checked against the CA file the login module names.
func TestLDAPOverTLS(t *testing.T) {
	s := slapdtest.StartLDIF(t, exampleLDIF(t))
	for _, tc := range []struct {
		name   string
		params map[string]string
	}{
		{"ldaps", map[string]string{"ldapProviderUrl": s.LDAPSURL, "ldapCaFile": "directory-ca.pem"}},
		{"StartTLS", map[string]string{"ldapStartTls": "true", "ldapCaFile": "directory-ca.pem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := ldapExample(t, s, tc.params)
			copyFile(t, s.CAFile, filepath.Join(dir, "directory-ca.pem"))
			d := startDaemon(t, dir, "")
			info, err := tellerClient(t, d, "alice", "alice-secret").Init(context.Background())
			if err != nil || info.User["userId"] != "alice" {
				t.Fatalf("login: %v %v", info, err)
			}
		})
	}
}
