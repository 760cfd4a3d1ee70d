package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/internal/secretfile"
	"github.com/realmgate/realmgate/ldapauth"
	"github.com/realmgate/realmgate/project"
)

// directories opens the directories of the projects' LdapLoginModule login modules. A
// directory whose configuration did not change is kept across reloads, with its pool of
// connections; one the new configuration no longer uses is closed when the reload succeeds
// (requests still running on it finish, their connections closed as they return).
type directories struct {
	mu   sync.Mutex
	open map[string]*ldapauth.Directory
	// seen are the directories opened since the last retain.
	seen map[string]bool
}

// opener is the engine's DirectoryOpener.
func (ds *directories) opener(p *project.Project, lm *project.LoginModule) (engine.Directory, error) {
	s, err := lm.LDAP(p.Dir)
	if err != nil {
		return nil, err
	}
	cfg := ldapauth.Config{
		URLs: s.URLs, StartTLS: s.StartTLS, Timeout: s.Timeout,
		PrincipalPattern: s.PrincipalPattern, FilterPattern: s.FilterPattern, SearchBase: s.SearchBase,
		BindDN: s.BindDN, GroupAttribute: s.GroupAttribute,
		GroupSearchBase: s.GroupSearchBase, GroupSearchFilter: s.GroupSearchFilter,
		Attributes: s.Attributes, PoolSize: s.PoolSize,
	}
	if s.SearchPattern {
		cfg.Mode = ldapauth.SearchPattern
	}
	if s.ThrowOnReferral {
		cfg.Referral = ldapauth.ReferralThrow
	}
	var caPEM []byte
	if s.CAFile != "" {
		if caPEM, err = os.ReadFile(s.CAFile); err != nil {
			return nil, fmt.Errorf("ldapCaFile: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("ldapCaFile %s holds no PEM certificate", s.CAFile)
		}
	}
	if s.BindPasswordFile != "" {
		pw, err := secretfile.Read(s.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("ldapBindPasswordFile: %w", err)
		}
		cfg.BindPassword = strings.TrimRight(string(pw), "\r\n")
	}
	key, err := directoryKey(cfg, caPEM)
	if err != nil {
		return nil, err
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.open == nil {
		ds.open, ds.seen = map[string]*ldapauth.Directory{}, map[string]bool{}
	}
	d := ds.open[key]
	if d == nil {
		if d, err = ldapauth.New(cfg); err != nil {
			return nil, err
		}
		ds.open[key] = d
	}
	ds.seen[key] = true
	return directory{d}, nil
}

// directoryKey identifies a configuration: its settings, its CA and its service account's
// password (hashed: the key is kept in memory only, but never holds the password itself).
func directoryKey(cfg ldapauth.Config, caPEM []byte) (string, error) {
	c := cfg
	c.RootCAs, c.Dialer = nil, nil
	js, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(js)
	h.Write([]byte{0})
	h.Write(caPEM)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// retain closes the directories no load has opened since the last retain: a successful reload
// calls it once its engine is built.
func (ds *directories) retain() {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for key, d := range ds.open {
		if !ds.seen[key] {
			d.Close()
			delete(ds.open, key)
		}
	}
	ds.seen = map[string]bool{}
}

// close closes every directory (shutdown).
func (ds *directories) close() {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for key, d := range ds.open {
		d.Close()
		delete(ds.open, key)
	}
}

// directory adapts an ldapauth.Directory to engine.Directory.
type directory struct{ d *ldapauth.Directory }

func (d directory) Authenticate(ctx context.Context, username, password string) (engine.DirectoryUser, bool, error) {
	u, err := d.d.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, ldapauth.ErrInvalidCredentials):
		return engine.DirectoryUser{}, false, nil
	case err != nil:
		return engine.DirectoryUser{}, false, err
	}
	out := engine.DirectoryUser{DN: u.DN, GroupDNs: u.Groups, Attributes: u.Attributes}
	for _, g := range u.Groups {
		out.Groups = append(out.Groups, ldapauth.GroupName(g))
	}
	for _, a := range []string{"displayName", "cn"} {
		if vs := u.Attributes[a]; len(vs) > 0 && out.DisplayName == "" {
			out.DisplayName = vs[0]
		}
	}
	return out, true, nil
}
