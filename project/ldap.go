package project

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Parameters of LdapLoginModule. Worklight's own come first; Realmgate adds TLS, a service
// account, groups, attributes and the pool size (docs/ldap.md).
const (
	LDAPProviderURL       = "ldapProviderUrl"
	LDAPTimeoutMs         = "ldapTimeoutMs"
	LDAPAuthentication    = "ldapSecurityAuthentication"
	LDAPValidationType    = "validationType"
	LDAPPrincipalPattern  = "ldapSecurityPrincipalPattern"
	LDAPFilterPattern     = "ldapSearchFilterPattern"
	LDAPSearchBase        = "ldapSearchBase"
	LDAPReferral          = "ldapReferral"
	LDAPStartTLS          = "ldapStartTls"
	LDAPCAFile            = "ldapCaFile"
	LDAPBindDN            = "ldapBindDn"
	LDAPBindPasswordFile  = "ldapBindPasswordFile"
	LDAPGroupAttribute    = "ldapGroupAttribute"
	LDAPGroupSearchBase   = "ldapGroupSearchBase"
	LDAPGroupSearchFilter = "ldapGroupSearchFilter"
	LDAPUserAttributes    = "ldapUserAttributes"
	LDAPPoolSize          = "ldapPoolSize"
)

// ldapParams are the parameters LdapLoginModule knows besides ldapProviderUrl.
var ldapParams = []string{
	LDAPTimeoutMs, LDAPAuthentication, LDAPValidationType, LDAPPrincipalPattern, LDAPFilterPattern,
	LDAPSearchBase, LDAPReferral, LDAPStartTLS, LDAPCAFile, LDAPBindDN, LDAPBindPasswordFile,
	LDAPGroupAttribute, LDAPGroupSearchBase, LDAPGroupSearchFilter, LDAPUserAttributes, LDAPPoolSize,
}

// Bounds and defaults of LdapLoginModule's parameters.
const (
	LDAPMinTimeout     = 100 * time.Millisecond
	LDAPMaxTimeout     = 60 * time.Second
	LDAPDefaultTimeout = 5 * time.Second
	LDAPMaxPoolSize    = 64
	LDAPDefaultPool    = 8
	// LDAPUsername is the placeholder of the patterns; LDAPUserDN that of the group filter.
	LDAPUsername = "{username}"
	LDAPUserDN   = "{dn}"
)

// LDAPSettings are an LdapLoginModule's parameters, read and checked.
type LDAPSettings struct {
	// URLs are the servers, tried in order (ldapProviderUrl lists them separated by spaces).
	URLs    []string
	Timeout time.Duration
	// SearchPattern is validationType searchPattern; false is exists.
	SearchPattern                               bool
	PrincipalPattern, FilterPattern, SearchBase string
	ThrowOnReferral                             bool
	StartTLS                                    bool
	// CAFile and BindPasswordFile are absolute paths ("" when not set).
	CAFile, BindDN, BindPasswordFile                   string
	GroupAttribute, GroupSearchBase, GroupSearchFilter string
	Attributes                                         []string
	PoolSize                                           int
}

// ldapProblem is one thing wrong with an LdapLoginModule's parameters.
type ldapProblem struct {
	pos      Pos
	fix, msg string
	warning  bool
}

// LDAP reads the login module's LdapLoginModule parameters, resolving files against the project
// directory dir. The error names the first problem the loader reports with file and line.
func (m *LoginModule) LDAP(dir string) (*LDAPSettings, error) {
	s, problems := ldapSettings(m, dir)
	for _, p := range problems {
		if !p.warning {
			return nil, fmt.Errorf("%s: login module %q: %s", p.pos, m.Name, p.msg)
		}
	}
	return s, nil
}

// validateLDAP reports the problems of an LdapLoginModule's parameters.
func (l *loader) validateLDAP(m *LoginModule, used bool) {
	_, problems := ldapSettings(m, l.dir)
	for _, p := range problems {
		if p.warning {
			if used {
				l.warnf(p.pos, p.fix, "login module %q: %s", m.Name, p.msg)
			}
			continue
		}
		l.report(used, p.pos, p.fix, "login module %q: %s", m.Name, p.msg)
	}
}

func ldapSettings(m *LoginModule, dir string) (*LDAPSettings, []ldapProblem) {
	var problems []ldapProblem
	param := func(name string) (string, Pos, bool) {
		for _, p := range m.Params {
			if p.Name == name {
				pos := p.Pos
				if pos.Line == 0 {
					pos = m.Pos
				}
				return strings.TrimSpace(p.Value), pos, true
			}
		}
		return "", m.Pos, false
	}
	bad := func(pos Pos, fix, format string, args ...any) {
		problems = append(problems, ldapProblem{pos: pos, fix: fix, msg: fmt.Sprintf(format, args...)})
	}
	s := &LDAPSettings{Timeout: LDAPDefaultTimeout, PoolSize: LDAPDefaultPool, GroupAttribute: "memberOf"}

	urls, pos, ok := param(LDAPProviderURL)
	if !ok || urls == "" {
		bad(pos, `add <parameter name="ldapProviderUrl" value="ldaps://ldap.example.com"/>`, "%s is empty", LDAPProviderURL)
	}
	anyLDAPS, clearText := false, ""
	for _, raw := range strings.Fields(urls) {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			bad(pos, "write ldap://HOST[:PORT] or ldaps://HOST[:PORT]", "%s %q is not a URL: %v", LDAPProviderURL, raw, err)
			continue
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			bad(pos, "write ldap://HOST[:PORT] or ldaps://HOST[:PORT]", "%s %q: the scheme must be ldap or ldaps", LDAPProviderURL, raw)
			continue
		case u.Hostname() == "":
			bad(pos, "write ldap://HOST[:PORT] or ldaps://HOST[:PORT]", "%s %q names no host", LDAPProviderURL, raw)
			continue
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			bad(pos, "give the service account with ldapBindDn and ldapBindPasswordFile",
				"%s %q carries credentials, a query or a fragment", LDAPProviderURL, raw)
			continue
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				bad(pos, "use a port from 1 to 65535", "%s %q: bad port", LDAPProviderURL, raw)
				continue
			}
		}
		if u.Scheme == "ldaps" {
			anyLDAPS = true
		} else if ip := net.ParseIP(u.Hostname()); !(ip != nil && ip.IsLoopback()) && u.Hostname() != "localhost" {
			clearText = raw
		}
		s.URLs = append(s.URLs, raw)
	}

	if v, pos, ok := param(LDAPTimeoutMs); ok {
		n, err := strconv.Atoi(v)
		if d := time.Duration(n) * time.Millisecond; err != nil || d < LDAPMinTimeout || d > LDAPMaxTimeout {
			bad(pos, fmt.Sprintf("give milliseconds from %d to %d", LDAPMinTimeout.Milliseconds(), LDAPMaxTimeout.Milliseconds()),
				"%s %q is not a timeout from %d to %d ms", LDAPTimeoutMs, v, LDAPMinTimeout.Milliseconds(), LDAPMaxTimeout.Milliseconds())
		} else {
			s.Timeout = d
		}
	}
	if v, pos, ok := param(LDAPAuthentication); ok && !strings.EqualFold(v, "simple") {
		fix := `use "simple" (over ldaps:// or with ldapStartTls)`
		if strings.EqualFold(v, "none") {
			bad(pos, fix, "%s none binds anonymously: every password would pass", LDAPAuthentication)
		} else {
			bad(pos, fix, "%s %q is not supported: Realmgate binds with simple authentication", LDAPAuthentication, v)
		}
	}
	v, vtPos, _ := param(LDAPValidationType)
	switch v {
	case "", "exists":
	case "searchPattern":
		s.SearchPattern = true
	case "custom":
		bad(vtPos, "use searchPattern with an ldapSearchFilterPattern that only the accepted users match, or an AdapterAuthenticator realm whose adapter decides",
			"validationType custom calls a Java subclass of LdapLoginModule, which Realmgate does not run")
	default:
		bad(vtPos, "use exists or searchPattern", "unknown validationType %q", v)
	}

	var pPos, fPos, bPos Pos
	s.PrincipalPattern, pPos, _ = param(LDAPPrincipalPattern)
	s.FilterPattern, fPos, _ = param(LDAPFilterPattern)
	s.SearchBase, bPos, _ = param(LDAPSearchBase)
	if s.PrincipalPattern != "" && !strings.Contains(s.PrincipalPattern, LDAPUsername) {
		bad(pPos, `write the bind name with {username}, as uid={username},ou=people,dc=example,dc=com`,
			"%s %q does not contain {username}", LDAPPrincipalPattern, s.PrincipalPattern)
	}
	if !s.SearchPattern && s.PrincipalPattern == "" && v != "custom" {
		bad(pPos, `add <parameter name="ldapSecurityPrincipalPattern" value="uid={username},ou=people,dc=example,dc=com"/>`,
			"validationType exists binds as %s, which is missing", LDAPPrincipalPattern)
	}
	if s.SearchPattern {
		switch {
		case s.FilterPattern == "":
			bad(fPos, `add <parameter name="ldapSearchFilterPattern" value="(uid={username})"/>`,
				"validationType searchPattern needs %s", LDAPFilterPattern)
		case s.PrincipalPattern == "" && !strings.Contains(s.FilterPattern, LDAPUsername):
			bad(fPos, "write the filter with {username}, as (uid={username})",
				"%s %q does not contain {username}: without a principal pattern the search finds the user", LDAPFilterPattern, s.FilterPattern)
		}
		if s.FilterPattern != "" {
			if err := checkFilter(s.FilterPattern); err != nil {
				bad(fPos, "write an RFC 4515 filter, as (&(objectClass=person)(uid={username}))", "%s %q: %v", LDAPFilterPattern, s.FilterPattern, err)
			}
		}
		if s.PrincipalPattern == "" && s.SearchBase == "" {
			bad(bPos, `add <parameter name="ldapSearchBase" value="ou=people,dc=example,dc=com"/>`,
				"the search for the user needs %s", LDAPSearchBase)
		}
	}
	if v, pos, ok := param(LDAPReferral); ok {
		switch v {
		case "ignore":
		case "throw":
			s.ThrowOnReferral = true
		case "follow":
			bad(pos, "use ignore or throw; list the servers a referral would name in ldapProviderUrl",
				"ldapReferral follow is not supported: Realmgate only contacts the servers ldapProviderUrl names")
		default:
			bad(pos, "use ignore or throw", "unknown ldapReferral %q", v)
		}
	}
	if v, pos, ok := param(LDAPStartTLS); ok {
		b, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			bad(pos, "use true or false", "%s %q is not true or false", LDAPStartTLS, v)
		case b && anyLDAPS:
			bad(pos, "use ldap:// URLs with StartTLS, or ldaps:// without it", "%s applies to ldap:// URLs, and %s has ldaps://", LDAPStartTLS, LDAPProviderURL)
		default:
			s.StartTLS = b
		}
	}
	if clearText != "" && !s.StartTLS {
		problems = append(problems, ldapProblem{pos: pos, warning: true,
			fix: `use ldaps://, or add <parameter name="ldapStartTls" value="true"/>`,
			msg: fmt.Sprintf("%s %q sends passwords in clear text", LDAPProviderURL, clearText)})
	}
	if v, pos, ok := param(LDAPCAFile); ok {
		if !filepath.IsAbs(v) {
			s.CAFile = filepath.Join(dir, filepath.FromSlash(v))
		} else {
			s.CAFile = v
		}
		if err := checkCAFile(s.CAFile); err != nil {
			bad(pos, "give a PEM file of the CA certificates that sign the directory's certificate", "%s: %v", LDAPCAFile, err)
		}
	}
	var dnPos, pwPos Pos
	s.BindDN, dnPos, _ = param(LDAPBindDN)
	pw, pwPos, hasPW := param(LDAPBindPasswordFile)
	switch {
	case s.BindDN != "" && !hasPW:
		bad(dnPos, `add <parameter name="ldapBindPasswordFile" value="ldap-reader.secret"/> (a file only the daemon's user may read)`,
			"%s needs %s", LDAPBindDN, LDAPBindPasswordFile)
	case hasPW && s.BindDN == "":
		bad(pwPos, `add <parameter name="ldapBindDn" value="cn=reader,dc=example,dc=com"/>`, "%s needs %s", LDAPBindPasswordFile, LDAPBindDN)
	case hasPW:
		s.BindPasswordFile = pw
		if !filepath.IsAbs(pw) {
			s.BindPasswordFile = filepath.Join(dir, filepath.FromSlash(pw))
		}
		if fi, err := os.Stat(s.BindPasswordFile); err != nil || fi.IsDir() {
			bad(pwPos, "write the service account's password in that file, readable by the daemon's user only (chmod 600)",
				"%s %q cannot be read", LDAPBindPasswordFile, pw)
		}
	}
	if v, _, ok := param(LDAPGroupAttribute); ok {
		s.GroupAttribute = v
	}
	var gPos Pos
	s.GroupSearchBase, _, _ = param(LDAPGroupSearchBase)
	s.GroupSearchFilter, gPos, _ = param(LDAPGroupSearchFilter)
	switch {
	case s.GroupSearchBase != "" && s.GroupSearchFilter == "":
		s.GroupSearchFilter = "(|(member={dn})(uniqueMember={dn}))"
	case s.GroupSearchFilter != "" && s.GroupSearchBase == "":
		bad(gPos, `add <parameter name="ldapGroupSearchBase" value="ou=groups,dc=example,dc=com"/>`, "%s needs %s", LDAPGroupSearchFilter, LDAPGroupSearchBase)
	case s.GroupSearchFilter != "":
		if !strings.Contains(s.GroupSearchFilter, LDAPUserDN) && !strings.Contains(s.GroupSearchFilter, LDAPUsername) {
			bad(gPos, "write the filter with {dn} or {username}, as (member={dn})", "%s %q names neither {dn} nor {username}", LDAPGroupSearchFilter, s.GroupSearchFilter)
		} else if err := checkFilter(s.GroupSearchFilter); err != nil {
			bad(gPos, "write an RFC 4515 filter, as (member={dn})", "%s %q: %v", LDAPGroupSearchFilter, s.GroupSearchFilter, err)
		}
	}
	if v, _, ok := param(LDAPUserAttributes); ok {
		s.Attributes = strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' })
	}
	if v, pos, ok := param(LDAPPoolSize); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > LDAPMaxPoolSize {
			bad(pos, fmt.Sprintf("give a number from 1 to %d", LDAPMaxPoolSize), "%s %q is not a pool size from 1 to %d", LDAPPoolSize, v, LDAPMaxPoolSize)
		} else {
			s.PoolSize = n
		}
	}
	return s, problems
}

// checkFilter checks the shape of an LDAP filter: one parenthesized filter with balanced
// parentheses (the directory client parses it fully when the daemon starts).
func checkFilter(f string) error {
	if !strings.HasPrefix(f, "(") || !strings.HasSuffix(f, ")") {
		return errors.New("a filter is written in parentheses")
	}
	depth := 0
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '\\':
			i += 2
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(f)-1 {
				return errors.New("text after the filter's closing parenthesis")
			}
		}
		if depth < 0 {
			return errors.New("unbalanced parentheses")
		}
	}
	if depth != 0 {
		return errors.New("unbalanced parentheses")
	}
	return nil
}

func checkCAFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return fmt.Errorf("%s holds no PEM certificate", filepath.Base(path))
	}
	return nil
}
