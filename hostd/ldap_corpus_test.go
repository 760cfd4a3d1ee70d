package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/internal/slapdtest"
	"github.com/realmgate/realmgate/project"
)

// corpusLDIF adds what the corpus projects' LDAP modules expect of a directory under the test
// suffix: entries directly under dc=example,dc=com bound as uid={username},dc=example,dc=com (the
// public test directory one project names has such users, with the password "password").
const corpusLDIF = `
dn: uid=euler,dc=example,dc=com
objectClass: inetOrgPerson
uid: euler
cn: Leonhard Euler
sn: Euler
userPassword: password
`

var providerURL = regexp.MustCompile(`(<parameter\s+name="ldapProviderUrl"\s+value=")[^"]*(")`)

// TestLDAPCorpusProjects: the corpus projects that use LdapLoginModule load as they are; in a
// copy whose ldapProviderUrl is rewritten to the test directory on 127.0.0.1 (never the servers
// the files name), a user logs in through the Go client with the modules' other parameters
// unchanged. A project whose module binds Active Directory style ("{username}@domain", a filter
// on sAMAccountName) gets wrong credentials from OpenLDAP, which accepts DNs only as bind names:
// the login is refused cleanly, never a server error.
func TestLDAPCorpusProjects(t *testing.T) {
	var found []string
	for _, name := range corpustest.Projects(t) {
		b, err := os.ReadFile(filepath.Join(corpustest.Dir, name, "server/conf/authenticationConfig.xml"))
		if err == nil && strings.Contains(string(b), "LdapLoginModule") {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		t.Fatal("no corpus project uses LdapLoginModule")
	}
	s := slapdtest.Start(t, corpusLDIF)
	engine := jsEngineModule(t)
	for _, name := range found {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(corpustest.Dir, name)
			if _, err := project.Load(src, project.LoadOptions{}); err != nil {
				t.Fatalf("the project as it is does not load: %v", err)
			}
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			// Its JavaScript adapters run in the engine; their back ends are a local server.
			_, port := localBackend(t, nil)
			for rel, b := range corpusProjectFiles(t, dir, port, engine) {
				if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			conf := filepath.Join(dir, "server/conf/authenticationConfig.xml")
			b, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			xml := providerURL.ReplaceAllString(string(b), "${1}"+s.URL+"${2}")
			// Every ldapProviderUrl of the copy names the test directory.
			for _, m := range regexp.MustCompile(`name="ldapProviderUrl"\s+value="([^"]*)"`).FindAllStringSubmatch(xml, -1) {
				if m[1] != s.URL {
					t.Fatalf("ldapProviderUrl %q left in the copy", m[1])
				}
			}
			if err := os.WriteFile(conf, []byte(xml), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := project.Load(dir, project.LoadOptions{})
			if err != nil {
				t.Fatalf("the copy does not load: %v", err)
			}
			lm := p.LoginModules["LDAPLoginModule"]
			if lm == nil {
				t.Fatal("no login module LDAPLoginModule")
			}
			settings, err := lm.LDAP(dir)
			if err != nil {
				t.Fatal(err)
			}
			activeDirectory := !strings.Contains(settings.PrincipalPattern, "=")

			d := startDaemon(t, dir, "")
			app, env := appOf(t, p, "LDAPSecurityTest")
			version := p.Apps[app].Envs[env].Version
			if version == "" {
				version = "1.0"
			}
			c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: app, Environment: env, AppVersion: version})
			if err != nil {
				t.Fatal(err)
			}
			prompts := 0
			c.RegisterHandler("LDAPRealm", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
				prompts++
				if prompts > 1 {
					return client.Credentials{}, errors.New("refused")
				}
				return client.Credentials{Username: "euler", Password: "password"}, nil
			}})
			// What matters is the security test in front of the adapter's procedure, settled
			// through the realm.
			_, callErr := c.InvokeProcedure(context.Background(), "DummyAdapter", "getSecretData")
			info, err := c.Session(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			rs, passed := info.Realms["LDAPRealm"]
			if passed && rs.Identity["userId"] != "euler" {
				t.Errorf("LDAPRealm identity %v, want euler", rs.Identity)
			}
			if prompts == 0 {
				t.Fatalf("the client was never asked to log in to LDAPRealm (call: %v)", callErr)
			}
			var ce *client.Error
			if errors.As(callErr, &ce) && ce.Status >= 500 && ce.Status != 501 {
				t.Errorf("a server error: %v", callErr)
			}
			switch {
			case activeDirectory && passed:
				t.Error("an Active Directory bind name passed against OpenLDAP")
			case !activeDirectory && !passed:
				t.Errorf("euler did not pass LDAPRealm: %+v (call: %v)", info.Realms, callErr)
			}
			t.Logf("LDAPRealm passed: %v; procedure call: %v", passed, callErr)
		})
	}
}

// appOf returns an application and environment of p whose security test is test, or, when
// none has it, the first application and environment (the test then protects a procedure).
func appOf(t *testing.T, p *project.Project, test string) (string, string) {
	t.Helper()
	var apps []string
	for id := range p.Apps {
		apps = append(apps, id)
	}
	slices.Sort(apps)
	for _, id := range apps {
		for name, e := range p.Apps[id].Envs {
			if e.SecurityTest == test {
				return id, name
			}
		}
	}
	for _, id := range apps {
		var envs []string
		for name := range p.Apps[id].Envs {
			envs = append(envs, name)
		}
		slices.Sort(envs)
		if len(envs) > 0 {
			return id, envs[0]
		}
	}
	t.Fatal("the project has no application")
	return "", ""
}
