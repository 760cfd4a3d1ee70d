package project

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/realmgate/realmgate/htpasswd"
)

// addDefaults adds the built-in realms and the default web and mobile tests that protect
// environments whose descriptor names no test.
func (l *loader) addDefaults() {
	for name := range builtinRealms {
		if _, defined := l.p.Realms[name]; !defined {
			l.p.Realms[name] = &Realm{Name: name, Builtin: true, Pos: Pos{File: "(built-in)"}}
		}
	}
	defaults := []*SecurityTest{
		{
			Name: DefaultMobileTest, Kind: KindMobile, Predefined: true, Pos: Pos{File: "(built-in)"},
			Realms: []TestRealm{
				{Realm: RealmAntiXSRF, Step: 1, Enforced: true},
				{Realm: RealmRemoteDisable, Step: 1, Enforced: true},
				{Realm: RealmAnonymousUser, Step: 1, InternalUser: true, Enforced: true},
				{Realm: RealmDeviceNoProvision, Step: 1, InternalDevice: true, Enforced: true},
			},
			Expansion: "default for mobile environments without a securityTest: the mobileSecurityTest with no testUser and provisioningType none",
		},
		{
			Name: DefaultWebTest, Kind: KindWeb, Predefined: true, Pos: Pos{File: "(built-in)"},
			Realms: []TestRealm{
				{Realm: RealmAntiXSRF, Step: 1, Enforced: true},
				{Realm: RealmAnonymousUser, Step: 1, InternalUser: true, Enforced: true},
			},
			Expansion: "default for web environments without a securityTest: the webSecurityTest with no testUser",
		},
	}
	for _, t := range defaults {
		if _, taken := l.p.Tests[t.Name]; taken {
			continue // loadAuthConfig already refused the name? no: it is ours; keep the user's
		}
		l.finishTest(t)
		l.p.Tests[t.Name] = t
		l.p.TestOrder = append(l.p.TestOrder, t.Name)
	}
}

// validate checks references between tests, realms, login modules and resources. Problems in a
// realm or login module that a security test uses are errors; in unused ones, warnings.
func (l *loader) validate() {
	p := l.p
	l.usedRealms = map[string]bool{}
	for _, name := range p.TestOrder {
		for _, r := range p.Tests[name].Realms {
			l.usedRealms[r.Realm] = true
		}
	}
	// Realms referenced by other realms (dependent user realms) count as used.
	for _, r := range p.Realms {
		if dep, ok := r.Params.Get("dependent-user-auth-realm"); ok && l.usedRealms[r.Name] {
			l.usedRealms[dep] = true
		}
	}
	names := sortedKeys(p.Realms)
	usedModules := map[string]bool{}
	for _, name := range names {
		r := p.Realms[name]
		if r.Builtin {
			continue
		}
		if l.usedRealms[name] {
			usedModules[r.LoginModule] = true
		}
		l.validateRealm(r, l.usedRealms[name])
	}
	for _, name := range sortedKeys(p.LoginModules) {
		l.validateLoginModule(p.LoginModules[name], usedModules[name])
	}
	for _, name := range p.TestOrder {
		l.validateTest(p.Tests[name])
	}
	l.validateDeviceSSO()
	l.validateResources()
	l.p.Internal = internalProcedures(p)
}

// internalProcedures lists the adapter procedures realms and login modules name.
func internalProcedures(p *Project) map[string]bool {
	out := map[string]bool{}
	add := func(ps Params) {
		for _, prm := range ps {
			if strings.HasPrefix(prm.Name, "adapter-pki-bridge-") || strings.HasSuffix(prm.Name, "-function") {
				if a, proc, ok := strings.Cut(prm.Value, "."); ok && a != "" && proc != "" {
					out[prm.Value] = true
				}
			}
		}
	}
	for _, r := range p.Realms {
		add(r.Params)
	}
	for _, m := range p.LoginModules {
		add(m.Params)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// report is errorf for used definitions and warnf for unused ones.
func (l *loader) report(used bool, pos Pos, fix, format string, args ...any) {
	if used {
		l.errorf(pos, fix, format, args...)
		return
	}
	l.warnf(pos, fix, format+" (not used by any security test)", args...)
}

func (l *loader) validateRealm(r *Realm, used bool) {
	if r.ClassName == "" {
		l.report(used, r.Pos, "add <className>com.worklight.core.auth.ext.FormBasedAuthenticator</className> or another authenticator",
			"realm %q has no className", r.Name)
		return
	}
	switch {
	case r.Class == nil:
		l.report(used, r.Pos, replacementFor(r.ClassName, roleAuthenticator),
			"realm %q uses authenticator class %s, which Realmgate does not implement", r.Name, r.ClassName)
		return
	case r.Class.Role != roleAuthenticator:
		l.report(used, r.Pos, "name an authenticator class in <className> and the login module in loginModule=\"...\"",
			"realm %q names %s, which is a login module, as its authenticator", r.Name, r.ClassName)
		return
	}
	l.checkParams(r.Class, r.Params, used, r.Pos, "realm "+fmt.Sprintf("%q", r.Name))
	if r.LoginModule == "" {
		l.report(used, r.Pos, `add loginModule="..." naming a <loginModule>`, "realm %q has no loginModule", r.Name)
	} else if _, ok := l.p.LoginModules[r.LoginModule]; !ok {
		l.report(used, r.Pos, "define it in <loginModules> or fix the name",
			"realm %q uses login module %q, which is not defined", r.Name, r.LoginModule)
	}
	if v, ok := r.Params.Get(ParamIdentifiesUser); ok && v != "true" && v != "false" {
		l.report(used, r.Pos, `write value="false" for a realm whose login does not say who the user is, or leave the parameter out`,
			"realm %q: %s is %q, not true or false", r.Name, ParamIdentifiesUser, v)
	}
	l.validateHeaderTrust(r, used)
	if r.Class.Kind == "userCertificate" {
		l.validateUserCertificateRealm(r, used)
	}
	if r.Class.Kind == "adapter" {
		l.validateAdapterRealm(r, used)
	}
	if r.Class.Status == Recognized && used {
		l.warnf(r.Pos, "", "realm %q (%s) is recognized but not enforced by this version: requests that need it are refused", r.Name, shortClass(r.ClassName))
	}
}

// validateHeaderTrust warns about realms that log in whoever sends a user name: a
// HeaderAuthenticator realm not marked as behind a trusted proxy, and HeaderLoginModule behind
// any other authenticator (a form's user name then logs in with no password).
func (l *loader) validateHeaderTrust(r *Realm, used bool) {
	v, marked := r.Params.Get(ParamBehindTrustedProxy)
	if marked && v != "true" && v != "false" {
		l.report(used, r.Pos, `write value="true" once a proxy that authenticates users sets the header and strips it from clients`,
			"realm %q: %s is %q, not true or false", r.Name, ParamBehindTrustedProxy, v)
	}
	if !used {
		return
	}
	lm := l.p.LoginModules[r.LoginModule]
	if lm == nil || lm.Class == nil {
		return // reported elsewhere
	}
	// Behind HeaderAuthenticator, only these modules accept the header's value as it comes (a
	// RejectingLoginModule, as Worklight's SubscribeServlet template has, accepts nobody; a
	// password module finds no password in a header).
	headerModule := lm.Class.Kind == "header"
	acceptsAnyName := headerModule || lm.Class.Kind == "nonValidating"
	switch {
	case r.Class.Kind == "header" && acceptsAnyName && v != "true":
		h := r.UserHeader(l.p)
		l.warnf(r.Pos, fmt.Sprintf(`serve hostd only through a proxy that authenticates users, sets %s and removes it from clients' requests; then mark the realm <parameter name="%s" value="true"/>`, h, ParamBehindTrustedProxy),
			"realm %q logs in whoever sends the %s header: any client that reaches hostd directly can be any user", r.Name, h)
	case r.Class.Kind != "header" && headerModule:
		l.warnf(r.Pos, "use HeaderLoginModule only with HeaderAuthenticator behind a trusted proxy, or a login module that checks a password",
			"realm %q uses HeaderLoginModule %q with %s: any user name a client sends logs in, with no password", r.Name, lm.Name, shortClass(r.ClassName))
	}
}

// validateAdapterRealm checks the login and logout functions of an adapter-based realm. They are
// functions of the adapter, not necessarily declared procedures (Worklight's onAuthRequired is a
// plain JavaScript function), so only the adapter is checked here, and, for a JavaScript adapter
// checked with LoadOptions.Scripts, that its script defines them; a wasm or plugin backend checks
// at load that its module exports them.
func (l *loader) validateAdapterRealm(r *Realm, used bool) {
	for _, name := range []string{"login-function", "logout-function"} {
		for _, param := range r.Params {
			if param.Name != name {
				continue
			}
			prm, pos := param.Value, param.Pos
			adapter, fn, ok := strings.Cut(prm, ".")
			if !ok || adapter == "" || fn == "" {
				l.report(used, pos, "write Adapter.function", "realm %q: %s %q is not Adapter.function", r.Name, name, prm)
				break
			}
			if _, exists := l.p.Adapters[adapter]; !exists {
				l.report(used, pos, "add adapters/"+adapter+"/"+adapter+".xml", "realm %q: %s names adapter %q, which is not in the project", r.Name, name, adapter)
			} else if fns, checked := l.scriptFunctions[adapter]; checked && !fns[fn] {
				l.report(used, pos, fmt.Sprintf("define function %s(...) in %s", fn, l.scriptFiles[adapter]),
					"realm %q: %s names %s, which %s does not define", r.Name, name, prm, l.scriptFiles[adapter])
			}
			break // the first, as Params.Get reads it
		}
	}
	l.validateSubmitProcedures(r, used)
}

// validateSubmitProcedures checks the procedures an adapter-based realm's answers may run: each
// one named must be a declared procedure of the realm's adapter. A realm left with none (no
// submit-procedures, no declared submitAuthentication, no unprotected procedure) can never log
// anyone in.
func (l *loader) validateSubmitProcedures(r *Realm, used bool) {
	login, _ := r.Params.Get("login-function")
	adapterName, _, ok := strings.Cut(login, ".")
	a := l.p.Adapters[adapterName]
	if !ok || a == nil {
		return // reported above
	}
	pos := r.Pos
	for _, prm := range r.Params {
		if prm.Name == ParamSubmitProcedures {
			pos = prm.Pos
		}
	}
	procs, explicit := r.SubmitProcedures()
	if explicit && len(procs) == 0 {
		l.report(used, pos, "name the procedures clients submit credentials to, such as submitAuthentication, or remove the parameter",
			"realm %q: %s is empty", r.Name, ParamSubmitProcedures)
	}
	usable := 0
	for _, ref := range procs {
		name := ref
		if ad, proc, qualified := strings.Cut(ref, "."); qualified {
			if ad != adapterName || proc == "" {
				l.report(used, pos, "name procedures of adapter "+adapterName+", the adapter of the login-function",
					"realm %q: submit procedure %q is not a procedure of adapter %s", r.Name, ref, adapterName)
				continue
			}
			name = proc
		}
		if _, declared := a.Procedures[name]; !declared {
			if explicit {
				l.report(used, pos, `declare <procedure name="`+name+`"/> in adapters/`+adapterName+"/"+adapterName+".xml",
					"realm %q: submit procedure %s.%s is not declared by the adapter", r.Name, adapterName, name)
			}
			continue
		}
		usable++
	}
	internal := internalProcedures(l.p)
	for _, name := range a.ProcedureOrder {
		if a.Procedures[name].SecurityTest == Unprotected && !internal[adapterName+"."+name] {
			usable++
		}
	}
	if usable == 0 && used {
		fix := fmt.Sprintf(`declare the procedure clients submit credentials to in adapters/%s/%s.xml and name it: <parameter name="%s" value="..."/>`, adapterName, adapterName, ParamSubmitProcedures)
		var submits []string
		for _, name := range a.ProcedureOrder {
			if strings.HasPrefix(strings.ToLower(name), "submit") {
				submits = append(submits, name)
			}
		}
		if len(submits) > 0 {
			fix = fmt.Sprintf(`name the procedures that receive credentials: <parameter name="%s" value="%s"/>`, ParamSubmitProcedures, strings.Join(submits, ", "))
		}
		l.warnf(pos, fix,
			"realm %q: no procedure of adapter %s may receive credentials (neither %s nor an unprotected one): nobody can log in", r.Name, adapterName, DefaultSubmitProcedure)
	}
}

func (l *loader) validateUserCertificateRealm(r *Realm, used bool) {
	if dep, ok := r.Params.Get("dependent-user-auth-realm"); ok {
		if _, exists := l.p.Realms[dep]; !exists {
			l.report(used, r.Pos, "name a realm defined in <realms>", "realm %q depends on realm %q, which is not defined", r.Name, dep)
		}
	}
	bridge, _ := r.Params.Get("pki-bridge-class")
	switch bridge {
	case "com.worklight.core.auth.ext.UserCertificateEmbeddedPKI":
		if _, ok := r.Params.Get("embedded-pki-bridge-ca-p12-file-path"); !ok {
			l.report(used, r.Pos, "add the embedded-pki-bridge-ca-p12-file-path parameter", "realm %q uses the embedded PKI without a CA file", r.Name)
		}
	case "com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI":
		v, ok := r.Params.Get("adapter-pki-bridge-certificate-generation-procedure")
		if !ok {
			l.report(used, r.Pos, "add adapter-pki-bridge-certificate-generation-procedure naming Adapter.procedure",
				"realm %q uses the adapter-based PKI without a certificate-generation procedure", r.Name)
		}
		for _, prm := range r.Params {
			if strings.HasPrefix(prm.Name, "adapter-pki-bridge-") {
				l.checkProcedureRef(prm.Pos, prm.Value, used, r.Name)
			}
		}
		if used {
			l.checkDocumentedBridgeProcedures(r, v)
		}
	case "":
	default:
		l.report(used, r.Pos, "use com.worklight.core.auth.ext.UserCertificateEmbeddedPKI or UserCertificateAdapterBasedPKI",
			"realm %q names PKI bridge class %s, which Realmgate does not implement", r.Name, bridge)
	}
}

// documentedBridgeProcedures are the procedures Worklight documents as required of an
// adapter-based PKI bridge, by the realm parameter that names each, with what Realmgate does
// without it.
var documentedBridgeProcedures = []struct{ param, procedure, without string }{
	{"adapter-pki-bridge-init-procedure", "init",
		"the bridge is never given the realm's parameters"},
	{"adapter-pki-bridge-identity-from-certificate-procedure", "getIdentityFromCertificate",
		"the user of a certificate is its subject's common name, whatever the bridge would say"},
}

// checkDocumentedBridgeProcedures warns about an adapter-based PKI realm that does not name the
// procedures Worklight documents as required of the bridge (init, getIdentityFromCertificate).
// It is a warning, not an error: Realmgate has a default for each (no init; the certificate's
// common name), so the realm works without them, and bridges that leave them out are common
// (the repository's own MDM and CFSSL examples do). A name that the adapter does not declare is
// an error of its own (checkProcedureRef). generation is the realm's certificate-generation
// procedure, whose adapter is taken as the bridge's.
func (l *loader) checkDocumentedBridgeProcedures(r *Realm, generation string) {
	bridge, _, _ := strings.Cut(generation, ".")
	a := l.p.Adapters[bridge]
	for _, dp := range documentedBridgeProcedures {
		if _, named := r.Params.Get(dp.param); named {
			continue
		}
		if a != nil {
			if _, declared := a.Procedures[dp.procedure]; declared {
				l.warnf(r.Pos, fmt.Sprintf(`name it: <parameter name=%q value="%s.%s"/>`, dp.param, bridge, dp.procedure),
					"realm %q does not name adapter %s's %s procedure in %s, so it is never called: %s", r.Name, bridge, dp.procedure, dp.param, dp.without)
				continue
			}
		}
		fix := fmt.Sprintf(`implement %s in the bridge, declare <procedure name=%q/> and name it: <parameter name=%q value="ADAPTER.%s"/>`, dp.procedure, dp.procedure, dp.param, dp.procedure)
		if a != nil {
			fix = fmt.Sprintf(`implement %s in adapter %s, declare <procedure name=%q/> in adapters/%s/%s.xml and name it: <parameter name=%q value="%s.%s"/>`,
				dp.procedure, bridge, dp.procedure, bridge, bridge, dp.param, bridge, dp.procedure)
		}
		l.warnf(r.Pos, fix,
			"realm %q names no %s procedure (%s), which Worklight documents as required of a PKI bridge: %s", r.Name, dp.procedure, dp.param, dp.without)
	}
}

// checkProcedureRef checks an "Adapter.procedure" reference.
func (l *loader) checkProcedureRef(pos Pos, ref string, used bool, realm string) {
	adapter, proc, ok := strings.Cut(ref, ".")
	if !ok || adapter == "" || proc == "" {
		l.report(used, pos, "write Adapter.procedure", "realm %q names procedure %q, which is not Adapter.procedure", realm, ref)
		return
	}
	a, exists := l.p.Adapters[adapter]
	if !exists {
		l.report(used, pos, "add adapters/"+adapter+"/"+adapter+".xml", "realm %q names adapter %q, which is not in the project", realm, adapter)
		return
	}
	if _, exists := a.Procedures[proc]; !exists {
		l.report(used, pos, "declare <procedure name=\""+proc+"\"/> in the adapter", "realm %q names procedure %s, which adapter %q does not declare", realm, ref, adapter)
	}
}

func shortClass(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func (l *loader) checkParams(c *Class, ps Params, used bool, pos Pos, what string) {
	for _, req := range c.Required {
		if _, ok := ps.Get(req); !ok {
			l.report(used, pos, fmt.Sprintf(`add <parameter name=%q value="..."/>`, req),
				"%s (%s) needs parameter %q", what, shortClass(c.Name), req)
		}
	}
	for _, prm := range ps {
		known := false
		for _, k := range append(append([]string{}, c.Required...), c.Known...) {
			known = known || k == prm.Name
		}
		if !known {
			l.warnf(prm.Pos, "", "%s: parameter %q is not used by %s", what, prm.Name, shortClass(c.Name))
		}
	}
}

// Login modules the ssoDeviceLoginModule attribute may name.
var ssoDeviceModules = map[string]string{
	"WLDeviceNoProvisioningLoginModule":   RealmDeviceNoProvision,
	"WLDeviceAutoProvisioningLoginModule": RealmDeviceAutoProvision,
}

// SSODeviceRealm returns the device realm whose identity a login module's logins are shared
// across (ssoDeviceLoginModule), or "". The engine shares logins only by the certificate a
// provisioned device signed in with (wl_deviceAutoProvisioningRealm): a device id alone is a claim.
func (m *LoginModule) SSODeviceRealm() string { return ssoDeviceModules[m.SSODeviceLoginModule] }

// ssoFix is how device single sign-on is made to work: applications share a login when they prove
// the same device certificate, that is when they share its key pair.
const ssoFix = `use WLDeviceAutoProvisioningLoginModule and put the applications that share logins in one provisioning group: <provisioning entity="group" group="NAME"/> (or entity="device")`

// validateDeviceSSO says where device single sign-on shares nothing. Logins are shared between the
// applications that prove the same device certificate: the environments of one provisioning group
// (or of entity "device") whose security test holds wl_deviceAutoProvisioningRealm. An application
// with a certificate of its own (entity "application"), alone in its group, or whose test proves
// no device, keeps its logins to itself.
func (l *loader) validateDeviceSSO() {
	p := l.p
	for _, name := range sortedKeys(p.LoginModules) {
		if p.LoginModules[name].SSODeviceRealm() != RealmDeviceAutoProvision {
			continue
		}
		realms := map[string]bool{}
		for rn, r := range p.Realms {
			if !r.Builtin && r.LoginModule == name {
				realms[rn] = true
			}
		}
		type use struct {
			app, env, entity string
			e                *Environment
			t                *SecurityTest
		}
		var uses []use
		apps := map[string]bool{}
		sharers := map[string]map[string]bool{} // provisioning entity -> applications
		for _, appID := range sortedKeys(p.Apps) {
			for _, envName := range sortedKeys(p.Apps[appID].Envs) {
				env := p.Apps[appID].Envs[envName]
				t := p.Tests[env.SecurityTest]
				if t == nil {
					continue
				}
				holds := false
				for _, tr := range t.Realms {
					holds = holds || realms[tr.Realm]
				}
				if !holds {
					continue
				}
				ent := env.ProvisioningEntity
				if ent == "" || ent == "application" {
					ent = "application:" + appID
				}
				uses = append(uses, use{appID, envName, ent, env, t})
				apps[appID] = true
				if t.HasRealm(RealmDeviceAutoProvision) {
					if sharers[ent] == nil {
						sharers[ent] = map[string]bool{}
					}
					sharers[ent][appID] = true
				}
			}
		}
		for _, u := range uses {
			switch {
			case !u.t.HasRealm(RealmDeviceAutoProvision):
				l.warnf(u.e.Pos, `add <testDeviceId provisioningType="auto"/> to the security test`,
					"login module %q shares logins by the device certificate of %s, which security test %q of application %s (%s) does not hold, so its logins are not shared",
					name, RealmDeviceAutoProvision, u.t.Name, u.app, u.env)
			case len(apps) < 2:
				// One application: there is nobody to share with, and nothing to say.
			case strings.HasPrefix(u.entity, "application:"):
				l.warnf(u.e.Pos, ssoFix,
					"login module %q shares logins between applications that prove the same device certificate; application %s (%s) provisions its own certificate (entity application), so its logins are not shared",
					name, u.app, u.env)
			case len(sharers[u.entity]) < 2:
				l.warnf(u.e.Pos, ssoFix,
					"login module %q shares logins between applications that prove the same device certificate; application %s (%s) is the only one of them provisioned for %s, so its logins are not shared",
					name, u.app, u.env, u.entity)
			}
		}
	}
}

func (l *loader) validateLoginModule(m *LoginModule, used bool) {
	switch {
	case m.ClassName == "":
		l.report(used, m.Pos, "add <className>", "login module %q has no className", m.Name)
		return
	case m.Class == nil:
		l.report(used, m.Pos, replacementFor(m.ClassName, roleLoginModule),
			"login module %q uses class %s, which Realmgate does not implement", m.Name, m.ClassName)
		return
	case m.Class.Role != roleLoginModule:
		l.report(used, m.Pos, "name a login module class", "login module %q names %s, which is an authenticator", m.Name, m.ClassName)
		return
	}
	l.checkParams(m.Class, m.Params, used, m.Pos, fmt.Sprintf("login module %q", m.Name))
	if m.Class.Status == Recognized && used {
		l.warnf(m.Pos, "", "login module %q (%s) is recognized but not enforced by this version: requests that need it are refused", m.Name, shortClass(m.ClassName))
	}
	if m.SSODeviceLoginModule != "" {
		switch ssoDeviceModules[m.SSODeviceLoginModule] {
		case "":
			l.report(used, m.Pos, "use WLDeviceNoProvisioningLoginModule or WLDeviceAutoProvisioningLoginModule",
				"login module %q: unknown ssoDeviceLoginModule %q", m.Name, m.SSODeviceLoginModule)
		case RealmDeviceNoProvision:
			if used {
				l.warnf(m.Pos, ssoFix,
					"login module %q names ssoDeviceLoginModule WLDeviceNoProvisioningLoginModule: a device id that is only claimed proves nothing, so its logins are not shared", m.Name)
			}
		}
	}
	switch m.Class.Kind {
	case "ldap":
		l.validateLDAP(m, used)
	case "passwordFile":
		if f, ok := m.Params.Get("file"); ok && used {
			users, err := htpasswd.ReadFile(filepath.Join(l.dir, filepath.FromSlash(f)))
			if err != nil {
				l.errorf(m.Pos, "create it with htpasswd -B -C 10 (bcrypt)", "login module %q: %v", m.Name, err)
			} else {
				l.checkHashCosts(m, f, users)
			}
		}
	case "nonValidating":
		// Behind an AdapterAuthenticator the adapter decides the login (IBM's documented
		// pairing); the module decides only behind the other authenticators.
		if used && l.moduleDecides(m.Name) {
			l.warnf(m.Pos, "use realmgate.PasswordFileLoginModule in production, or an AdapterAuthenticator realm whose adapter validates",
				"login module %q (NonValidatingLoginModule) accepts any user name and password", m.Name)
		}
	case "singleIdentity":
		_, hasUser := m.Params.Get("user-name")
		_, hasHash := m.Params.Get("password-hash")
		if used && (!hasUser || !hasHash) {
			l.warnf(m.Pos, `add <parameter name="user-name"/> and <parameter name="password-hash"/> (bcrypt)`,
				"login module %q (SingleIdentityLoginModule) has no identity configured: every login is refused", m.Name)
		}
		if h, ok := m.Params.Get("password-hash"); ok {
			if cost, err := htpasswd.Cost([]byte(h)); err != nil {
				l.report(used, m.Pos, "give a bcrypt hash (htpasswd -nB -C 10 user)", "login module %q: password-hash is not a bcrypt hash", m.Name)
			} else if cost < htpasswd.MinRecommendedCost && used {
				l.warnf(m.Pos, fmt.Sprintf("hash it again at cost %d or more: htpasswd -nB -C %d user", htpasswd.MinRecommendedCost, htpasswd.MinRecommendedCost),
					"login module %q: password-hash has bcrypt cost %d: each guess costs an attacker little", m.Name, cost)
			}
		}
	}
}

// realmGivesDevice reports whether a realm can provide a device identity.
func (l *loader) realmGivesDevice(name string) bool {
	r := l.p.Realms[name]
	if r == nil {
		return false
	}
	if r.Builtin {
		return builtinRealms[name].Device
	}
	return r.Class != nil && r.Class.Kind == "deviceProvisioning"
}

func (l *loader) isAutoProvisioning(name string) bool {
	r := l.p.Realms[name]
	return name == RealmDeviceAutoProvision || (r != nil && !r.Builtin && r.Class != nil && r.Class.Kind == "deviceProvisioning")
}

func (l *loader) validateTest(t *SecurityTest) {
	for _, tr := range t.Realms {
		if !t.Predefined {
			switch st := builtinRealms[tr.Realm]; {
			case tr.Realm == RealmDirectUpdate || (!tr.Enforced && st.Status == NotEnforced):
				l.warnf(tr.Pos, "", "security test %q: %s is not a security control; it is accepted and not enforced", t.Name, tr.Realm)
			case st.Status == Recognized && l.p.Realms[tr.Realm] != nil && l.p.Realms[tr.Realm].Builtin:
				l.warnf(tr.Pos, "", "security test %q: %s is recognized but not enforced by this version: requests that need it are refused", t.Name, tr.Realm)
			}
		}
		r, ok := l.p.Realms[tr.Realm]
		if !ok {
			l.errorf(tr.Pos, fmt.Sprintf("define <realm name=%q> in <realms>, or use a built-in realm: %s", tr.Realm, strings.Join(sortedKeys(builtinRealms), ", ")),
				"security test %q uses realm %q, which is not defined", t.Name, tr.Realm)
			continue
		}
		if tr.InternalDevice && !l.realmGivesDevice(tr.Realm) {
			l.errorf(tr.Pos, "mark a device realm (wl_deviceNoProvisioningRealm, wl_deviceAutoProvisioningRealm or a custom provisioning realm)",
				"realm %q does not provide a device identity but is marked isInternalDeviceID", tr.Realm)
		}
		if tr.InternalUser && tr.Realm != RealmAnonymousUser && (r.Builtin || (r.Class != nil && r.Class.Kind == "deviceProvisioning")) {
			l.errorf(tr.Pos, "mark the realm that identifies the user", "realm %q does not provide a user identity but is marked isInternalUserID", tr.Realm)
		}
		if v, _ := r.Params.Get(ParamIdentifiesUser); tr.InternalUser && v == "false" {
			l.errorf(tr.Pos, "mark the realm that identifies the user isInternalUserID, or drop "+ParamIdentifiesUser+`="false"`,
				"realm %q is declared %s=\"false\" but is marked isInternalUserID in security test %q", tr.Realm, ParamIdentifiesUser, t.Name)
		}
	}
	// Device auto-provisioning trusts the app only after the authenticity realm proved it.
	if t.DeviceRealm != "" && l.isAutoProvisioning(t.DeviceRealm) && !t.HasRealm(RealmAuthenticity) {
		fix := "add <testAppAuthenticity/> to the mobileSecurityTest, or <test realm=\"wl_authenticityRealm\" step=\"1\"/>"
		if t.DeviceRealm == RealmDeviceAutoProvision {
			l.errorf(t.Pos, fix, "security test %q auto-provisions devices without the authenticity realm", t.Name)
		} else {
			l.warnf(t.Pos, fix, "security test %q provisions devices through %q without the authenticity realm", t.Name, t.DeviceRealm)
		}
	}
	if t.HasRealm(RealmAuthenticity) && t.DeviceRealm != "" {
		if stepOf(t, RealmAuthenticity) > stepOf(t, t.DeviceRealm) {
			l.errorf(t.Pos, "put wl_authenticityRealm in an earlier step than the device realm",
				"security test %q checks app authenticity after device provisioning", t.Name)
		}
	}
}

// deviceSecurityRealms lists the realms of a test that need a device environment: provisioning
// (automatic or custom) and app authenticity.
func (l *loader) deviceSecurityRealms(t *SecurityTest) []string {
	var out []string
	for _, step := range t.Steps {
		for _, r := range step {
			if r == RealmAuthenticity || l.isAutoProvisioning(r) {
				out = append(out, r)
			}
		}
	}
	return out
}

func stepOf(t *SecurityTest, realm string) int {
	for i, s := range t.Steps {
		for _, r := range s {
			if r == realm {
				return i + 1
			}
		}
	}
	return 0
}

// deviceRealmFix says how a test without a device realm gets one: mark the device realm it
// already holds, or add the one that provisions nothing (what an empty mobileSecurityTest uses).
func (l *loader) deviceRealmFix(t *SecurityTest) string {
	for _, tr := range t.Realms {
		if l.realmGivesDevice(tr.Realm) {
			return fmt.Sprintf(`mark the device realm of %q: <test realm=%q isInternalDeviceID="true"/>`, t.Name, tr.Realm)
		}
	}
	return fmt.Sprintf(`add <test realm=%q isInternalDeviceID="true"/> to %q (or a provisioning device realm), or use a test without a device realm only on web environments`, RealmDeviceNoProvision, t.Name)
}

func (l *loader) validateResources() {
	p := l.p
	for _, id := range sortedKeys(p.Apps) {
		app := p.Apps[id]
		for _, envName := range sortedKeys(app.Envs) {
			env := app.Envs[envName]
			if env.SecurityTest == Unprotected {
				l.warnf(env.Pos, "name a security test to protect it",
					"environment %s of application %q is unprotected (securityTest=%q): every client reaches it without a security check", envName, id, Unprotected)
				continue
			}
			t, ok := p.Tests[env.SecurityTest]
			if !ok {
				l.errorf(env.Pos, "define it in server/conf/authenticationConfig.xml or fix the name",
					"environment %s of application %q uses security test %q, which is not defined", envName, id, env.SecurityTest)
				continue
			}
			if t.UserRealm == "" {
				l.errorf(env.Pos, fmt.Sprintf("mark one realm of %q isInternalUserID=\"true\" (or add <test realm=\"wl_anonymousUserRealm\" isInternalUserID=\"true\"/>)", t.Name),
					"environment %s of application %q is protected by security test %q, which has no user realm: an application's test needs exactly one", envName, id, t.Name)
			}
			if env.Mobile && t.DeviceRealm == "" {
				l.errorf(env.TestPos, l.deviceRealmFix(t),
					"mobile environment %s of application %q uses security test %q, which has no device realm: a mobile environment's test needs exactly one realm marked isInternalDeviceID", envName, id, t.Name)
			}
			if !env.Mobile && t.DeviceRealm != "" {
				l.errorf(env.Pos, "use a web or custom test without a device realm for web environments",
					"web environment %s of application %q uses security test %q, which needs a device realm", envName, id, t.Name)
			}
			if env.Mobile && !env.SupportsDeviceSecurity() {
				for _, r := range l.deviceSecurityRealms(t) {
					l.errorf(env.Pos, "device provisioning and app authenticity run on android, iphone and ipad environments only",
						"environment %s of application %q uses security test %q, whose realm %s this environment cannot run", envName, id, t.Name, r)
				}
			}
			if env.Name == "android" && t.HasRealm(RealmAuthenticity) && (env.PackageName == "" || len(env.SigningCertificateDigests) == 0) {
				l.warnf(env.Pos, "add <packageName> and <signingCertificateDigest> (hex SHA-256 of the signing certificate) to the environment's <security>",
					"environment android of application %q checks app authenticity without the package name and signing-certificate digest to check against: every Android key attestation will be refused", id)
			}
			if !env.Mobile && t.HasRealm(RealmAuthenticity) {
				l.errorf(env.Pos, "app authenticity applies to android and iphone environments only",
					"web environment %s of application %q uses security test %q, which checks app authenticity", envName, id, t.Name)
			}
		}
	}
	for _, name := range sortedKeys(p.Adapters) {
		a := p.Adapters[name]
		for _, pn := range a.ProcedureOrder {
			proc := a.Procedures[pn]
			if proc.SecurityTest == "" || proc.SecurityTest == Unprotected {
				continue
			}
			if _, ok := p.Tests[proc.SecurityTest]; !ok {
				l.errorf(proc.Pos, "define it in server/conf/authenticationConfig.xml, fix the name, or use wl_unprotected",
					"procedure %s.%s uses security test %q, which is not defined", name, pn, proc.SecurityTest)
			}
		}
	}
	for _, sr := range p.StaticResources {
		t, ok := p.Tests[sr.SecurityTest]
		if !ok {
			l.errorf(sr.Pos, "define it in <securityTests> or fix the name",
				"static resource %q uses security test %q, which is not defined", sr.ID, sr.SecurityTest)
			continue
		}
		l.checkStaticBasicWithAntiXSRF(sr, t)
	}
}

// checkStaticBasicWithAntiXSRF warns about a static resource whose test holds both the anti-XSRF
// realm and a Basic realm: a browser logs in to a Basic realm by sending the Authorization header
// on the request itself, and a plain navigation cannot carry the WL-Instance-Id header the
// anti-XSRF realm needs, so a browser can never pass the test (only a client that speaks the JSON
// protocol can). A webSecurityTest always holds the anti-XSRF realm.
func (l *loader) checkStaticBasicWithAntiXSRF(sr *StaticResource, t *SecurityTest) {
	if !t.HasRealm(RealmAntiXSRF) {
		return
	}
	var basic []string
	for _, tr := range t.Realms {
		if r := l.p.Realms[tr.Realm]; r != nil && r.Class != nil && r.Class.Kind == "basic" && !slices.Contains(basic, tr.Realm) {
			basic = append(basic, tr.Realm)
		}
	}
	if len(basic) == 0 {
		return
	}
	fix := fmt.Sprintf(`protect the resource with a customSecurityTest without %s, such as <customSecurityTest name="%sBasic"><test realm=%q isInternalUserID="true"/></customSecurityTest>`,
		RealmAntiXSRF, sr.ID, basic[0])
	if t.Kind == KindWeb {
		fix += " (a webSecurityTest always adds " + RealmAntiXSRF + ")"
	}
	l.warnf(sr.Pos, fix,
		"static resource %q uses security test %q, which holds both %s and BasicAuthenticator realm %s: a browser sends its Basic credentials on a plain request, which cannot carry the WL-Instance-Id header %s needs, so a browser never passes",
		sr.ID, t.Name, RealmAntiXSRF, quoteAll(basic), RealmAntiXSRF)
}

// quoteAll writes names as Go-quoted strings separated by commas.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// checkHashCosts warns about a password file whose hashes are cheap to guess, or whose costs
// differ: a login checks an unknown user name against a hash of the file's common cost, so the
// users whose cost differs answer at another speed and can be told apart.
func (l *loader) checkHashCosts(m *LoginModule, file string, users map[string][]byte) {
	byCost := map[int][]string{}
	for user, h := range users {
		cost, _ := htpasswd.Cost(h) // ReadFile checked every hash
		byCost[cost] = append(byCost[cost], user)
	}
	costs := sortedKeysInt(byCost)
	var low []string
	for _, c := range costs {
		if c < htpasswd.MinRecommendedCost {
			low = append(low, fmt.Sprint(c))
		}
	}
	if len(low) > 0 {
		l.warnf(m.Pos, fmt.Sprintf("hash the passwords again at cost %d or more: htpasswd -B -C %d %s USER", htpasswd.MinRecommendedCost, htpasswd.MinRecommendedCost, file),
			"login module %q: %s has bcrypt hashes of cost %s, below %d: each guess costs an attacker little", m.Name, file, strings.Join(low, ", "), htpasswd.MinRecommendedCost)
	}
	if len(costs) > 1 {
		common := htpasswd.CommonCost(users)
		var odd []string
		for _, c := range costs {
			if c != common {
				odd = append(odd, byCost[c]...)
			}
		}
		sort.Strings(odd)
		if len(odd) > 5 {
			odd = append(odd[:5], "...")
		}
		l.warnf(m.Pos, fmt.Sprintf("hash every password of %s at one cost (htpasswd -B -C %d)", file, max(common, htpasswd.MinRecommendedCost)),
			"login module %q: %s mixes bcrypt costs; a login of a user whose cost is not %d (%s) takes another time than one of an unknown user name, which tells that the user exists",
			m.Name, file, common, strings.Join(odd, ", "))
	}
}

func sortedKeysInt[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// moduleDecides reports whether a realm that some security test uses hands its credentials to the
// login module named name to decide: any authenticator but AdapterAuthenticator, whose adapter
// decides.
func (l *loader) moduleDecides(name string) bool {
	for _, r := range l.p.Realms {
		if r.LoginModule == name && l.usedRealms[r.Name] && (r.Class == nil || r.Class.Kind != "adapter") {
			return true
		}
	}
	return false
}
