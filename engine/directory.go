package engine

import (
	"context"
	"fmt"

	"github.com/realmgate/realmgate/project"
)

// Directory checks user names and passwords against a directory server: the client side of
// LdapLoginModule. The engine declares it; the daemon gives an implementation (package
// ldapauth) through Options.Directories.
type Directory interface {
	// Authenticate returns the user the name and password identify, ok false when they identify
	// none (a wrong password, an unknown user, a user the configured search does not match), or
	// an error when the directory could not answer (unreachable, too slow): the engine answers
	// that with CodeUnavailable, and the same login may succeed once the directory is back.
	// It bounds its own time (ldapTimeoutMs).
	Authenticate(ctx context.Context, username, password string) (user DirectoryUser, ok bool, err error)
}

// DirectoryUser is what a directory says about a user who logged in. It becomes the realm's
// identity, which policies read as input.user.
type DirectoryUser struct {
	// DN is the user's entry ("" when the bind name is not a DN and no search found it).
	DN string
	// DisplayName is the entry's displayName or cn, if read.
	DisplayName string
	// Groups are the names of the user's groups (the value of the first RDN of each group's DN:
	// "tellers" for cn=tellers,ou=groups,dc=example,dc=com); GroupDNs are the DNs themselves.
	Groups, GroupDNs []string
	// Attributes holds the values of the entry's attributes the module copies
	// (ldapUserAttributes).
	Attributes map[string][]string
}

// DirectoryOpener returns the Directory of an LdapLoginModule of project p. The engine calls it
// once per login module when it is built; an error fails the build, so a daemon never starts on
// a directory configuration it cannot use.
type DirectoryOpener func(p *project.Project, lm *project.LoginModule) (Directory, error)

// directoryModule is LdapLoginModule: the directory decides the login.
type directoryModule struct {
	name string
	dir  Directory
}

func (m directoryModule) login(ctx context.Context, c credentials) (map[string]any, error) {
	if c.password == "" {
		// An LDAP bind with a name and no password is an unauthenticated bind, which many
		// directories accept: it never reaches one.
		return nil, errWrongCredentials
	}
	u, ok, err := m.dir.Authenticate(ctx, c.username, c.password)
	if err != nil {
		return nil, &Error{Code: CodeUnavailable,
			Message: fmt.Sprintf("the directory of login module %s did not answer; try again later", m.name), Err: err}
	}
	if !ok {
		return nil, errWrongCredentials
	}
	display := u.DisplayName
	if display == "" {
		display = c.username
	}
	id := map[string]any{"userId": c.username, "displayName": display, "groups": jsonStrings(u.Groups), "groupDNs": jsonStrings(u.GroupDNs)}
	if u.DN != "" {
		id["dn"] = u.DN
	}
	attrs := make(map[string]any, len(u.Attributes))
	for k, vs := range u.Attributes {
		attrs[k] = jsonStrings(vs)
	}
	id["attributes"] = attrs
	return id, nil
}

// jsonStrings converts to the JSON shape sessions and policies hold: a list, never null.
func jsonStrings(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
