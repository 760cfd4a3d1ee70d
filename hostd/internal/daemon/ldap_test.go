package daemon

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/realmgate/realmgate/project"
)

// ldapProject writes a project whose login module Directory has the given parameters.
func ldapProject(t *testing.T, params string, files ...string) (*project.Project, *project.LoginModule) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("pw\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "server/conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	xml := `<?xml version="1.0" encoding="UTF-8"?>
<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests><customSecurityTest name="t"><test realm="r" isInternalUserID="true"/></customSecurityTest></securityTests>
	<realms><realm name="r" loginModule="Directory"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm></realms>
	<loginModules><loginModule name="Directory"><className>com.worklight.core.auth.ext.LdapLoginModule</className>` + params + `</loginModule></loginModules>
</tns:loginConfiguration>`
	if err := os.WriteFile(filepath.Join(conf, "authenticationConfig.xml"), []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(dir, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p, p.LoginModules["Directory"]
}

// TestDirectoriesAcrossReloads: a directory whose configuration did not change keeps its pool
// across loads; one no load opened since is closed by retain; a service account's password comes
// from a private file only.
func TestDirectoriesAcrossReloads(t *testing.T) {
	const a = `<parameter name="ldapProviderUrl" value="ldap://127.0.0.1:1"/><parameter name="ldapSecurityPrincipalPattern" value="uid={username},dc=x"/>`
	const b = `<parameter name="ldapProviderUrl" value="ldap://127.0.0.1:2"/><parameter name="ldapSecurityPrincipalPattern" value="uid={username},dc=x"/>`
	var ds directories
	open := func(params string) directory {
		p, lm := ldapProject(t, params)
		d, err := ds.opener(p, lm)
		if err != nil {
			t.Fatal(err)
		}
		return d.(directory)
	}
	first := open(a)
	ds.retain()
	if again := open(a); again.d != first.d {
		t.Error("an unchanged configuration got a new directory on reload")
	}
	ds.retain()
	other := open(b)
	ds.retain() // a is no longer configured
	if len(ds.open) != 1 || ds.open[mustKey(t, &ds, other)] == nil {
		t.Errorf("%d directories open after a reload to another configuration, want only the new one", len(ds.open))
	}
	ds.close()
	if len(ds.open) != 0 {
		t.Error("close left directories open")
	}
	// A closed directory still answers (requests in flight on an old runtime finish).
	if _, _, err := first.Authenticate(context.Background(), "alice", "pw"); err == nil {
		t.Error("a login against no server succeeded")
	}

	// The service account's password file must be private.
	p, lm := ldapProject(t, a+`<parameter name="ldapBindDn" value="cn=reader,dc=x"/><parameter name="ldapBindPasswordFile" value="reader.secret"/>`, "reader.secret")
	secret := filepath.Join(p.Dir, "reader.secret")
	if _, err := ds.opener(p, lm); err == nil {
		t.Error("a password file others may read was accepted")
	}
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.opener(p, lm); err != nil {
		t.Errorf("a private password file: %v", err)
	}
}

func mustKey(t *testing.T, ds *directories, d directory) string {
	t.Helper()
	for k, v := range ds.open {
		if v == d.d {
			return k
		}
	}
	t.Fatal("directory not open")
	return ""
}
