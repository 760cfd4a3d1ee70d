package project

import (
	"strconv"
	"strings"
)

// rawTest is a security test as written, before expansion.
type rawTest struct {
	node *node
	kind string
}

func (l *loader) loadAuthConfig() {
	rel := AuthConfigPath
	root := l.readXML(rel)
	if root == nil {
		if !l.diags.list.HasErrors() {
			l.errorf(Pos{File: rel}, "create it with a <tns:loginConfiguration> root, or point --config at the project directory",
				"authentication configuration not found")
		}
		return
	}
	if root.Name != "loginConfiguration" {
		l.errorf(l.pos(rel, root), "the root element must be <tns:loginConfiguration> (or <loginConfiguration>)",
			"unexpected root element <%s>", root.Name)
		return
	}
	var tests []rawTest
	hasTests, hasAuth := false, false
	for _, c := range root.Children {
		switch c.Name {
		case "securityTests":
			hasTests = true
		case "realms", "loginModules":
			hasAuth = hasAuth || len(c.Children) > 0
		}
	}
	l.preUpgrade = hasAuth && !hasTests
	for _, c := range root.Children {
		switch c.Name {
		case "staticResources":
			l.loadStaticResources(rel, c)
		case "securityTests":
			for _, t := range c.Children {
				switch t.Name {
				case "webSecurityTest":
					tests = append(tests, rawTest{t, KindWeb})
				case "mobileSecurityTest":
					tests = append(tests, rawTest{t, KindMobile})
				case "customSecurityTest":
					tests = append(tests, rawTest{t, KindCustom})
				default:
					l.errorf(l.pos(rel, t), "use webSecurityTest, mobileSecurityTest or customSecurityTest",
						"unknown security test element <%s>", t.Name)
				}
			}
		case "realms":
			for _, r := range c.Children {
				if r.Name != "realm" {
					l.warnf(l.pos(rel, r), "", "unknown element <%s> in <realms> ignored", r.Name)
					continue
				}
				l.loadRealm(rel, r)
			}
		case "loginModules":
			for _, m := range c.Children {
				if m.Name != "loginModule" {
					l.warnf(l.pos(rel, m), "", "unknown element <%s> in <loginModules> ignored", m.Name)
					continue
				}
				l.loadLoginModule(rel, m)
			}
		default:
			l.warnf(l.pos(rel, c), "", "unknown element <%s> ignored", c.Name)
		}
	}
	// Realms must be known before tests are expanded (custom device realms are looked up).
	for _, t := range tests {
		l.expandTest(rel, t)
	}
}

func (l *loader) loadStaticResources(rel string, n *node) {
	for _, r := range n.Children {
		if r.Name != "resource" {
			l.warnf(l.pos(rel, r), "", "unknown element <%s> in <staticResources> ignored", r.Name)
			continue
		}
		id, _ := r.attr("id")
		test, ok := r.attr("securityTest")
		if !ok || test == "" {
			l.errorf(l.pos(rel, r), `add securityTest="..." naming the test that protects these URLs`,
				"static resource %q has no securityTest", id)
			continue
		}
		var patterns []string
		for _, u := range r.children("urlPatterns") {
			for _, p := range strings.Split(u.Text, ";") {
				if p = strings.TrimSpace(p); p != "" {
					if !strings.HasPrefix(p, "/") {
						p = "/" + p
					}
					patterns = append(patterns, p)
				}
			}
		}
		if len(patterns) == 0 {
			l.errorf(l.pos(rel, r), "add <urlPatterns>/path*;/other*</urlPatterns>", "static resource %q has no URL patterns", id)
			continue
		}
		l.p.StaticResources = append(l.p.StaticResources, &StaticResource{
			ID: id, SecurityTest: test, URLPatterns: patterns, Pos: l.pos(rel, r),
		})
	}
}

func (l *loader) params(rel string, n *node) Params {
	var ps Params
	for _, c := range n.children("parameter") {
		name, ok := c.attr("name")
		if !ok || name == "" {
			l.errorf(l.pos(rel, c), `write <parameter name="..." value="..."/>`, "parameter without a name")
			continue
		}
		value, ok := c.attr("value")
		if !ok {
			value = c.Text
		}
		ps = append(ps, Param{Name: name, Value: value, Pos: l.pos(rel, c)})
	}
	return ps
}

func (l *loader) loadRealm(rel string, n *node) {
	name, _ := n.attr("name")
	if name == "" {
		l.errorf(l.pos(rel, n), `add name="..."`, "realm without a name")
		return
	}
	if !l.checkName(rel, n, "realm", name) {
		return
	}
	if prev, dup := l.p.Realms[name]; dup {
		l.errorf(l.pos(rel, n), "rename one of them", "realm %q is defined twice (first at line %d)", name, prev.Pos.Line)
		return
	}
	lm, _ := n.attr("loginModule")
	r := &Realm{
		Name:        name,
		ClassName:   n.childText("className"),
		LoginModule: lm,
		Params:      l.params(rel, n),
		OnLoginURL:  n.childText("onLoginUrl"),
		Pos:         l.pos(rel, n),
	}
	if _, builtin := builtinRealms[name]; builtin {
		l.warnf(r.Pos, "give the realm another name", "realm %q redefines a built-in realm; the definition here is used", name)
	}
	for _, c := range n.Children {
		switch strings.ToLower(c.Name) {
		case "classname", "parameter", "onloginurl":
		default:
			l.warnf(l.pos(rel, c), "", "unknown element <%s> in realm %q ignored", c.Name, name)
		}
	}
	r.Class = LookupClass(r.ClassName)
	l.p.Realms[name] = r
}

func (l *loader) loadLoginModule(rel string, n *node) {
	name, _ := n.attr("name")
	if name == "" {
		l.errorf(l.pos(rel, n), `add name="..."`, "login module without a name")
		return
	}
	if !l.checkName(rel, n, "login module", name) {
		return
	}
	if prev, dup := l.p.LoginModules[name]; dup {
		l.errorf(l.pos(rel, n), "rename one of them", "login module %q is defined twice (first at line %d)", name, prev.Pos.Line)
		return
	}
	m := &LoginModule{
		Name:                name,
		ClassName:           n.childText("className"),
		Params:              l.params(rel, n),
		ExpirationInSeconds: defaultLoginExpiration,
		Pos:                 l.pos(rel, n),
	}
	if v, ok := n.attr("expirationInSeconds"); ok {
		sec, err := strconv.Atoi(v)
		if err != nil || sec < -1 || sec == 0 {
			l.errorf(m.Pos, `use a positive number of seconds, or -1 for "until the session ends"`,
				"login module %q has expirationInSeconds=%q", name, v)
		} else {
			m.ExpirationInSeconds = sec
		}
	}
	// Attributes of the model before Worklight 5.0.0.3: they carried protection that the upgraded
	// model states in security tests, so a module that still sets them is refused, never run
	// without it.
	if l.trueAttr(n, "canBeResourceLogin") {
		l.errorf(m.Pos, `remove canBeResourceLogin and name the module's realm in a security test: <test realm="..." isInternalUserID="true"/> (the Worklight 5.0.0.3 upgrade)`,
			"login module %q sets canBeResourceLogin, from the authentication model before Worklight 5.0.0.3, which Realmgate does not enforce", name)
	}
	if l.trueAttr(n, "isIdentityAssociationKey") {
		l.errorf(m.Pos, `remove isIdentityAssociationKey and mark the module's realm isInternalUserID="true" in the security tests that name it (the Worklight 5.0.0.3 upgrade)`,
			"login module %q sets isIdentityAssociationKey, from the authentication model before Worklight 5.0.0.3, which Realmgate does not enforce", name)
	}
	m.SSODeviceLoginModule, _ = n.attr("ssoDeviceLoginModule")
	m.Audit = l.boolAttr(rel, n, "audit")
	m.Class = LookupClass(m.ClassName)
	l.p.LoginModules[name] = m
}

// defaultLoginExpiration is Worklight's default expiration of a login (one hour).
const defaultLoginExpiration = 3600

// maxStep bounds step numbers; real tests use two or three.
const maxStep = 32

func (l *loader) expandTest(rel string, rt rawTest) {
	n := rt.node
	name, _ := n.attr("name")
	if name == "" {
		l.errorf(l.pos(rel, n), `add name="..."`, "security test without a name")
		return
	}
	if name == Unprotected {
		l.errorf(l.pos(rel, n), "choose another name", "%q is reserved for unprotected procedures", name)
		return
	}
	if !l.checkName(rel, n, "security test", name) {
		return
	}
	if prev, dup := l.p.Tests[name]; dup {
		l.errorf(l.pos(rel, n), "rename one of them", "security test %q is defined twice (first at line %d)", name, prev.Pos.Line)
		return
	}
	t := &SecurityTest{Name: name, Kind: rt.kind, Pos: l.pos(rel, n)}
	if v, ok := n.attrAny("AccessTokenExpirationSec", "accessTokenExpiration"); ok {
		sec, err := strconv.Atoi(v)
		if err != nil || sec <= 0 {
			l.errorf(t.Pos, "use a positive number of seconds", "AccessTokenExpirationSec=%q is not a positive number", v)
		} else {
			t.AccessTokenExpirationSec = sec
		}
	}
	switch rt.kind {
	case KindWeb:
		l.expandWeb(rel, n, t)
	case KindMobile:
		l.expandMobile(rel, n, t)
	default:
		l.expandCustom(rel, n, t)
	}
	l.finishTest(t)
	l.p.Tests[name] = t
	l.p.TestOrder = append(l.p.TestOrder, name)
}

// onlyChild returns the single child named name, reporting duplicates.
func (l *loader) onlyChild(rel string, n *node, name string) *node {
	cs := n.children(name)
	if len(cs) > 1 {
		l.errorf(l.pos(rel, cs[1]), "keep one", "<%s> appears more than once", name)
	}
	if len(cs) == 0 {
		return nil
	}
	return cs[0]
}

func (l *loader) checkChildren(rel string, n *node, allowed ...string) {
	for _, c := range n.Children {
		ok := false
		for _, a := range allowed {
			if strings.EqualFold(c.Name, a) {
				ok = true
			}
		}
		if !ok {
			l.errorf(l.pos(rel, c), "allowed here: "+strings.Join(allowed, ", "),
				"<%s> is not allowed in <%s>; a security element that is not understood is never ignored", c.Name, n.Name)
		}
	}
}

// expandWeb expands a webSecurityTest as Worklight documents its equivalent custom test: anti-XSRF
// protection and the user realm of testUser (the anonymous user realm when there is none), with no
// step attributes, so one step.
func (l *loader) expandWeb(rel string, n *node, t *SecurityTest) {
	l.checkChildren(rel, n, "testUser")
	user := l.onlyChild(rel, n, "testUser")
	add := func(realm string, userID bool, pos Pos) {
		t.Realms = append(t.Realms, TestRealm{Realm: realm, Step: 1, InternalUser: userID, Enforced: true, Pos: pos})
	}
	add(RealmAntiXSRF, false, t.Pos)
	if user != nil {
		realm, _ := user.attr("realm")
		if realm == "" {
			l.errorf(l.pos(rel, user), `add realm="..."`, "<testUser> without a realm")
			return
		}
		add(realm, true, l.pos(rel, user))
		t.Expansion = "webSecurityTest: one step: anti-XSRF and the testUser realm " + realm
	} else {
		add(RealmAnonymousUser, true, t.Pos)
		t.Expansion = "webSecurityTest: one step: anti-XSRF and the anonymous user realm (no testUser)"
	}
}

// expandMobile expands a mobileSecurityTest as Worklight documents its equivalent custom test, one
// step: anti-XSRF, app authenticity (when testAppAuthenticity), remote disable, direct update (not
// enforced), the testUser realm (the anonymous user realm when there is none) and the device realm
// testDeviceId selects (the no-provisioning device realm when there is none).
func (l *loader) expandMobile(rel string, n *node, t *SecurityTest) {
	l.checkChildren(rel, n, "testUser", "testDeviceId", "testAppAuthenticity", "testDirectUpdate")
	user := l.onlyChild(rel, n, "testUser")
	device := l.onlyChild(rel, n, "testDeviceId")
	authenticity := l.onlyChild(rel, n, "testAppAuthenticity")
	direct := l.onlyChild(rel, n, "testDirectUpdate")
	var parts []string
	add := func(tr TestRealm) { tr.Step = 1; t.Realms = append(t.Realms, tr) }
	add(TestRealm{Realm: RealmAntiXSRF, Enforced: true, Pos: t.Pos})
	parts = append(parts, "anti-XSRF")
	if authenticity != nil {
		add(TestRealm{Realm: RealmAuthenticity, Enforced: true, Pos: l.pos(rel, authenticity)})
		parts = append(parts, "app authenticity")
	}
	add(TestRealm{Realm: RealmRemoteDisable, Enforced: true, Pos: t.Pos})
	parts = append(parts, "remote disable")
	if direct != nil {
		mode, _ := direct.attr("mode")
		add(TestRealm{Realm: RealmDirectUpdate, Mode: mode, Pos: l.pos(rel, direct)})
		parts = append(parts, "direct update (not enforced)")
	}
	if user == nil {
		add(TestRealm{Realm: RealmAnonymousUser, InternalUser: true, Enforced: true, Pos: t.Pos})
		parts = append(parts, "anonymous user")
	} else {
		realm, _ := user.attr("realm")
		if realm == "" {
			l.errorf(l.pos(rel, user), `add realm="..."`, "<testUser> without a realm")
		} else {
			add(TestRealm{Realm: realm, InternalUser: true, Enforced: true, Pos: l.pos(rel, user)})
			parts = append(parts, "the testUser realm "+realm)
		}
	}
	if device == nil {
		// The documentation's own example is an empty mobileSecurityTest: its device realm is
		// the one that provisions nothing.
		add(TestRealm{Realm: RealmDeviceNoProvision, InternalDevice: true, Enforced: true, Pos: t.Pos})
		parts = append(parts, "device realm "+RealmDeviceNoProvision+" (no testDeviceId)")
	} else {
		dpos := l.pos(rel, device)
		ptype, _ := device.attr("provisioningType")
		realmAttr, hasRealm := device.attr("realm")
		var realm string
		switch strings.ToLower(ptype) {
		case "none", "":
			realm = RealmDeviceNoProvision
			if hasRealm && realmAttr != "" {
				l.warnf(dpos, `remove realm="..." or set provisioningType="custom"`,
					"realm %q is ignored: provisioningType %q uses %s", realmAttr, "none", realm)
			}
		case "auto":
			realm = RealmDeviceAutoProvision
			if hasRealm && realmAttr != "" {
				l.warnf(dpos, `remove realm="..." or set provisioningType="custom"`,
					"realm %q is ignored: provisioningType %q uses %s", realmAttr, "auto", realm)
			}
		case "custom":
			if realmAttr == "" {
				l.errorf(dpos, `add realm="..." naming the custom provisioning realm`, `provisioningType="custom" needs a realm`)
			}
			realm = realmAttr
		default:
			l.errorf(dpos, `use "none", "auto" or "custom"`, "unknown provisioningType %q", ptype)
		}
		if realm != "" {
			add(TestRealm{Realm: realm, InternalDevice: true, Enforced: true, Pos: dpos})
			parts = append(parts, "device realm "+realm)
		}
	}
	t.Expansion = "mobileSecurityTest: one step: " + strings.Join(parts, ", ")
}

func (l *loader) expandCustom(rel string, n *node, t *SecurityTest) {
	l.checkChildren(rel, n, "test")
	for _, c := range n.children("test") {
		pos := l.pos(rel, c)
		realm, _ := c.attr("realm")
		if realm == "" {
			l.errorf(pos, `add realm="..."`, "<test> without a realm")
			continue
		}
		step := 1
		if v, ok := c.attr("step"); ok {
			s, err := strconv.Atoi(v)
			if err != nil || s < 1 || s > maxStep {
				l.errorf(pos, "steps are whole numbers from 1 (the first) upward", "bad step %q for realm %q", v, realm)
				continue
			}
			step = s
		}
		mode, _ := c.attr("mode")
		tr := TestRealm{
			Realm:          realm,
			Step:           step,
			Mode:           mode,
			InternalUser:   l.boolAttr(rel, c, "isInternalUserID", "isInternalUserId", "isInternalUser"),
			InternalDevice: l.boolAttr(rel, c, "isInternalDeviceID", "isInternalDeviceId", "isInternalDevice"),
			Enforced:       realm != RealmDirectUpdate,
			Pos:            pos,
		}
		for _, prev := range t.Realms {
			if prev.Realm == realm {
				l.errorf(pos, "list each realm once", "realm %q appears twice in security test %q", realm, t.Name)
			}
		}
		t.Realms = append(t.Realms, tr)
	}
	if len(t.Realms) == 0 {
		l.errorf(t.Pos, `add <test realm="..."/> elements`, "customSecurityTest %q has no realms", t.Name)
	}
}

// finishTest sorts realms by step, closes gaps between step numbers and fills the summary fields.
func (l *loader) finishTest(t *SecurityTest) {
	// Stable sort by step keeps declaration order within a step.
	for i := 1; i < len(t.Realms); i++ {
		for j := i; j > 0 && t.Realms[j].Step < t.Realms[j-1].Step; j-- {
			t.Realms[j], t.Realms[j-1] = t.Realms[j-1], t.Realms[j]
		}
	}
	byStep := map[int]int{}
	var order []int
	for _, r := range t.Realms {
		if !r.Enforced {
			continue
		}
		if _, ok := byStep[r.Step]; !ok {
			byStep[r.Step] = len(order)
			order = append(order, r.Step)
		}
	}
	// Only custom tests number their steps; a web or mobile expansion missing a part (reported
	// on its own) is not a numbering mistake of the user's.
	if t.Kind == KindCustom && len(order) > 0 && order[len(order)-1] != len(order) {
		l.warnf(t.Pos, "number steps 1, 2, 3 ...", "security test %q uses steps %v; they are applied in that order as steps 1..%d", t.Name, order, len(order))
	}
	t.Steps = make([][]string, len(order))
	for _, r := range t.Realms {
		if !r.Enforced {
			t.NotEnforced = append(t.NotEnforced, r.Realm)
			continue
		}
		i := byStep[r.Step]
		t.Steps[i] = append(t.Steps[i], r.Realm)
	}
	var users, devices []TestRealm
	for _, r := range t.Realms {
		if r.InternalUser {
			users = append(users, r)
		}
		if r.InternalDevice {
			devices = append(devices, r)
		}
	}
	if len(users) > 1 {
		l.errorf(users[1].Pos, "mark exactly one realm isInternalUserID=\"true\"",
			"security test %q marks %d realms as the user identity (%s and %s)", t.Name, len(users), users[0].Realm, users[1].Realm)
	} else if len(users) == 1 {
		t.UserRealm = users[0].Realm
	}
	if len(devices) > 1 {
		l.errorf(devices[1].Pos, "mark exactly one realm isInternalDeviceID=\"true\"",
			"security test %q marks %d realms as the device identity (%s and %s)", t.Name, len(devices), devices[0].Realm, devices[1].Realm)
	} else if len(devices) == 1 {
		t.DeviceRealm = devices[0].Realm
	}
}

// trueAttr reports whether n has attribute name set to true (any letter case).
func (l *loader) trueAttr(n *node, name string) bool {
	v, ok := n.attr(name)
	return ok && strings.EqualFold(strings.TrimSpace(v), "true")
}
