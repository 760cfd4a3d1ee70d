package console_test

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
)

// protectConsole is the test project's authentication configuration with the console protected
// as Worklight protected its own: a static resource over /console/* whose test is a Basic realm.
func protectConsole(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/project/server/conf/authenticationConfig.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, add := range map[string]string{
		"<staticResources>": `
		<resource id="console" securityTest="consoleTest">
			<urlPatterns>/console/*</urlPatterns>
		</resource>`,
		"<securityTests>": `
		<customSecurityTest name="consoleTest">
			<test realm="OpsRealm" isInternalUserID="true"/>
		</customSecurityTest>`,
		"<realms>": `
		<realm name="OpsRealm" loginModule="AnyUser">
			<className>com.worklight.core.auth.ext.BasicAuthenticator</className>
			<parameter name="basic-realm-name" value="Realmgate console"/>
		</realm>`,
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("no %s in the configuration", old)
		}
		s = strings.Replace(s, old, old+add, 1)
	}
	return []byte(s)
}

// A project that protects /console with a static resource's security test lets through whom
// the test lets through, without the admin token, and no one else; the audit names the user.
func TestConsoleProtectedBySecurityTest(t *testing.T) {
	t.Parallel()
	d := startDaemonWith(t, map[string][]byte{"server/conf/authenticationConfig.xml": protectConsole(t)})
	var ks client.MemoryKeystore
	enroll(t, d, &ks)

	anon := newOperator(t, d)
	for _, p := range []string{"/console/", "/console/devices", "/console/login", "/console/assets/console.css"} {
		resp, body := anon.do("GET", p, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="Realmgate console"`) || strings.Contains(body, deviceID) {
			t.Errorf("GET %s without credentials: %d %q", p, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Signing in with the admin token does not pass the test either.
	if resp, _ := anon.do("POST", "/console/login", url.Values{"token": {d.AdminToken}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the admin token without the test: %d", resp.StatusCode)
	}

	ops := newOperator(t, d)
	ops.user, ops.pass = "ops", "any"
	resp, page := ops.do("GET", "/console/devices", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, deviceID) {
		t.Fatalf("GET /console/devices as ops: %d\n%s", resp.StatusCode, page)
	}
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token")
	}
	// A form without the session's CSRF token changes nothing.
	if resp, _ := ops.do("POST", "/console/devices/status", url.Values{"id": {deviceID}, "status": {"blocked"}, "csrf": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a POST without the CSRF token: %d", resp.StatusCode)
	}
	if resp, body := ops.do("POST", "/console/devices/status", url.Values{"id": {deviceID}, "status": {"blocked"}, "csrf": {m[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("block as ops: %d\n%s", resp.StatusCode, body)
	}
	var got []string
	for _, r := range audit(t, d) {
		got = append(got, r.Actor+" "+r.Action+" "+r.Target)
	}
	if diff := cmp.Diff([]string{"console:ops device.status " + deviceID}, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	// The project's own static files under /console are still served, behind the same test.
	if resp, _ := anon.do("GET", "/console/index.html", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a static file under /console without credentials: %d", resp.StatusCode)
	}
}
