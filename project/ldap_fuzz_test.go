package project

import (
	"strings"
	"testing"
)

// FuzzLDAPSettings: whatever LdapLoginModule's parameters hold, reading them never panics, and
// settings read without an error keep the rules the directory client relies on.
func FuzzLDAPSettings(f *testing.F) {
	f.Add("ldaps://127.0.0.1:636", "2000", "exists", "uid={username},dc=x", "", "", "ignore", "", "8")
	f.Add("ldap://a ldap://b:389", "100", "searchPattern", "", "(&(uid={username})(x=\\29))", "dc=x", "throw", "false", "1")
	f.Add("http://x", "-1", "custom", "{username}", "(", "", "follow", "maybe", "65")
	f.Fuzz(func(t *testing.T, url, timeout, validation, principal, filter, base, referral, startTLS, pool string) {
		m := &LoginModule{Name: "m", Params: Params{
			{Name: LDAPProviderURL, Value: url}, {Name: LDAPTimeoutMs, Value: timeout},
			{Name: LDAPValidationType, Value: validation}, {Name: LDAPPrincipalPattern, Value: principal},
			{Name: LDAPFilterPattern, Value: filter}, {Name: LDAPSearchBase, Value: base},
			{Name: LDAPReferral, Value: referral}, {Name: LDAPStartTLS, Value: startTLS}, {Name: LDAPPoolSize, Value: pool},
		}}
		s, err := m.LDAP(t.TempDir())
		if err != nil {
			return
		}
		if len(s.URLs) == 0 {
			t.Fatal("no URL accepted")
		}
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "ldap://") && !strings.HasPrefix(u, "ldaps://") {
				t.Fatalf("URL %q accepted", u)
			}
		}
		if s.Timeout < LDAPMinTimeout || s.Timeout > LDAPMaxTimeout || s.PoolSize < 1 || s.PoolSize > LDAPMaxPoolSize {
			t.Fatalf("timeout %v, pool %d accepted", s.Timeout, s.PoolSize)
		}
		if s.PrincipalPattern != "" && !strings.Contains(s.PrincipalPattern, LDAPUsername) {
			t.Fatalf("principal %q accepted", s.PrincipalPattern)
		}
		if s.PrincipalPattern == "" && (!s.SearchPattern || !strings.Contains(s.FilterPattern, LDAPUsername) || s.SearchBase == "") {
			t.Fatalf("no way to find the user accepted: %+v", s)
		}
	})
}
