package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

// fakeDirectory knows one user; down makes it fail as an unreachable directory would.
type fakeDirectory struct {
	calls atomic.Int64
	down  atomic.Bool
}

func (f *fakeDirectory) Authenticate(_ context.Context, user, password string) (engine.DirectoryUser, bool, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return engine.DirectoryUser{}, false, errors.New("dial tcp 127.0.0.1:389: connection refused")
	}
	if user != "ann" || password != "ann-secret" {
		return engine.DirectoryUser{}, false, nil
	}
	return engine.DirectoryUser{DN: "uid=ann,ou=people,dc=example,dc=com", DisplayName: "Ann",
		Groups: []string{"tellers"}, GroupDNs: []string{"cn=tellers,ou=groups,dc=example,dc=com"},
		Attributes: map[string][]string{"mail": {"ann@example.com"}}}, true, nil
}

func ldapLab(t testing.TB, dir engine.Directory) *lab {
	return newLabWith(t, labOptions{directories: func(_ *project.Project, lm *project.LoginModule) (engine.Directory, error) {
		if lm.Name != "Directory" {
			return nil, errors.New("unexpected module " + lm.Name)
		}
		return dir, nil
	}})
}

// ldapChallenged returns a client challenged by LdapRealm (step 2 of test ldap).
func ldapChallenged(l *lab) *client {
	c := l.client("android", "2.1.0")
	c.mustChallenge("ldap")
	c.mustChallenge("ldap")
	return c
}

func TestDirectoryRealm(t *testing.T) {
	var dir fakeDirectory
	l := ldapLab(t, &dir)

	c := ldapChallenged(l)
	res, err := c.answer("LdapRealm", `{"username":"ann","password":"wrong"}`)
	if err != nil || res.Retry == nil || res.Retry.Challenges["LdapRealm"]["error"] != "wrong user name or password" {
		t.Fatalf("wrong password: %+v %v, want the challenge again", res, err)
	}
	before := dir.calls.Load()
	if res, err := c.answer("LdapRealm", `{"username":"ann","password":""}`); err != nil || res.Retry == nil {
		t.Fatalf("empty password: %+v %v", res, err)
	}
	if dir.calls.Load() != before {
		t.Error("an empty password reached the directory")
	}
	c.mustSucceed("LdapRealm", `{"username":"ann","password":"ann-secret"}`)
	acc := c.mustAllow("ldap")
	want := map[string]any{
		"userId": "ann", "displayName": "Ann", "realm": "LdapRealm", "dn": "uid=ann,ou=people,dc=example,dc=com",
		"groups": []any{"tellers"}, "groupDNs": []any{"cn=tellers,ou=groups,dc=example,dc=com"},
		"attributes": map[string]any{"mail": []any{"ann@example.com"}},
	}
	if diff := cmp.Diff(want, acc.Identities["LdapRealm"]); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	// A directory that does not answer: CodeUnavailable, not a wrong password (no attempt
	// counted), and the right password works once it is back.
	dir.down.Store(true)
	c2 := ldapChallenged(l)
	for range 6 {
		_, err := c2.answer("LdapRealm", `{"username":"ann","password":"ann-secret"}`)
		var e *engine.Error
		if !errors.As(err, &e) || e.Code != engine.CodeUnavailable || e.Message != "the directory of login module Directory did not answer; try again later" {
			t.Fatalf("directory down: %#v, want CodeUnavailable", err)
		}
	}
	dir.down.Store(false)
	c2.mustSucceed("LdapRealm", `{"username":"ann","password":"ann-secret"}`)
}

// TestDirectoryRealmWithoutClient: without Options.Directories, an LDAP realm is refused as not
// implemented, never passed.
func TestDirectoryRealmWithoutClient(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("ldap")
	_, err := c.authorize("ldap")
	var e *engine.Error
	if !errors.As(err, &e) || e.Code != engine.CodeNotImplemented {
		t.Fatalf("Authorize: %v, want %s", err, engine.CodeNotImplemented)
	}
}
