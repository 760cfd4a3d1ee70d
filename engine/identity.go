package engine

import (
	"slices"

	"github.com/realmgate/realmgate/project"
)

// One session, one user. A realm's login is evidence about the user of the session: a second
// factor (a PIN realm after the user realm) proves something only about the user it identified.
// If a realm could pass for whoever it identified, a client holding alice's password and bob's
// PIN would pass a test that asks for both factors of one user. So every realm whose login
// identifies a user (project.Realm.IdentifiesUser: the realms with a login module or a user
// certificate, unless declared identifies-user="false") must name the same user as the other
// live logins of such realms in the session.
//
// The realm a security test marks isInternalUserID is where the session's user is decided: a
// login there as another user is a change of user, and the logins that vouched for the previous
// user are forgotten. A login of any other realm as another user is refused for the rest of the
// session and audited.

// bindUser checks identity, which realm's login is about to record, against the other logins
// of the session. userRealm is true when realm is the user realm of the test that asked for it.
func (e *Engine) bindUser(x *exchange, realm string, identity map[string]any, userRealm bool) error {
	if !e.identifying[realm] {
		return nil
	}
	user, _ := identity["userId"].(string)
	names := make([]string, 0, len(x.s.st.Realms))
	for name := range x.s.st.Realms {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rs := x.s.st.Realms[name]
		if name == realm || !e.identifying[name] || !rs.live(x.now) {
			continue
		}
		other, _ := rs.Identity["userId"].(string)
		if other == user {
			continue
		}
		if userRealm {
			e.forgetForUserChange(x, name)
			continue
		}
		detail := map[string]any{"app": x.app.App, "env": x.app.Env, "user": user, "sessionUser": other, "userRealm": name}
		if x.clientIP != "" {
			detail["client"] = x.clientIP
		}
		e.auditLater(x, "session:"+SessionRef(x.s.rec.ID), "login.identity_mismatch", realm, detail)
		return &Error{Code: CodeIdentityMismatch,
			Message: "realm " + realm + " identified another user than realm " + name + " did in this session; start a new session to log in as another user",
			Details: map[string]any{"realm": realm}}
	}
	return nil
}

// forgetForUserChange forgets the login of realm because the session's user changed, running its
// logout function as a logout would.
func (e *Engine) forgetForUserChange(x *exchange, realm string) {
	if ar, ok := e.realms[realm].(*adapterRealm); ok {
		ar.logout(x)
	}
	forgetLogin(x.s, realm)
	x.s.dirty = true
	e.log.Info("login forgotten: the session's user changed", "realm", realm, "session", SessionRef(x.s.rec.ID))
}

// isUserRealm reports whether realm is the user realm of test.
func isUserRealm(t *project.SecurityTest, realm string) bool {
	return t != nil && t.UserRealm == realm
}
