package scenario

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/realmgate/realmgate/project"
)

// User is the identity a login of the security test's user realm recorded: what policies read
// as input.user. Its members are named as input.user names them. Groups, GroupDNs, DN and
// Attributes are what an LdapLoginModule copies from the directory (engine.DirectoryUser);
// another login module records only the user's id and display name.
type User struct {
	ID          string // userId
	DisplayName string
	DN          string
	// Groups are group names ("tellers"), GroupDNs their entries' DNs, in the directory's order.
	Groups, GroupDNs []string
	// Attributes are the values of the directory attributes the module copies
	// (ldapUserAttributes): always lists, as an attribute may have several values.
	Attributes map[string][]string
}

// userKeys are the members of a user fact, spelled as input.user spells them.
var userKeys = []string{"userId", "displayName", "dn", "groups", "groupDNs", "attributes"}

func (p *parser) user(n *yaml.Node) (*User, error) {
	m, err := p.mapping(n, userKeys)
	if err != nil {
		return nil, err
	}
	u := &User{}
	if u.ID, err = p.requiredString(n, m, "userId"); err != nil {
		return nil, err
	}
	if v, ok := m["displayName"]; ok {
		if u.DisplayName, err = p.scalar(v, "user.displayName"); err != nil {
			return nil, err
		}
	}
	if v, ok := m["dn"]; ok {
		if u.DN, err = p.scalar(v, "user.dn"); err != nil {
			return nil, err
		}
	}
	if v, ok := m["groups"]; ok {
		if u.Groups, err = p.values(v, "user.groups"); err != nil {
			return nil, err
		}
	}
	if v, ok := m["groupDNs"]; ok {
		if u.GroupDNs, err = p.values(v, "user.groupDNs"); err != nil {
			return nil, err
		}
	}
	if v, ok := m["attributes"]; ok {
		if v.Kind != yaml.MappingNode {
			return nil, p.errorf(v, "user.attributes: want a mapping of attribute names to lists of values")
		}
		u.Attributes = map[string][]string{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, vals := v.Content[i], v.Content[i+1]
			name, err := p.scalar(k, "user.attributes")
			if err != nil {
				return nil, err
			}
			if _, dup := u.Attributes[name]; dup {
				return nil, p.errorf(k, "attribute %q is given twice", name)
			}
			if u.Attributes[name], err = p.values(vals, "user.attributes."+name); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

// values reads a list of values in its order, as a directory returns them.
func (p *parser) values(n *yaml.Node, what string) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errorf(n, "%s: want a list (write [] for none)", what)
	}
	out := []string{}
	for _, e := range n.Content {
		s, err := p.scalar(e, what)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Input is input.user for u, logged in through the user realm of security test test with the
// realms passed, as [Build] makes it: for a request rebuilt from elsewhere (a recorded decision).
func (u *User) Input(p *project.Project, test string, passed []string) (map[string]any, error) {
	t := p.Tests[test]
	if t == nil {
		return nil, fmt.Errorf("security test %q is not defined", test)
	}
	return userInput(p, t, passed, u)
}

// userInput is input.user for u, logged in through test t's user realm, in the shape the engine
// records: the login realm's identity (userId, displayName defaulting to it, realm) and, for an
// LdapLoginModule, the groups, groupDNs and attributes (lists and a mapping, never null) and the
// dn when known. Facts the user realm's login cannot record are an error, so a scenario never
// relies on a group its users can never have.
func userInput(p *project.Project, t *project.SecurityTest, passed []string, u *User) (map[string]any, error) {
	if t.UserRealm == "" {
		return nil, fmt.Errorf("security test %s has no user realm: user facts are the identity its login records", t.Name)
	}
	if !slices.Contains(passed, t.UserRealm) {
		return nil, fmt.Errorf("user facts are the identity a login of realm %s records: add %s to passed", t.UserRealm, t.UserRealm)
	}
	if u.ID == "" {
		return nil, fmt.Errorf("user: userId is empty")
	}
	id := map[string]any{"userId": u.ID, "displayName": cmpOr(u.DisplayName, u.ID), "realm": t.UserRealm}
	kind, module := userLoginKind(p, t.UserRealm)
	if err := checkIdentity(p, t.UserRealm, kind, module, u, id); err != nil {
		return nil, err
	}
	switch kind {
	case "ldap":
		id["groups"], id["groupDNs"] = jsonStrings(u.Groups), jsonStrings(u.GroupDNs)
		attrs := make(map[string]any, len(u.Attributes))
		for k, vs := range u.Attributes {
			attrs[k] = jsonStrings(vs)
		}
		id["attributes"] = attrs
		if u.DN != "" {
			id["dn"] = u.DN
		}
	case "adapter":
		// The adapter's procedure returns the identity: it may hold any of these members.
		if u.Groups != nil {
			id["groups"] = jsonStrings(u.Groups)
		}
		if u.GroupDNs != nil {
			id["groupDNs"] = jsonStrings(u.GroupDNs)
		}
		if u.Attributes != nil {
			attrs := make(map[string]any, len(u.Attributes))
			for k, vs := range u.Attributes {
				attrs[k] = jsonStrings(vs)
			}
			id["attributes"] = attrs
		}
		if u.DN != "" {
			id["dn"] = u.DN
		}
	default:
		var extra []string
		for name, given := range map[string]bool{"dn": u.DN != "", "groups": u.Groups != nil,
			"groupDNs": u.GroupDNs != nil, "attributes": u.Attributes != nil} {
			if given {
				extra = append(extra, name)
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			return nil, fmt.Errorf("user: the login of realm %s (%s) records no %s: only an LdapLoginModule reads them from a directory",
				t.UserRealm, module, strings.Join(extra, ", "))
		}
	}
	return id, nil
}

// checkIdentity refuses a user id or display name that the login module of realm never records:
// a password file's and a non-validating module's display name is the user's name, a
// SingleIdentityLoginModule knows one user. id is input.user so far, with displayName defaulted.
func checkIdentity(p *project.Project, realm, kind, module string, u *User, id map[string]any) error {
	switch kind {
	case "passwordFile", "nonValidating":
		if u.DisplayName != "" && u.DisplayName != u.ID {
			return fmt.Errorf("user: the login of realm %s (%s) records the user's name as the display name: leave displayName out or write %q", realm, module, u.ID)
		}
	case "singleIdentity":
		lm := p.LoginModules[p.Realms[realm].LoginModule]
		name, _ := lm.Params.Get("user-name")
		display, _ := lm.Params.Get("display-name")
		display = cmpOr(display, name)
		if u.ID != name {
			return fmt.Errorf("user: realm %s (%s) logs in only user %q", realm, module, name)
		}
		if u.DisplayName != "" && u.DisplayName != display {
			return fmt.Errorf("user: the login of realm %s (%s) records the display name %q", realm, module, display)
		}
		id["displayName"] = display
	}
	return nil
}

// userLoginKind is how realm's logins record identities: "ldap" for a realm whose login module
// is an LdapLoginModule, "adapter" for an adapter-based realm, the login module's kind otherwise;
// module names what decides, for messages.
func userLoginKind(p *project.Project, realm string) (kind, module string) {
	r := p.Realms[realm]
	if r == nil {
		return "", realm
	}
	if r.Class != nil && r.Class.Kind == "adapter" {
		return "adapter", r.ClassName
	}
	lm := p.LoginModules[r.LoginModule]
	if lm == nil || lm.Class == nil {
		return "", cmpOr(r.LoginModule, r.Name)
	}
	return lm.Class.Kind, lm.Name + ": " + lm.ClassName
}

// jsonStrings is a list as the engine records it: never null.
func jsonStrings(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
