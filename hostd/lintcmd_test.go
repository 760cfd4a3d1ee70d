package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lintProject is a project with one finding of each level: a wl_unprotected procedure (warning),
// an unused realm (info) and, when withSecret, a clear-text password (error).
func lintProject(t *testing.T, withSecret bool) string {
	t.Helper()
	dir := t.TempDir()
	secret := ""
	if withSecret {
		secret = `<parameter name="password" value="admin"/>`
	}
	mustWrite(t, filepath.Join(dir, "server", "conf", "authenticationConfig.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="login"><test realm="form" isInternalUserID="true"/></customSecurityTest>
	</securityTests>
	<realms>
		<realm name="form" loginModule="reject"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="spare" loginModule="reject"><className>com.worklight.core.auth.ext.BasicAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="reject"><className>com.worklight.core.auth.ext.RejectingLoginModule</className>`+secret+`</loginModule>
	</loginModules>
</tns:loginConfiguration>
`)
	mustWrite(t, filepath.Join(dir, "adapters", "Bank", "Bank.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter xmlns:wl="http://www.ibm.com/mfp/integration" name="Bank">
	<procedure name="rates" securityTest="wl_unprotected"/>
	<procedure name="balance" securityTest="login"/>
</wl:adapter>
`)
	return dir
}

// TestPolicyLintCommand: hostd policy lint prints each finding with file and line, and exits 1
// exactly when a finding at or above --fail-on exists; bad flags exit 2.
func TestPolicyLintCommand(t *testing.T) {
	clean := lintProject(t, false)
	secret := lintProject(t, true)
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"warnings pass the default gate", []string{"--config", clean}, 0},
		{"an error fails the default gate", []string{"--config", secret}, 1},
		{"fail on warning", []string{"--config", clean, "--fail-on", "warning"}, 1},
		{"fail on info", []string{"--config", clean, "--fail-on", "info"}, 1},
		{"unknown level", []string{"--config", clean, "--fail-on", "fatal"}, 2},
		{"unknown format", []string{"--config", clean, "--format", "xml"}, 2},
		{"no config", nil, 2},
		{"token lifetime below a second", []string{"--config", clean, "--max-token-lifetime", "1ms"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"policy", "lint"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"policy", "lint", "--config", secret}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	ac := filepath.Join(secret, "server", "conf", "authenticationConfig.xml")
	bank := filepath.Join(secret, "adapters", "Bank", "Bank.xml")
	want := []string{
		bank + `:2: warning: [load] adapter "Bank" has no backend: its procedures are protected but answer 501 not_implemented; fix: add a <backend kind="wasm" module="..." sha256="..."/> (or kind="plugin") to run it in Realmgate`,
		bank + `:3: warning: [unprotected-procedure] procedure Bank.rates is wl_unprotected: any client calls it without logging in; fix: name a security test that logs the user in: securityTest="..."`,
		ac + `:8: info: [unused-realm] realm "spare" is defined but no security test uses it; fix: remove it, or name it in the security test that should require it`,
		ac + `:11: error: [clear-text-password] login module "reject": parameter "password" holds a secret in clear text; fix: keep secrets out of the project: store a hash (password-hash), or name a file the daemon alone can read`,
		ac + `:11: warning: [load] login module "reject": parameter "password" is not used by RejectingLoginModule`,
		secret + ": 1 error, 3 warnings, 1 info",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(stdout.String()), "\n")); diff != "" {
		t.Errorf("text output (-want +got):\n%s", diff)
	}

	stdout.Reset()
	if code := run(context.Background(), []string{"policy", "lint", "--config", clean, "--format", "json", "--fail-on", "info"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got []lintFinding
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("json output: %v\n%s", err, stdout.String())
	}
	var kinds []string
	for _, f := range got {
		if f.File == "" || f.Line <= 0 || f.Fix == "" {
			t.Errorf("finding without file, line or fix: %+v", f)
		}
		kinds = append(kinds, f.Severity+" "+f.Kind)
	}
	if diff := cmp.Diff([]string{"warning load", "warning unprotected-procedure", "info unused-realm"}, kinds); diff != "" {
		t.Errorf("json findings (-want +got):\n%s", diff)
	}
}
