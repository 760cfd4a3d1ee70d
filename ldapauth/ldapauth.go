// Package ldapauth checks user names and passwords against an LDAP directory, as Worklight's
// LdapLoginModule did: a simple bind with a principal pattern ("uid={username},ou=people,..."),
// optionally followed by a search with a filter pattern that the user must match, or a search
// for the user's entry followed by a bind as the entry found. It reads the user's groups (an
// attribute of the entry such as memberOf, or a group search) and chosen attributes.
//
// A Directory keeps a bounded pool of connections. Every use of a connection starts with a bind
// (the user's, or the service account's), so a connection left bound as one user never serves
// another user's search. A connection that fails at the network level is closed, not pooled;
// the next use dials again, so a directory that comes back is used again without a restart.
//
// User input never becomes syntax: {username} is escaped as an RFC 4514 attribute value in a
// principal pattern and as an RFC 4515 assertion value in a filter pattern, and an empty
// password is refused before any connection is made (RFC 4513 section 5.1.2: a simple bind with
// a name and no password is an unauthenticated bind, which many servers accept).
package ldapauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

// Errors of Authenticate, for errors.Is.
var (
	// ErrInvalidCredentials: the user name and password do not identify a user the
	// configuration accepts (wrong password, unknown user, a user the search pattern does not
	// match, an empty password).
	ErrInvalidCredentials = errors.New("ldapauth: wrong user name or password")
	// ErrUnavailable: the directory could not answer (no server reachable, a timeout, all
	// connections busy, an unexpected result). The caller may try again later.
	ErrUnavailable = errors.New("ldapauth: the directory is unavailable")
)

// Mode is how a login is validated (Worklight's validationType).
type Mode int

// Modes.
const (
	// Exists: the bind as the principal pattern decides.
	Exists Mode = iota
	// SearchPattern: the user must also match the filter pattern under the search base: with
	// a principal pattern, a bind then a search; without one, a search for the user's entry
	// (as the service account, or anonymously) then a bind as the entry found.
	SearchPattern
)

// Referral is the policy for referrals a directory returns (Worklight's ldapReferral).
type Referral int

// Referral policies.
const (
	// ReferralIgnore asks the server to return referral objects as plain entries
	// (ManageDsaIT) and ignores search continuation references.
	ReferralIgnore Referral = iota
	// ReferralThrow fails a login whose search meets a referral.
	ReferralThrow
)

// Placeholders of the patterns.
const (
	// UsernamePlaceholder is replaced by the user name in the principal, filter and group
	// filter patterns.
	UsernamePlaceholder = "{username}"
	// DNPlaceholder is replaced by the user's DN in the group filter pattern.
	DNPlaceholder = "{dn}"
)

// Bounds.
const (
	// MaxPoolSize bounds Config.PoolSize.
	MaxPoolSize = 64
	// DefaultPoolSize is the pool size when Config.PoolSize is zero.
	DefaultPoolSize = 8
	// DefaultTimeout is the timeout when Config.Timeout is zero.
	DefaultTimeout = 5 * time.Second
	// MaxGroups bounds the groups read for one user: a user's identity is kept in the session.
	MaxGroups = 256
	// MaxValues bounds the values kept of one attribute.
	MaxValues = 16
	// MaxUsername bounds the user names sent to the directory.
	MaxUsername = 256
)

// Config describes a directory and how a login is checked against it. Patterns are checked by
// New; the project loader checks the same rules with file and line.
type Config struct {
	// URLs are ldap:// or ldaps:// URLs, tried in order until one connects (JNDI's
	// space-separated provider URL list). A URL's path, if any, is ignored.
	URLs []string
	// StartTLS upgrades ldap:// connections with the StartTLS operation; a connection that
	// cannot upgrade fails (never falls back to clear text).
	StartTLS bool
	// RootCAs verify the server's certificate for ldaps:// and StartTLS; nil uses the system's.
	RootCAs *x509.CertPool `json:"-"`
	// Timeout bounds a whole login: connecting, binding and searching.
	Timeout time.Duration
	Mode    Mode
	// PrincipalPattern is the bind name with UsernamePlaceholder ("uid={username},dc=example,dc=com"
	// or "{username}@example.com"). Empty: search for the entry, then bind as it.
	PrincipalPattern string
	// FilterPattern is the search filter with UsernamePlaceholder (Mode SearchPattern).
	FilterPattern string
	// SearchBase is where searches for users start.
	SearchBase string
	Referral   Referral
	// BindDN and BindPassword are a service account: searches (the user search of
	// search-then-bind, the attributes and group reads) run bound as it; without one they run
	// as the user just bound (or anonymously before the user is known).
	BindDN, BindPassword string
	// GroupAttribute is an attribute of the user's entry that lists the DNs of its groups
	// ("memberOf"); empty reads none.
	GroupAttribute string
	// GroupSearchBase and GroupSearchFilter find groups by search: the filter has
	// DNPlaceholder and/or UsernamePlaceholder ("(member={dn})"). Empty base: no search.
	GroupSearchBase, GroupSearchFilter string
	// Attributes are the attributes of the user's entry to copy into the User.
	Attributes []string
	// PoolSize bounds the connections open at once (DefaultPoolSize when zero).
	PoolSize int
	// Dialer dials the servers; nil uses a net.Dialer (tests use it to count connections).
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error) `json:"-"`
}

// User is a user the directory authenticated.
type User struct {
	// DN is the entry the user bound as ("" when the principal pattern is not a DN and no
	// search found the entry).
	DN string
	// Groups are the DNs of the user's groups, as the directory wrote them, without duplicates.
	Groups []string
	// Attributes holds the values of Config.Attributes the entry has.
	Attributes map[string][]string
}

// Directory authenticates users against one directory. It is safe for concurrent use.
type Directory struct {
	cfg     Config
	servers []server
	tls     *tls.Config
	pool    *pool
	// principalIsDN: the principal pattern is a DN ("uid={username},..."), not an Active
	// Directory name ("{username}@example.com"); the bind name is then the user's DN (the name
	// is escaped, so the DN stays one whatever the name: FuzzPrincipalFor).
	principalIsDN bool
}

type server struct {
	url   *url.URL
	host  string // host:port
	ldaps bool
}

// New checks cfg and returns a Directory. It connects to nothing: the first login does.
func New(cfg Config) (*Directory, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("ldapauth: no server URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = DefaultPoolSize
	}
	if cfg.PoolSize < 1 || cfg.PoolSize > MaxPoolSize {
		return nil, fmt.Errorf("ldapauth: pool size %d is outside 1..%d", cfg.PoolSize, MaxPoolSize)
	}
	d := &Directory{cfg: cfg}
	for _, raw := range cfg.URLs {
		s, err := parseURL(raw)
		if err != nil {
			return nil, err
		}
		if s.ldaps && cfg.StartTLS {
			return nil, fmt.Errorf("ldapauth: %s is ldaps: StartTLS applies to ldap:// URLs only", raw)
		}
		d.servers = append(d.servers, s)
	}
	if err := CheckPatterns(cfg.Mode, cfg.PrincipalPattern, cfg.FilterPattern); err != nil {
		return nil, err
	}
	if cfg.PrincipalPattern == "" && cfg.SearchBase == "" {
		return nil, errors.New("ldapauth: a search for the user needs a search base")
	}
	if cfg.GroupSearchBase != "" && !strings.Contains(cfg.GroupSearchFilter, DNPlaceholder) &&
		!strings.Contains(cfg.GroupSearchFilter, UsernamePlaceholder) {
		return nil, fmt.Errorf("ldapauth: the group filter %q names neither %s nor %s", cfg.GroupSearchFilter, DNPlaceholder, UsernamePlaceholder)
	}
	if cfg.BindDN != "" && cfg.BindPassword == "" {
		return nil, errors.New("ldapauth: the service account has no password (an unauthenticated bind would pass)")
	}
	if cfg.PrincipalPattern != "" && strings.Contains(cfg.PrincipalPattern, "=") {
		_, err := ldap.ParseDN(PrincipalFor(cfg.PrincipalPattern, "x"))
		d.principalIsDN = err == nil
	}
	d.tls = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	d.pool = newPool(cfg.PoolSize)
	return d, nil
}

// CheckURL checks one ldap:// or ldaps:// URL: a host, no credentials, no query.
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

func parseURL(raw string) (server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return server{}, fmt.Errorf("ldapauth: URL %q: %w", raw, err)
	}
	s := server{url: u}
	switch strings.ToLower(u.Scheme) {
	case "ldap":
	case "ldaps":
		s.ldaps = true
	default:
		return server{}, fmt.Errorf("ldapauth: URL %q: the scheme must be ldap or ldaps", raw)
	}
	if u.Hostname() == "" {
		return server{}, fmt.Errorf("ldapauth: URL %q names no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return server{}, fmt.Errorf("ldapauth: URL %q: credentials, a query or a fragment are not allowed", raw)
	}
	port := u.Port()
	if port == "" {
		port = "389"
		if s.ldaps {
			port = "636"
		}
	}
	s.host = net.JoinHostPort(u.Hostname(), port)
	return s, nil
}

// CheckPatterns checks the principal and filter patterns of a mode: each names
// UsernamePlaceholder, a filter pattern (with the placeholder filled) parses as a filter.
func CheckPatterns(mode Mode, principal, filter string) error {
	if principal != "" && !strings.Contains(principal, UsernamePlaceholder) {
		return fmt.Errorf("ldapauth: the principal pattern %q does not contain %s", principal, UsernamePlaceholder)
	}
	switch mode {
	case Exists:
		if principal == "" {
			return errors.New("ldapauth: validation by bind needs a principal pattern")
		}
	case SearchPattern:
		if filter == "" {
			return errors.New("ldapauth: validation by search needs a filter pattern")
		}
		if principal == "" && !strings.Contains(filter, UsernamePlaceholder) {
			return fmt.Errorf("ldapauth: the filter pattern %q does not contain %s", filter, UsernamePlaceholder)
		}
		if _, err := ldap.CompileFilter(strings.ReplaceAll(filter, UsernamePlaceholder, "x")); err != nil {
			return fmt.Errorf("ldapauth: the filter pattern %q: %w", filter, err)
		}
	}
	return nil
}

// PrincipalFor returns the bind name of username: the pattern with the placeholder replaced by
// the name escaped as an RFC 4514 attribute value.
func PrincipalFor(pattern, username string) string {
	return strings.ReplaceAll(pattern, UsernamePlaceholder, rfc4514.Escape(username))
}

// FilterFor returns the filter of username (and dn, for group filters): the placeholders
// replaced by the values escaped as RFC 4515 assertion values.
func FilterFor(pattern, username, dn string) string {
	f := strings.ReplaceAll(pattern, UsernamePlaceholder, ldap.EscapeFilter(username))
	return strings.ReplaceAll(f, DNPlaceholder, ldap.EscapeFilter(dn))
}

// Close closes the idle connections; connections in use close when they are returned. A closed
// Directory still works, without keeping connections.
func (d *Directory) Close() { d.pool.close() }

// Authenticate checks username and password. It returns ErrInvalidCredentials (wrapped) when
// they do not identify an accepted user and ErrUnavailable (wrapped, with the cause) when the
// directory could not answer within the timeout. Neither error carries the password.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (*User, error) {
	if username == "" || password == "" {
		// An empty password would be an unauthenticated bind, which succeeds on most servers.
		return nil, ErrInvalidCredentials
	}
	if len(username) > MaxUsername || !utf8.ValidString(username) || strings.IndexByte(username, 0) >= 0 {
		return nil, ErrInvalidCredentials
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		c, reused, err := d.pool.get(ctx, d.dial)
		if err != nil {
			return nil, err
		}
		u, err := d.login(ctx, c, username, password)
		healthy := err == nil || errors.Is(err, ErrInvalidCredentials)
		d.pool.put(c, healthy)
		// A pooled connection may have died since its last use (the server restarted):
		// try once more on a new one.
		if !healthy && reused && attempt == 0 && ctx.Err() == nil && isNetwork(err) {
			continue
		}
		return u, err
	}
}

func isNetwork(err error) bool {
	return ldap.IsErrorWithCode(err, ldap.ErrorNetwork)
}

// login runs one login on c, which it owns.
func (d *Directory) login(ctx context.Context, c *ldap.Conn, username, password string) (*User, error) {
	op := ops{ctx: ctx, c: c, d: d}
	u := &User{}
	var entry *ldap.Entry
	if d.cfg.PrincipalPattern != "" {
		principal := PrincipalFor(d.cfg.PrincipalPattern, username)
		if err := op.bind(principal, password); err != nil {
			return nil, err
		}
		if d.principalIsDN {
			u.DN = principal
		}
		if d.cfg.BindDN != "" {
			if err := op.bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
				return nil, serviceAccount(err)
			}
		}
		if d.cfg.Mode == SearchPattern {
			e, err := op.findUser(username)
			if err != nil {
				return nil, err
			}
			entry = e
			if u.DN == "" {
				u.DN = e.DN
			}
		}
	} else {
		if d.cfg.BindDN != "" {
			if err := op.bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
				return nil, serviceAccount(err)
			}
		} else if err := op.anonymous(); err != nil {
			return nil, err
		}
		e, err := op.findUser(username)
		if err != nil {
			return nil, err
		}
		if err := op.bind(e.DN, password); err != nil {
			return nil, err
		}
		if d.cfg.BindDN != "" {
			if err := op.bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
				return nil, serviceAccount(err)
			}
		}
		entry, u.DN = e, e.DN
	}
	attrs := d.entryAttributes()
	if entry == nil && u.DN != "" && len(attrs) > 0 {
		e, err := op.readEntry(u.DN, attrs)
		if err != nil {
			return nil, err
		}
		entry = e
	}
	if entry != nil {
		u.Attributes = map[string][]string{}
		for _, a := range d.cfg.Attributes {
			if vs := entry.GetAttributeValues(a); len(vs) > 0 {
				u.Attributes[a] = vs[:min(len(vs), MaxValues)]
			}
		}
		if d.cfg.GroupAttribute != "" {
			u.Groups = appendGroups(u.Groups, entry.GetAttributeValues(d.cfg.GroupAttribute)...)
		}
	}
	if d.cfg.GroupSearchBase != "" && (u.DN != "" || !strings.Contains(d.cfg.GroupSearchFilter, DNPlaceholder)) {
		groups, err := op.searchGroups(username, u.DN)
		if err != nil {
			return nil, err
		}
		u.Groups = appendGroups(u.Groups, groups...)
	}
	return u, nil
}

// entryAttributes are the attributes read from the user's entry.
func (d *Directory) entryAttributes() []string {
	attrs := append([]string(nil), d.cfg.Attributes...)
	if d.cfg.GroupAttribute != "" {
		attrs = append(attrs, d.cfg.GroupAttribute)
	}
	return attrs
}

func appendGroups(list []string, groups ...string) []string {
	for _, g := range groups {
		if len(list) >= MaxGroups {
			break
		}
		dup := false
		for _, h := range list {
			if strings.EqualFold(g, h) {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, g)
		}
	}
	return list
}

// serviceAccount reports a failed service-account bind: a configuration or directory problem,
// never the user's credentials.
func serviceAccount(err error) error {
	if errors.Is(err, ErrInvalidCredentials) {
		return fmt.Errorf("%w: the service account's bind was refused (check its DN and password)", ErrUnavailable)
	}
	return err
}

// ops runs the operations of one login on one connection, within ctx's deadline.
type ops struct {
	ctx context.Context
	c   *ldap.Conn
	d   *Directory
}

// arm sets the connection's per-request timeout to what is left of the login's.
func (o ops) arm() error {
	dl, _ := o.ctx.Deadline()
	left := time.Until(dl)
	if left <= 0 {
		return fmt.Errorf("%w: no answer within %s", ErrUnavailable, o.d.cfg.Timeout)
	}
	o.c.SetTimeout(left)
	return nil
}

func (o ops) bind(name, password string) error {
	if err := o.arm(); err != nil {
		return err
	}
	err := o.c.Bind(name, password)
	switch {
	case err == nil:
		return nil
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInvalidDNSyntax,
		ldap.LDAPResultNoSuchObject, ldap.LDAPResultInappropriateAuthentication):
		return ErrInvalidCredentials
	}
	return o.failed("bind", err)
}

func (o ops) anonymous() error {
	if err := o.arm(); err != nil {
		return err
	}
	if err := o.c.UnauthenticatedBind(""); err != nil {
		return o.failed("anonymous bind", err)
	}
	return nil
}

// failed wraps an operation's error as ErrUnavailable, keeping the LDAP error for errors.As and
// for isNetwork.
func (o ops) failed(what string, err error) error {
	if isNetwork(err) && strings.Contains(err.Error(), "timed out") {
		return fmt.Errorf("%w: %s: no answer within %s: %w", ErrUnavailable, what, o.d.cfg.Timeout, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}

func (o ops) controls() []ldap.Control {
	if o.d.cfg.Referral == ReferralIgnore {
		return []ldap.Control{ldap.NewControlManageDsaIT(false)}
	}
	return nil
}

func (o ops) search(base string, scope int, filter string, sizeLimit int, attrs []string) (*ldap.SearchResult, error) {
	if err := o.arm(); err != nil {
		return nil, err
	}
	secs := 0
	if dl, ok := o.ctx.Deadline(); ok {
		secs = max(1, int(time.Until(dl).Seconds()))
	}
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, sizeLimit, secs, false, filter, attrs, o.controls())
	res, err := o.c.Search(req)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultReferral) {
			return nil, fmt.Errorf("%w: the directory answered the search under %q with a referral (ldapReferral is throw)", ErrUnavailable, base)
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return res, nil // more than sizeLimit entries: the caller sees sizeLimit of them
		}
		return nil, o.failed("search", err)
	}
	if len(res.Referrals) > 0 && o.d.cfg.Referral == ReferralThrow {
		return nil, fmt.Errorf("%w: the directory answered the search under %q with a referral (ldapReferral is throw)", ErrUnavailable, base)
	}
	return res, nil
}

// findUser returns the one entry the filter pattern finds for username.
func (o ops) findUser(username string) (*ldap.Entry, error) {
	filter := FilterFor(o.d.cfg.FilterPattern, username, "")
	res, err := o.search(o.d.cfg.SearchBase, ldap.ScopeWholeSubtree, filter, 2, o.d.entryAttributes())
	if err != nil {
		return nil, err
	}
	switch len(res.Entries) {
	case 1:
		return res.Entries[0], nil
	case 0:
		return nil, ErrInvalidCredentials
	}
	// Two entries for one name: binding as either could log in someone else.
	return nil, fmt.Errorf("%w: the filter pattern finds more than one entry for a user name", ErrUnavailable)
}

func (o ops) readEntry(dn string, attrs []string) (*ldap.Entry, error) {
	res, err := o.search(dn, ldap.ScopeBaseObject, "(objectClass=*)", 1, attrs)
	if err != nil {
		return nil, err
	}
	if len(res.Entries) == 0 {
		return &ldap.Entry{DN: dn}, nil
	}
	return res.Entries[0], nil
}

func (o ops) searchGroups(username, dn string) ([]string, error) {
	filter := FilterFor(o.d.cfg.GroupSearchFilter, username, dn)
	res, err := o.search(o.d.cfg.GroupSearchBase, ldap.ScopeWholeSubtree, filter, MaxGroups, []string{"1.1"})
	if err != nil {
		return nil, err
	}
	groups := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		groups = append(groups, e.DN)
	}
	return groups, nil
}

// dial connects to the first server that answers, upgrading with StartTLS when configured.
func (d *Directory) dial(ctx context.Context) (*ldap.Conn, error) {
	var errs []error
	for _, s := range d.servers {
		c, err := d.dialOne(ctx, s)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
}

func (d *Directory) dialOne(ctx context.Context, s server) (*ldap.Conn, error) {
	dialer := d.cfg.Dialer
	if dialer == nil {
		var nd net.Dialer
		dialer = nd.DialContext
	}
	raw, err := dialer(ctx, "tcp", s.host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.url.Redacted(), err)
	}
	tc := d.tls.Clone()
	tc.ServerName = s.url.Hostname()
	if s.ldaps {
		conn := tls.Client(raw, tc)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("%s: TLS: %w", s.url.Redacted(), err)
		}
		raw = conn
	}
	c := ldap.NewConn(raw, s.ldaps)
	c.Start()
	if d.cfg.StartTLS {
		// go-ldap bounds the StartTLS request, not the handshake after it: the connection's
		// deadline bounds both, and is lifted once TLS is up.
		dl, _ := ctx.Deadline()
		c.SetTimeout(time.Until(dl))
		raw.SetDeadline(dl)
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: StartTLS: %w", s.url.Redacted(), err)
		}
		raw.SetDeadline(time.Time{})
	}
	return c, nil
}

// pool bounds the connections open at once and keeps the idle ones.
type pool struct {
	slots chan struct{}
	mu    sync.Mutex
	idle  []*ldap.Conn
	done  bool
}

func newPool(size int) *pool {
	return &pool{slots: make(chan struct{}, size)}
}

// get takes a slot and an idle connection, or dials one; reused says the connection was idle.
func (p *pool) get(ctx context.Context, dial func(context.Context) (*ldap.Conn, error)) (c *ldap.Conn, reused bool, err error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("%w: all %d connections stayed busy", ErrUnavailable, cap(p.slots))
	}
	p.mu.Lock()
	for len(p.idle) > 0 {
		c = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !c.IsClosing() {
			p.mu.Unlock()
			return c, true, nil
		}
		c.Close()
	}
	p.mu.Unlock()
	c, err = dial(ctx)
	if err != nil {
		<-p.slots
		return nil, false, err
	}
	return c, false, nil
}

// put returns a connection and its slot; an unhealthy one is closed.
func (p *pool) put(c *ldap.Conn, healthy bool) {
	p.mu.Lock()
	if healthy && !p.done && !c.IsClosing() {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
	<-p.slots
}

func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.done = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// GroupName returns the name of a group: the value of the first RDN of its DN ("tellers" for
// cn=tellers,ou=groups,dc=example,dc=com), or the DN itself when it does not parse.
func GroupName(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
		return dn
	}
	return parsed.RDNs[0].Attributes[0].Value
}
