package ldapauth_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/internal/slapdtest"
	"github.com/realmgate/realmgate/ldapauth"
)

const (
	alice = "uid=alice,ou=people,dc=example,dc=com"
	carol = "uid=carol,ou=people,dc=example,dc=com"
)

// byBind is Worklight's validationType exists with a DN principal pattern.
func byBind(s *slapdtest.Server) ldapauth.Config {
	return ldapauth.Config{
		URLs: []string{s.URL}, Timeout: 10 * time.Second, Mode: ldapauth.Exists,
		PrincipalPattern: "uid={username}," + slapdtest.People,
		GroupAttribute:   "memberOf", Attributes: []string{"mail", "displayName"},
	}
}

func newDir(t *testing.T, cfg ldapauth.Config) *ldapauth.Directory {
	t.Helper()
	d, err := ldapauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// result is what a login gives, in a form cmp can compare: the user or the error class.
type result struct {
	User *ldapauth.User
	Err  string
}

func login(d *ldapauth.Directory, user, pass string) result {
	u, err := d.Authenticate(context.Background(), user, pass)
	switch {
	case err == nil:
		return result{User: u}
	case errors.Is(err, ldapauth.ErrInvalidCredentials):
		return result{Err: "invalid"}
	case errors.Is(err, ldapauth.ErrUnavailable):
		return result{Err: "unavailable"}
	}
	return result{Err: "other: " + err.Error()}
}

var invalid = result{Err: "invalid"}

func TestAuthenticate(t *testing.T) {
	s := slapdtest.Start(t, "")
	aliceUser := &ldapauth.User{DN: alice, Groups: []string{"cn=tellers,ou=groups,dc=example,dc=com"},
		Attributes: map[string][]string{"mail": {"alice@example.com"}, "displayName": {"Alice Teller"}}}

	bind := byBind(s)
	// Worklight's searchPattern: a bind, then the user must match the filter (a group here).
	bindThenSearch := byBind(s)
	bindThenSearch.Mode = ldapauth.SearchPattern
	bindThenSearch.SearchBase = slapdtest.People
	bindThenSearch.FilterPattern = "(&(objectClass=inetOrgPerson)(uid={username})(memberOf=cn=tellers,ou=groups,dc=example,dc=com))"
	// No principal pattern: the service account finds the entry, then the user binds as it.
	searchThenBind := ldapauth.Config{
		URLs: []string{s.URL}, Timeout: 10 * time.Second, Mode: ldapauth.SearchPattern,
		FilterPattern: "(uid={username})", SearchBase: slapdtest.Suffix,
		BindDN: slapdtest.ReaderDN, BindPassword: slapdtest.ReaderPassword,
		GroupSearchBase: slapdtest.Groups, GroupSearchFilter: "(member={dn})",
		Attributes: []string{"mail"},
	}
	throw := searchThenBind
	throw.Referral = ldapauth.ReferralThrow
	wrongService := searchThenBind
	wrongService.BindPassword = "wrong"

	tests := []struct {
		name       string
		cfg        ldapauth.Config
		user, pass string
		want       result
	}{
		{"bind: right password", bind, "alice", slapdtest.AlicePassword, result{User: aliceUser}},
		{"bind: wrong password", bind, "alice", "nope", invalid},
		{"bind: unknown user", bind, "mallory", "whatever", invalid},
		{"bind: empty password", bind, "alice", "", invalid},
		{"bind: another user's password", bind, "alice", slapdtest.BobPassword, invalid},
		{"bind: no groups", bind, "bob", slapdtest.BobPassword, result{User: &ldapauth.User{
			DN: "uid=bob,ou=people,dc=example,dc=com", Attributes: map[string][]string{"mail": {"bob@example.com"}}}}},
		{"bind: a comma in the name is escaped", bind, slapdtest.CommaUser, slapdtest.CommaUserPassword, result{User: &ldapauth.User{
			DN: `uid=comma\,user,ou=people,dc=example,dc=com`, Attributes: map[string][]string{}}}},
		{"bind: DN injection", bind, "alice,ou=people,dc=example,dc=com", slapdtest.AlicePassword, invalid},
		{"bind: DN injection with a plus", bind, "alice+cn=x", slapdtest.AlicePassword, invalid},
		{"bind: filter metacharacters", bind, "*)(uid=*", slapdtest.AlicePassword, invalid},
		{"bind: a NUL byte", bind, "alice\x00", slapdtest.AlicePassword, invalid},

		{"bind+search: in the group", bindThenSearch, "alice", slapdtest.AlicePassword, result{User: aliceUser}},
		{"bind+search: not in the group", bindThenSearch, "carol", slapdtest.CarolPassword, invalid},
		{"bind+search: wrong password", bindThenSearch, "alice", "nope", invalid},

		{"search+bind: right password", searchThenBind, "carol", slapdtest.CarolPassword, result{User: &ldapauth.User{
			DN: carol, Groups: []string{"cn=sales,ou=groups,dc=example,dc=com"}, Attributes: map[string][]string{"mail": {"carol@example.com"}}}}},
		{"search+bind: wrong password", searchThenBind, "carol", "nope", invalid},
		{"search+bind: unknown user", searchThenBind, "mallory", "x", invalid},
		{"search+bind: empty password", searchThenBind, "carol", "", invalid},
		// Unescaped, (uid=ali*) would find alice and her password would log in "ali*".
		{"search+bind: a wildcard", searchThenBind, "ali*", slapdtest.AlicePassword, invalid},
		{"search+bind: filter injection", searchThenBind, "*)(uid=*", slapdtest.AlicePassword, invalid},
		{"search+bind: filter injection with an or", searchThenBind, "admin)(|(a=*", slapdtest.AlicePassword, invalid},
		{"search+bind: a backslash", searchThenBind, `alice\`, slapdtest.AlicePassword, invalid},
		// The search under the suffix meets ou=partners, a referral: ignored (ManageDsaIT)
		// by default, a failure when the policy is throw.
		{"referral: throw", throw, "carol", slapdtest.CarolPassword, result{Err: "unavailable"}},
		{"service account refused", wrongService, "carol", slapdtest.CarolPassword, result{Err: "unavailable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDir(t, tc.cfg)
			got := login(d, tc.user, tc.pass)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Authenticate(%q) (-want +got):\n%s", tc.user, diff)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	s := slapdtest.Start(t, "")
	ldaps := byBind(s)
	ldaps.URLs, ldaps.RootCAs = []string{s.LDAPSURL}, s.CA
	startTLS := byBind(s)
	startTLS.StartTLS, startTLS.RootCAs = true, s.CA
	untrusted := ldaps
	untrusted.RootCAs = nil // the system's roots do not know the test CA
	untrustedStartTLS := startTLS
	untrustedStartTLS.RootCAs = nil
	for _, tc := range []struct {
		name string
		cfg  ldapauth.Config
		want string
	}{
		{"ldaps", ldaps, ""},
		{"StartTLS", startTLS, ""},
		{"ldaps, unknown CA", untrusted, "unavailable"},
		{"StartTLS, unknown CA", untrustedStartTLS, "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := login(newDir(t, tc.cfg), "alice", slapdtest.AlicePassword)
			if got.Err != tc.want {
				t.Fatalf("got %+v, want error %q", got, tc.want)
			}
		})
	}
}

// countingDialer counts the connections open at once.
type countingDialer struct {
	open, max, dials atomic.Int64
}

func (c *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.dials.Add(1)
	n := c.open.Add(1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	return &countedConn{Conn: conn, c: c}, nil
}

type countedConn struct {
	net.Conn
	c    *countingDialer
	once sync.Once
}

func (cc *countedConn) Close() error {
	cc.once.Do(func() { cc.c.open.Add(-1) })
	return cc.Conn.Close()
}

func TestPoolIsBoundedAndReused(t *testing.T) {
	s := slapdtest.Start(t, "")
	var cd countingDialer
	cfg := byBind(s)
	cfg.PoolSize, cfg.Dialer = 2, cd.dial
	d := newDir(t, cfg)
	var wg sync.WaitGroup
	var failures atomic.Int64
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, pass := "alice", slapdtest.AlicePassword
			if i%2 == 1 {
				user, pass = "bob", slapdtest.BobPassword
			}
			if r := login(d, user, pass); r.Err != "" || r.User.DN != "uid="+user+",ou=people,dc=example,dc=com" {
				failures.Add(1)
			}
		}()
	}
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Errorf("%d of 40 concurrent logins failed or named another user", f)
	}
	if m := cd.max.Load(); m > 2 {
		t.Errorf("%d connections open at once, want at most the pool's 2", m)
	}
	if n := cd.dials.Load(); n > 2 {
		t.Errorf("%d dials for 40 logins with a pool of 2: connections are not reused", n)
	}
	// Empty passwords never reach the directory.
	before := cd.dials.Load()
	d.Close()
	if r := login(d, "alice", ""); r != invalid {
		t.Errorf("empty password: %+v", r)
	}
	if cd.dials.Load() != before {
		t.Error("an empty password made a connection")
	}
}

func TestDirectoryDownSlowAndBack(t *testing.T) {
	s := slapdtest.Start(t, "")
	cfg := byBind(s)
	cfg.Timeout = 500 * time.Millisecond
	d := newDir(t, cfg)
	if r := login(d, "alice", slapdtest.AlicePassword); r.Err != "" {
		t.Fatalf("first login: %+v", r)
	}

	// A hung server: the login fails with ErrUnavailable after the timeout, not before, and
	// not much after.
	s.Pause(t)
	start := time.Now()
	r := login(d, "alice", slapdtest.AlicePassword)
	took := time.Since(start)
	s.Resume(t)
	if r.Err != "unavailable" || took < 400*time.Millisecond || took > 10*time.Second {
		t.Errorf("hung server: %+v after %v, want unavailable after about 500ms", r, took)
	}
	if r := login(d, "alice", slapdtest.AlicePassword); r.Err != "" {
		t.Fatalf("after the pause: %+v", r)
	}

	// A stopped server: unavailable at once; started again, the same Directory logs in (its
	// pooled connection died with the server).
	s.Stop(t)
	start = time.Now()
	if r := login(d, "alice", slapdtest.AlicePassword); r.Err != "unavailable" {
		t.Errorf("stopped server: %+v", r)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a refused connection took %v", took)
	}
	s.Restart(t)
	if r := login(d, "alice", slapdtest.AlicePassword); r.Err != "" {
		t.Fatalf("after the restart: %+v", r)
	}
	if r := login(d, "alice", "wrong"); r != invalid {
		t.Fatalf("after the restart, a wrong password: %+v", r)
	}
}

// TestFailover: the servers of the URL list are tried in order; a dead one before a live one
// costs a refused connection, not a failed login.
func TestFailover(t *testing.T) {
	s := slapdtest.Start(t, "")
	cfg := byBind(s)
	cfg.URLs = []string{"ldap://127.0.0.1:1", s.URL}
	if r := login(newDir(t, cfg), "alice", slapdtest.AlicePassword); r.Err != "" {
		t.Fatalf("login with a dead server first: %+v", r)
	}
	cfg.URLs = []string{"ldap://127.0.0.1:1"}
	if r := login(newDir(t, cfg), "alice", slapdtest.AlicePassword); r.Err != "unavailable" {
		t.Fatalf("login with a dead server only: %+v", r)
	}
}

func TestNewRefusesBadConfigs(t *testing.T) {
	ok := ldapauth.Config{URLs: []string{"ldap://127.0.0.1:1"}, PrincipalPattern: "uid={username},dc=x"}
	for _, tc := range []struct {
		name string
		edit func(*ldapauth.Config)
	}{
		{"no URL", func(c *ldapauth.Config) { c.URLs = nil }},
		{"http URL", func(c *ldapauth.Config) { c.URLs = []string{"http://127.0.0.1"} }},
		{"credentials in the URL", func(c *ldapauth.Config) { c.URLs = []string{"ldap://u:p@127.0.0.1"} }},
		{"no host", func(c *ldapauth.Config) { c.URLs = []string{"ldap:///dc=x"} }},
		{"StartTLS on ldaps", func(c *ldapauth.Config) { c.URLs, c.StartTLS = []string{"ldaps://127.0.0.1"}, true }},
		{"principal without placeholder", func(c *ldapauth.Config) { c.PrincipalPattern = "uid=alice,dc=x" }},
		{"exists without principal", func(c *ldapauth.Config) { c.PrincipalPattern = "" }},
		{"search without filter", func(c *ldapauth.Config) { c.Mode = ldapauth.SearchPattern }},
		{"bad filter", func(c *ldapauth.Config) { c.Mode, c.FilterPattern = ldapauth.SearchPattern, "(uid={username}" }},
		{"search then bind without base", func(c *ldapauth.Config) {
			c.Mode, c.PrincipalPattern, c.FilterPattern = ldapauth.SearchPattern, "", "(uid={username})"
		}},
		{"service account without password", func(c *ldapauth.Config) { c.BindDN = "cn=reader,dc=x" }},
		{"pool too big", func(c *ldapauth.Config) { c.PoolSize = ldapauth.MaxPoolSize + 1 }},
		{"group filter without placeholder", func(c *ldapauth.Config) { c.GroupSearchBase, c.GroupSearchFilter = "ou=g", "(cn=x)" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			if _, err := ldapauth.New(cfg); err == nil {
				t.Errorf("New accepted %+v", cfg)
			}
		})
	}
	if _, err := ldapauth.New(ok); err != nil {
		t.Errorf("New(%+v): %v", ok, err)
	}
}

func TestEscaping(t *testing.T) {
	for _, tc := range []struct{ user, principal, filter string }{
		{"alice", "uid=alice,dc=x", "(uid=alice)"},
		{"*)(uid=*", "uid=*)(uid=*,dc=x", `(uid=\2a\29\28uid=\2a)`},
		{"admin)(|(a=*", "uid=admin)(|(a=*,dc=x", `(uid=admin\29\28|\28a=\2a)`},
		{"a,b+c=d", `uid=a\,b\+c=d,dc=x`, "(uid=a,b+c=d)"},
		{` #lead`, `uid=\ #lead,dc=x`, "(uid= #lead)"},
		{`#x \`, `uid=\#x \\,dc=x`, `(uid=#x \5c)`},
		{"nul\x00", `uid=nul\00,dc=x`, `(uid=nul\00)`},
	} {
		if got := ldapauth.PrincipalFor("uid={username},dc=x", tc.user); got != tc.principal {
			t.Errorf("PrincipalFor(%q) = %q, want %q", tc.user, got, tc.principal)
		}
		if got := ldapauth.FilterFor("(uid={username})", tc.user, ""); got != tc.filter {
			t.Errorf("FilterFor(%q) = %q, want %q", tc.user, got, tc.filter)
		}
	}
}

// TestStartTLSHandshakeIsBounded: a server that accepts StartTLS and then never speaks TLS fails
// the login with ErrUnavailable at the timeout (go-ldap bounds the request, not the handshake).
func TestStartTLSHandshakeIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	release := make(chan struct{})
	defer close(release)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err != nil { // the StartTLS request, message 1
			return
		}
		// ExtendedResponse, message 1, success: then silence.
		c.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
		<-release
	}()
	d := newDir(t, ldapauth.Config{URLs: []string{"ldap://" + ln.Addr().String()}, StartTLS: true,
		Timeout: 500 * time.Millisecond, PrincipalPattern: "uid={username},dc=x"})
	start := time.Now()
	r := login(d, "alice", "pw")
	if took := time.Since(start); r.Err != "unavailable" || took > 10*time.Second {
		t.Fatalf("%+v after %v, want unavailable after about 500ms", r, took)
	}
}
