package project

// Project is a loaded, validated Worklight-shaped project directory: its authentication
// configuration, applications, adapters and user policies. It is immutable after Load.
type Project struct {
	// Dir is the project directory as given to Load.
	Dir string
	// Tests holds every security test by name, the predefined defaults included.
	Tests map[string]*SecurityTest
	// TestOrder lists test names in the order of the configuration file, defaults last.
	TestOrder []string
	// Realms holds every realm by name, the built-in ones included.
	Realms map[string]*Realm
	// LoginModules holds the login modules by name.
	LoginModules map[string]*LoginModule
	// StaticResources are the URL-pattern protected resources, in file order.
	StaticResources []*StaticResource
	// Apps holds applications by id.
	Apps map[string]*App
	// Adapters holds adapters by name.
	Adapters map[string]*Adapter
	// Policies are the user's own Rego modules from the project's policies/ folder.
	Policies []*PolicyFile
	// Internal holds the "Adapter.procedure" names that realms call (PKI bridges, login and
	// logout functions, validation functions): clients may not call them directly.
	Internal map[string]bool
	// Diagnostics are the warnings found while loading (errors make Load fail).
	Diagnostics Diagnostics
}

// Test kinds.
const (
	KindWeb    = "web"
	KindMobile = "mobile"
	KindCustom = "custom"
)

// Names of the predefined tests that protect environments whose descriptor names none.
const (
	DefaultMobileTest = "wl_defaultMobileSecurityTest"
	DefaultWebTest    = "wl_defaultWebSecurityTest"
	// Unprotected is the pseudo-test of adapter procedures that need no authentication.
	Unprotected = "wl_unprotected"
)

// SecurityTest is one security test after expansion: the realms a client must pass, by step.
type SecurityTest struct {
	Name string
	Kind string // KindWeb, KindMobile or KindCustom
	Pos  Pos
	// Predefined is true for the default tests Realmgate adds.
	Predefined bool
	// Realms are the test's realms in step order, then declaration order.
	Realms []TestRealm
	// Steps lists the enforced realms of each step; Steps[0] is step 1. Steps are consecutive:
	// gaps in the configured numbers are closed.
	Steps [][]string
	// UserRealm and DeviceRealm are the realms marked isInternalUserID / isInternalDeviceID
	// ("" when none).
	UserRealm   string
	DeviceRealm string
	// NotEnforced lists realms of the test that are accepted but are not security controls
	// (wl_directUpdateRealm).
	NotEnforced []string
	// AccessTokenExpirationSec is the lifetime of access tokens for this scope (0: default).
	AccessTokenExpirationSec int
	// Expansion describes how a web or mobile test was expanded, for reviewers.
	Expansion string
}

// HasRealm reports whether realm is an enforced realm of the test.
func (t *SecurityTest) HasRealm(realm string) bool {
	for _, s := range t.Steps {
		for _, r := range s {
			if r == realm {
				return true
			}
		}
	}
	return false
}

// TestRealm is one realm of a security test.
type TestRealm struct {
	Realm          string
	Step           int
	Mode           string
	InternalUser   bool
	InternalDevice bool
	Enforced       bool
	Pos            Pos
}

// Param is a <parameter name value> of a realm or login module.
type Param struct {
	Name, Value string
	Pos         Pos
}

// Params is an ordered parameter list.
type Params []Param

// Get returns the value of the parameter and whether it is present.
func (ps Params) Get(name string) (string, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Map returns the parameters as a map (the last of duplicate names wins).
func (ps Params) Map() map[string]string {
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Name] = p.Value
	}
	return m
}

// Realm is an authentication realm: an authenticator class and a login module, or a built-in.
type Realm struct {
	Name        string
	ClassName   string // authenticator class; "" for built-in realms
	LoginModule string
	Params      Params
	OnLoginURL  string
	Pos         Pos
	// Builtin is true for the realms Realmgate provides without configuration.
	Builtin bool
	// Class is the authenticator class's description (nil for built-in realms).
	Class *Class
}

// LoginModule is a login module definition.
type LoginModule struct {
	Name      string
	ClassName string
	Params    Params
	// ExpirationInSeconds is how long a login stays valid without use; -1 for the session's life.
	ExpirationInSeconds  int
	SSODeviceLoginModule string
	Audit                bool
	Pos                  Pos
	Class                *Class
}

// StaticResource is a <staticResources><resource>: URL patterns protected by a test.
type StaticResource struct {
	ID           string
	SecurityTest string
	URLPatterns  []string
	Pos          Pos
}

// App is an application with its environments.
type App struct {
	ID   string
	Pos  Pos
	Kind string // "hybrid" or "native"
	Envs map[string]*Environment
	// AccessTokenExpiration from the descriptor, seconds (0: unset): a cap on the life of the
	// application's access tokens, which otherwise live their scope test's lifetime.
	AccessTokenExpiration int
	// UserIdentityRealms lists the descriptor's userIdentityRealms.
	UserIdentityRealms []string
}

// Environment is one environment of an application.
type Environment struct {
	Name string // lower case: "android", "iphone", "common", "mobilewebapp", ...
	// Mobile is true for device environments (android, iphone, ...), false for web ones.
	Mobile bool
	// SecurityTest is the effective test: the descriptor's, or the default for the kind.
	SecurityTest string
	// Declared is the securityTest attribute as written ("" when none).
	Declared string
	Version  string
	Pos      Pos
	// TestPos is where the securityTest attribute is (Pos when there is none): a start tag
	// may span lines.
	TestPos Pos
	// Security holds the environment's <security> children that realms use.
	PublicSigningKey string
	PackageName      string
	BundleID         string
	// SigningCertificateDigests are the hex SHA-256 digests of the app signing certificates the
	// authenticity realm accepts (<signingCertificateDigest>, Android).
	SigningCertificateDigests []string
	// ProvisioningEntity is what device provisioning binds a certificate to: "application"
	// ("" means the same), "group:NAME" or "device" (<provisioning entity="group" group="NAME"/>).
	ProvisioningEntity string
}

// SupportsDeviceSecurity reports whether the environment can run device provisioning and app
// authenticity (Android and iOS).
func (e *Environment) SupportsDeviceSecurity() bool {
	switch e.Name {
	case "android", "iphone", "ipad":
		return true
	}
	return false
}

// Adapter is an adapter's declaration.
type Adapter struct {
	Name       string
	Pos        Pos
	Dir        string // absolute directory of the adapter
	Procedures map[string]*Procedure
	// ProcedureOrder lists procedure names in file order.
	ProcedureOrder []string
	// Backend says how Realmgate runs the adapter; nil when the file declares none (a Worklight
	// JavaScript or Java adapter, whose procedures then answer 501).
	Backend *Backend
	// AllowHTTP lists the endpoints of the adapter's connectivity and of its backend's allow
	// entries, in file order: all the adapter may reach over HTTP.
	AllowHTTP []Endpoint
	// DataSource is the database of a SQL adapter (datasource.go); nil for any other.
	DataSource *DataSource
}

// Endpoint is an outbound HTTP endpoint an adapter may reach, and the element of the adapter's
// XML that allows it. The daemon turns it into the adapter runtime's allow-list entry
// (adapters.HostPort); the model keeps its own, with its place in the file, because it imports
// only the standard library.
type Endpoint struct {
	Host string // lower case
	Port int
	Pos  Pos
	// Connectivity is true for the endpoint of the <connectivity> section, false for a backend
	// allow entry (policy lint compares the two).
	Connectivity bool
	// Protocol is the <connectivity> endpoint's protocol, "http" or "https" ("" for a backend
	// allow entry): a JavaScript adapter's invokeHttp requests its back end with it.
	Protocol string
}

// Procedure is one adapter procedure.
type Procedure struct {
	Name string
	// SecurityTest is the test as resolved: a test name, Unprotected, or "" for the calling
	// environment's test.
	SecurityTest string
	Pos          Pos
}

// Backend is the <backend> element of an adapter, as the file declares it: which runtime runs the
// adapter, from which file, with which settings and limits. It is not the runtime's configuration
// (adapters.Config), which the daemon builds from it: it keeps the place in the file, the source
// folder of a development build, and the limits in the units the XML writes them in.
type Backend struct {
	Kind   string // "wasm", "plugin" or "js"
	Module string // absolute path of the .wasm file
	// Script is the absolute path of a JavaScript adapter's <A>-impl.js (kind "js"), which
	// the daemon runs in the wasm sandbox's JavaScript engine.
	Script string
	// Source is the absolute path of a Go main package the module is built from; hostd builds it
	// in development mode (a convenience for writing adapters, never used in production).
	Source   string
	Command  []string
	SHA256   string
	Settings map[string]string
	// Limits as written; zero values take the runtime defaults.
	MemoryPages   uint32
	CallTimeoutMS int
	Instances     int
	// MaxConcurrent caps the calls that run at once and MaxQueue the calls that wait (nil: the
	// default; 0: none wait); beyond both a call fails at once as busy.
	MaxConcurrent int
	MaxQueue      *int
	// CancelGraceMS is how long a plugin may run a call after it was given up on before its
	// process is killed (0: the default).
	CancelGraceMS int
	// PKI is the backend's <capability name="pki">: nil when the adapter is not granted the
	// host PKI capability.
	PKI *PKIGrant
	Pos Pos
}

// PKIGrant is an adapter's grant of the host PKI capability, <capability name="pki" ca="..."
// maxValidityDays="..." issueCA="..."/> in its <backend>: the host parses CSRs for a wasm guest
// and signs its certificate templates with a key the host holds, which never enters the guest.
type PKIGrant struct {
	// CA is the folder, relative to the daemon's data folder, of the signing CA (ca.pem and
	// ca-key.pem, as hostd ca init writes them); "" grants CSR parsing alone.
	CA string
	// MaxValidityDays bounds the validity of the certificates the guest asks for; 0: the
	// runtime's default (397 days).
	MaxValidityDays int
	// IssueCA lets the guest ask for CA certificates.
	IssueCA bool
	Pos     Pos
}

// PolicyFile is a user Rego module.
type PolicyFile struct {
	Path   string // relative to the project directory
	Source string
}
