package project

import "strings"

// Class describes an authenticator or login-module class that a configuration may name.
type Class struct {
	Name string
	// Role is "authenticator" or "loginModule".
	Role string
	// Status says whether Realmgate enforces the class today.
	Status ClassStatus
	// Required and Known parameters; a parameter outside Known is a warning (real files carry
	// leftovers), a missing Required one an error.
	Required []string
	Known    []string
	// Kind is the short name the engine dispatches on ("form", "basic", "nonValidating", ...).
	Kind string
}

// ClassStatus says how far Realmgate implements a class.
type ClassStatus int

// Class statuses.
const (
	// Implemented classes are enforced.
	Implemented ClassStatus = iota
	// Recognized classes are understood by the loader and their parameters checked, but this
	// build cannot enforce them yet: a request that needs one is refused, never passed.
	Recognized
	// NotEnforced classes are accepted but are not security controls.
	NotEnforced
)

const (
	roleAuthenticator = "authenticator"
	roleLoginModule   = "loginModule"
)

const (
	wlExt = "com.worklight.core.auth.ext."
)

var classes = map[string]*Class{}

// pkiBridgeParams name the procedures of an adapter-based PKI bridge.
var pkiBridgeParams = []string{
	"adapter-pki-bridge-init-procedure", "adapter-pki-bridge-identity-validation-procedure",
	"adapter-pki-bridge-csr-requirements-procedure", "adapter-pki-bridge-csr-validation-procedure",
	"adapter-pki-bridge-certificate-generation-procedure",
	"adapter-pki-bridge-identity-from-certificate-procedure",
	"adapter-pki-bridge-certificate-validation-procedure",
}

func addClass(c *Class) { classes[c.Name] = c }

func init() {
	for _, c := range []*Class{
		{Name: wlExt + "FormBasedAuthenticator", Role: roleAuthenticator, Kind: "form",
			Known: []string{"login-page", "error-page", ParamIdentifiesUser}},
		{Name: wlExt + "BasicAuthenticator", Role: roleAuthenticator, Kind: "basic",
			Known: []string{"basic-realm-name", ParamIdentifiesUser}},
		{Name: wlExt + "HeaderAuthenticator", Role: roleAuthenticator, Kind: "header",
			Known: []string{"user-name-header", ParamBehindTrustedProxy, ParamIdentifiesUser}},
		{Name: "com.worklight.integration.auth.AdapterAuthenticator", Role: roleAuthenticator, Kind: "adapter",
			Required: []string{"login-function"}, Known: []string{"logout-function", ParamSubmitProcedures, ParamIdentifiesUser}},
		{Name: wlExt + "UserCertificateAuthenticator", Role: roleAuthenticator, Kind: "userCertificate",
			Required: []string{"dependent-user-auth-realm", "pki-bridge-class"},
			Known: []string{
				"embedded-pki-bridge-ca-p12-file-path", "embedded-pki-bridge-ca-p12-password",
				"embedded-pki-bridge-organization", "embedded-pki-bridge-add-cert-extensions",
				"adapter-pki-bridge-init-procedure", "adapter-pki-bridge-identity-validation-procedure",
				"adapter-pki-bridge-csr-requirements-procedure", "adapter-pki-bridge-csr-validation-procedure",
				"adapter-pki-bridge-certificate-generation-procedure",
				"adapter-pki-bridge-identity-from-certificate-procedure",
				"adapter-pki-bridge-certificate-validation-procedure",
			}},
		{Name: wlExt + "DeviceAutoProvisioningAuthenticator", Role: roleAuthenticator, Kind: "deviceProvisioning",
			Known: append([]string{"validate-csr-function"}, pkiBridgeParams...)},
		{Name: wlExt + "TrusteerAuthenticator", Role: roleAuthenticator, Kind: "trusteer",
			Status: Recognized, Known: []string{"rooted-device", "device-with-malware", "rooted-hiders",
				"unsecured-wifi", "outdated-configuration"}},

		{Name: wlExt + "NonValidatingLoginModule", Role: roleLoginModule, Kind: "nonValidating"},
		{Name: wlExt + "SingleIdentityLoginModule", Role: roleLoginModule, Kind: "singleIdentity",
			Known: []string{"user-name", "password-hash", "display-name"}},
		{Name: wlExt + "RejectingLoginModule", Role: roleLoginModule, Kind: "rejecting"},
		{Name: wlExt + "HeaderLoginModule", Role: roleLoginModule, Kind: "header",
			Required: []string{"user-name-header"}, Known: []string{"display-name-header"}},
		{Name: "realmgate.PasswordFileLoginModule", Role: roleLoginModule, Kind: "passwordFile",
			Required: []string{"file"}},
		{Name: wlExt + "LdapLoginModule", Role: roleLoginModule, Kind: "ldap",
			Required: []string{LDAPProviderURL}, Known: ldapParams},
		{Name: wlExt + "UserCertificateLoginModule", Role: roleLoginModule, Kind: "userCertificate"},
		{Name: wlExt + "DeviceAutoProvisioningLoginModule", Role: roleLoginModule, Kind: "deviceProvisioning",
			Known: []string{"validate-certificate-function"}},
		{Name: wlExt + "TrusteerLoginModule", Role: roleLoginModule, Kind: "trusteer", Status: Recognized},
	} {
		addClass(c)
	}
}

// LookupClass returns the description of a known class, or nil.
func LookupClass(name string) *Class { return classes[name] }

// replacementFor says what to use instead of a class Realmgate does not implement.
func replacementFor(name, role string) string {
	low := strings.ToLower(name)
	switch {
	case strings.Contains(low, "websphere") || strings.Contains(low, "ltpa"):
		if role == roleAuthenticator {
			return "use com.worklight.core.auth.ext.FormBasedAuthenticator with realmgate.PasswordFileLoginModule"
		}
		return "use realmgate.PasswordFileLoginModule"
	case role == roleAuthenticator:
		return "Realmgate does not run Java classes: use com.worklight.integration.auth.AdapterAuthenticator with a wasm or plugin adapter, or FormBasedAuthenticator/BasicAuthenticator/HeaderAuthenticator"
	default:
		return "Realmgate does not run Java classes: use realmgate.PasswordFileLoginModule, or an adapter-based realm (AdapterAuthenticator) that validates in a wasm or plugin adapter"
	}
}

// Built-in realm names.
const (
	RealmAntiXSRF            = "wl_antiXSRFRealm"
	RealmAnonymousUser       = "wl_anonymousUserRealm"
	RealmRemoteDisable       = "wl_remoteDisableRealm"
	RealmDeviceNoProvision   = "wl_deviceNoProvisioningRealm"
	RealmDeviceAutoProvision = "wl_deviceAutoProvisioningRealm"
	RealmAuthenticity        = "wl_authenticityRealm"
	RealmDirectUpdate        = "wl_directUpdateRealm"
	RealmUserCertificate     = "wl_userCertificateAuthRealm"
)

// builtinRealm describes a realm Realmgate provides without a <realm> definition.
type builtinRealm struct {
	Status ClassStatus
	// Device and User say which identity the realm provides.
	Device, User bool
}

var builtinRealms = map[string]builtinRealm{
	RealmAntiXSRF:            {Status: Implemented},
	RealmAnonymousUser:       {Status: Implemented, User: true},
	RealmRemoteDisable:       {Status: Implemented},
	RealmDeviceNoProvision:   {Status: Implemented, Device: true},
	RealmDeviceAutoProvision: {Status: Implemented, Device: true},
	RealmAuthenticity:        {Status: Implemented},
	RealmDirectUpdate:        {Status: NotEnforced},
}

// Realm parameters Realmgate adds to Worklight's.
const (
	// ParamIdentifiesUser set to "false" declares that a realm's login does not identify a user
	// (it proves something else: a shared code, a branch, an acknowledgement), so it is exempt
	// from the rule that the realms of a session identify one user.
	ParamIdentifiesUser = "identifies-user"
	// ParamSubmitProcedures lists the procedures of an adapter-based realm's adapter that a
	// client's answer may name to submit credentials (names, or Adapter.procedure, separated by
	// commas or spaces); DefaultSubmitProcedure when the realm has none.
	ParamSubmitProcedures = "submit-procedures"
	// ParamBehindTrustedProxy set to "true" on a HeaderAuthenticator realm says that hostd is
	// only reachable through a proxy that authenticates users, sets the user-name header and
	// removes it from clients' requests. Without it hostd check warns: any client that can reach
	// hostd can send the header and be logged in as anyone.
	ParamBehindTrustedProxy = "behind-trusted-proxy"
)

// DefaultUserHeader is the header a HeaderAuthenticator realm reads when neither the realm nor
// its login module names one (parameter user-name-header).
const DefaultUserHeader = "X-Realmgate-User"

// UserHeader returns the header a header-authenticated realm reads its user name from.
func (r *Realm) UserHeader(p *Project) string {
	if h, ok := r.Params.Get("user-name-header"); ok && h != "" {
		return h
	}
	if lm := p.LoginModules[r.LoginModule]; lm != nil {
		if h, ok := lm.Params.Get("user-name-header"); ok && h != "" {
			return h
		}
	}
	return DefaultUserHeader
}

// DefaultSubmitProcedure is the submit procedure of an adapter-based realm that names none: the
// name Worklight's samples and most projects use.
const DefaultSubmitProcedure = "submitAuthentication"

// SubmitProcedures returns the procedures of its adapter that an adapter-based realm's answers
// may name to submit credentials, as its submit-procedures parameter lists them (an
// "Adapter.procedure" entry keeps its adapter prefix, for the loader to check), or
// DefaultSubmitProcedure. The procedures of the adapter that are themselves unprotected may be
// named as well; every other procedure keeps its own security test.
func (r *Realm) SubmitProcedures() (procs []string, explicit bool) {
	v, ok := r.Params.Get(ParamSubmitProcedures)
	if !ok {
		return []string{DefaultSubmitProcedure}, false
	}
	return strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' }), true
}

// IdentifiesUser reports whether a login of the realm identifies a user. Every realm with a
// login module or a user certificate does, unless its identifies-user parameter is "false";
// built-in realms do not (the anonymous user is an app instance, not a person). Within one
// session, the logins of realms that identify a user must all name the same user.
func (r *Realm) IdentifiesUser() bool {
	if r.Builtin || r.Class == nil {
		return false
	}
	switch r.Class.Kind {
	case "form", "basic", "header", "adapter", "userCertificate":
		v, _ := r.Params.Get(ParamIdentifiesUser)
		return v != "false"
	}
	return false
}

// RealmStatus says whether the realm is enforced by this build.
func (r *Realm) Status(p *Project) ClassStatus {
	if r.Builtin {
		return builtinRealms[r.Name].Status
	}
	st := Implemented
	if r.Class != nil && r.Class.Status > st {
		st = r.Class.Status
	}
	if lm := p.LoginModules[r.LoginModule]; lm != nil && lm.Class != nil && lm.Class.Status > st {
		st = lm.Class.Status
	}
	return st
}
