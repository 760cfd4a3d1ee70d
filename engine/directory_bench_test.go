package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/internal/slapdtest"
	"github.com/realmgate/realmgate/ldapauth"
)

// ldapDirectory adapts an ldapauth.Directory to engine.Directory, as the daemon does. When last
// is set it records there how long the directory took, so that a benchmark can tell the realm's
// own share of an answer from the directory's.
type ldapDirectory struct {
	d    *ldapauth.Directory
	last *time.Duration
}

func (l ldapDirectory) Authenticate(ctx context.Context, user, password string) (engine.DirectoryUser, bool, error) {
	t0 := time.Now()
	u, err := l.d.Authenticate(ctx, user, password)
	if l.last != nil {
		*l.last = time.Since(t0)
	}
	switch {
	case errors.Is(err, ldapauth.ErrInvalidCredentials):
		return engine.DirectoryUser{}, false, nil
	case err != nil:
		return engine.DirectoryUser{}, false, err
	}
	return engine.DirectoryUser{DN: u.DN, GroupDNs: u.Groups, Attributes: u.Attributes}, true, nil
}

// BenchmarkLDAPLogin measures a login through the LDAP realm against a test slapd, with its
// peers in the same run: the same library (go-ldap) doing the same directory operations bare,
// on one open connection. Two module configurations:
//
//	bind    validationType exists: the bind alone decides (peer: a bare Bind)
//	groups  the same, then the user's memberOf read (peer: a bare Bind then a base Search)
//
// For each: bare (the peer), directory (ldapauth.Directory.Authenticate, pooled), realm
// (engine.Answer of the LDAP realm: the session read and saved, the nonce, the failed-login
// bookkeeping, the module's directory login). nonvalidating/realm is the same answer to a realm
// whose module checks nothing: the engine's own share. dial-bind is a bare Bind on a new
// connection per login, what a client without a pool pays. Report realm / bare and directory /
// bare of each configuration.
func BenchmarkLDAPLogin(b *testing.B) {
	s := slapdtest.Start(b, "")
	dn, pw := "uid=alice,ou=people,dc=example,dc=com", slapdtest.AlicePassword
	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	bare := map[string]func() error{
		"bind": func() error { return conn.Bind(dn, pw) },
		"groups": func() error {
			if err := conn.Bind(dn, pw); err != nil {
				return err
			}
			_, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
				"(objectClass=*)", []string{"memberOf"}, nil))
			return err
		},
	}
	for _, mode := range []string{"bind", "groups"} {
		cfg := ldapauth.Config{URLs: []string{s.URL}, PrincipalPattern: "uid={username}," + slapdtest.People}
		if mode == "groups" {
			cfg.GroupAttribute = "memberOf"
		}
		d, err := ldapauth.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		b.Run(mode+"/bare", func(b *testing.B) {
			for b.Loop() {
				if err := bare[mode](); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode+"/directory", func(b *testing.B) {
			for b.Loop() {
				if _, err := d.Authenticate(context.Background(), "alice", pw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode+"/realm", func(b *testing.B) {
			l := ldapLab(b, ldapDirectory{d: d})
			l.discard.Store(true)
			body := `{"username":"alice","password":"` + pw + `"}`
			for b.Loop() {
				b.StopTimer()
				c := ldapChallenged(l)
				b.StartTimer()
				c.mustSucceed("LdapRealm", body)
			}
		})
	}
	// The engine's share: the same answer to a realm whose login module checks nothing
	// (NonValidatingLoginModule), in a test of the same shape.
	b.Run("nonvalidating/realm", func(b *testing.B) {
		l := newLab(b)
		l.discard.Store(true)
		for b.Loop() {
			b.StopTimer()
			c := l.client("android", "2.1.0")
			c.mustChallenge("xsrfForm")
			c.mustChallenge("xsrfForm")
			b.StartTimer()
			c.mustSucceed("FormRealm", `{"username":"alice","password":"x"}`)
		}
	})
	b.Run("dial-bind", func(b *testing.B) {
		for b.Loop() {
			c, err := ldap.DialURL(s.URL)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Bind(dn, pw); err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}

// BenchmarkLDAPLoginInterleaved measures the same logins as BenchmarkLDAPLogin, but each
// iteration times one bare operation, one pooled directory login and one realm answer in turn, so
// that the three meet the same load of a shared machine, then an answer to a realm whose module
// checks nothing (the engine's own share of any login), then the same after a bare bind; it
// reports their medians, the LDAP answer's own share (realm-own-ns: the answer less its
// directory call), to be read against nonvalidating-after-bind-ns, and the ratios
// realm/bare and directory/bare (the target: realm/bare at most 1.3 with the pool).
func BenchmarkLDAPLoginInterleaved(b *testing.B) {
	s := slapdtest.Start(b, "")
	dn, pw := "uid=alice,ou=people,dc=example,dc=com", slapdtest.AlicePassword
	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, mode := range []string{"bind", "groups"} {
		b.Run(mode, func(b *testing.B) {
			cfg := ldapauth.Config{URLs: []string{s.URL}, PrincipalPattern: "uid={username}," + slapdtest.People}
			if mode == "groups" {
				cfg.GroupAttribute = "memberOf"
			}
			d, err := ldapauth.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			var inside time.Duration
			l := ldapLab(b, ldapDirectory{d, &inside})
			l.discard.Store(true)
			body := `{"username":"alice","password":"` + pw + `"}`
			var bare, dir, realm, engineOnly, own, afterBind []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := conn.Bind(dn, pw); err != nil {
					b.Fatal(err)
				}
				if mode == "groups" {
					if _, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
						"(objectClass=*)", []string{"memberOf"}, nil)); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				if _, err := d.Authenticate(context.Background(), "alice", pw); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				c := ldapChallenged(l)
				t3 := time.Now()
				c.mustSucceed("LdapRealm", body)
				t4 := time.Now()
				// The engine's own share: the same answer to a realm whose module checks nothing.
				nc := l.client("android", "2.1.0")
				nc.mustChallenge("xsrfForm")
				nc.mustChallenge("xsrfForm")
				t5 := time.Now()
				nc.mustSucceed("FormRealm", `{"username":"alice","password":"x"}`)
				t6 := time.Now()
				// The same answer right after a directory round trip (untimed), as the LDAP
				// answer's own share runs: what the engine's work costs once the process has
				// waited on the network and the directory server has had the CPU.
				nc = l.client("android", "2.1.0")
				nc.mustChallenge("xsrfForm")
				nc.mustChallenge("xsrfForm")
				if err := conn.Bind(dn, pw); err != nil {
					b.Fatal(err)
				}
				t7 := time.Now()
				nc.mustSucceed("FormRealm", `{"username":"alice","password":"x"}`)
				afterBind = append(afterBind, time.Since(t7))
				bare, dir, realm = append(bare, t1.Sub(t0)), append(dir, t2.Sub(t1)), append(realm, t4.Sub(t3))
				engineOnly = append(engineOnly, t6.Sub(t5))
				own = append(own, t4.Sub(t3)-inside)
			}
			// The realm's share of its answer: the answer less its directory call.
			b.ReportMetric(float64(median(own).Nanoseconds()), "realm-own-ns")
			b.ReportMetric(float64(median(afterBind).Nanoseconds()), "nonvalidating-after-bind-ns")
			mb, md, mr, me := median(bare), median(dir), median(realm), median(engineOnly)
			b.ReportMetric(float64(me.Nanoseconds()), "nonvalidating-realm-ns")
			b.ReportMetric(float64(mb.Nanoseconds()), "bare-ns")
			b.ReportMetric(float64(md.Nanoseconds()), "directory-ns")
			b.ReportMetric(float64(mr.Nanoseconds()), "realm-ns")
			b.ReportMetric(float64(md)/float64(mb), "directory/bare")
			b.ReportMetric(float64(mr)/float64(mb), "realm/bare")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
