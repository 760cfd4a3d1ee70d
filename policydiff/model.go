package policydiff

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/realmgate/realmgate/project"
)

// Resource kinds, in the order reports list them.
const (
	KindEnvironment = "environment"
	KindProcedure   = "procedure"
	KindStatic      = "static"
	KindScope       = "scope"
	KindPolicy      = "policy"
)

var kindOrder = map[string]int{KindEnvironment: 0, KindProcedure: 1, KindStatic: 2, KindScope: 3, KindPolicy: 4}

// Model is the effective security of every resource of one project: what a client must pass to
// reach it, with the definitions of the realms and login modules behind each realm, so that two
// models compare without the projects they came from.
type Model struct {
	// Resources by Resource.Key.
	Resources map[string]*Resource
	// Rules are the rules of the project's own Rego policies, which apply to every resource
	// they match.
	Rules []Rule
}

// Resource is one thing a client asks for: an application environment, an adapter procedure, a
// static resource or an access-token scope.
type Resource struct {
	Kind string
	Name string
	// Guards says what protects the resource. A resource with a security test of its own has one
	// guard under the key ""; a procedure without one is protected by the test of the environment
	// that calls it, and has one guard per environment ("App/env").
	Guards map[string]*Guard
	// SigningCertificateDigests, PackageName, BundleID and ProvisioningEntity are what an
	// environment's authenticity and provisioning realms check.
	SigningCertificateDigests []string
	PackageName, BundleID     string
	ProvisioningEntity        string
	// URLPatterns and Position are a static resource's patterns and its place among the static
	// resources (the first one whose patterns match a URL protects it).
	URLPatterns []string
	Position    int
	// TokenLifetimeSec is how long a scope's access tokens live.
	TokenLifetimeSec int
}

// Key identifies the resource across two projects.
func (r *Resource) Key() string { return r.Kind + " " + r.Name }

// Guard is the protection on one path to a resource.
type Guard struct {
	// Internal is true for a procedure only realms call (a login or PKI-bridge function):
	// clients cannot call it.
	Internal bool
	// Open is true for wl_unprotected: any client, without a session.
	Open bool
	// Test is the security test's name ("" when Open or Internal).
	Test string
	// Steps are the enforced realms by step; Steps[0] is step 1.
	Steps [][]string
	// UserRealm and DeviceRealm are the realms whose identities the test takes.
	UserRealm, DeviceRealm string
	// Realms are the definitions of the enforced realms, by name.
	Realms map[string]*RealmDef
}

// RealmDef is what decides whether a client passes a realm.
type RealmDef struct {
	Builtin bool
	// Class is the authenticator class ("" for built-in realms); Kind its short name.
	Class, Kind string
	Params      map[string]string
	// LoginModule is the realm's login module; nil when the realm has none.
	LoginModule *ModuleDef
}

// ModuleDef is a login module's definition.
type ModuleDef struct {
	Name, Class   string
	Params        map[string]string
	ExpirationSec int // -1: the session's life
	SSODevice     string
}

// Rule is one rule of the project's own Rego policies.
type Rule struct {
	Package string // "realmgate.user.transfers"
	Name    string // "deny", "require", or a helper's name
	// Text is the rule as OPA prints it, so that layout and comments do not count as changes.
	Text string
	// Source is the rule as written, to show it.
	Source string
	Pos    project.Pos
	// Strings are the string literals of the rule: the resources and realms it names, when it
	// is about some of them ("input.resource.name == \"Accounts.transfer\"").
	Strings []string
}

// decisive reports whether the library reads the rule: deny refuses, require steps up.
func (r Rule) decisive() bool { return r.Name == "deny" || r.Name == "require" }

// level is how much a guard asks of a client, for comparing two guards.
type level int

const (
	levelOpen      level = iota // wl_unprotected
	levelAnonymous              // protected by realms that log nobody in
	levelLogin                  // a realm logs a user or a device in
	levelInternal               // clients cannot call it at all
)

func (l level) String() string {
	switch l {
	case levelOpen:
		return "open to any client"
	case levelAnonymous:
		return "protected by realms that log nobody in"
	case levelLogin:
		return "protected by a login"
	}
	return "callable by realms only"
}

// loginless realms authenticate nobody: a test made only of them lets any client through.
var loginless = map[string]bool{
	project.RealmAntiXSRF: true, project.RealmAnonymousUser: true, project.RealmRemoteDisable: true,
	project.RealmDeviceNoProvision: true, project.RealmDirectUpdate: true,
}

func (g *Guard) level() level {
	switch {
	case g.Internal:
		return levelInternal
	case g.Open:
		return levelOpen
	}
	for _, step := range g.Steps {
		for _, r := range step {
			if !loginless[r] {
				return levelLogin
			}
		}
	}
	return levelAnonymous
}

// stepOf returns the 1-based step of realm in the guard, 0 when it is not there.
func (g *Guard) stepOf(realm string) int {
	for i, step := range g.Steps {
		if slices.Contains(step, realm) {
			return i + 1
		}
	}
	return 0
}

// Options tune Build.
type Options struct {
	// DefaultTokenLifetimeSec is the lifetime of access tokens whose test sets none.
	DefaultTokenLifetimeSec int
}

// Build reads the effective security of every resource of a loaded project. It fails only when
// a policy file does not parse as Rego.
func Build(p *project.Project, opts Options) (*Model, error) {
	m := &Model{Resources: map[string]*Resource{}}
	add := func(r *Resource) { m.Resources[r.Key()] = r }
	guard := func(test string) *Guard {
		if test == project.Unprotected {
			return &Guard{Open: true}
		}
		return testGuard(p, test)
	}
	envGuards := map[string]*Guard{} // "App/env" -> guard, for procedures without a test
	for _, id := range sortedKeys(p.Apps) {
		app := p.Apps[id]
		for _, en := range sortedKeys(app.Envs) {
			e := app.Envs[en]
			g := guard(e.SecurityTest)
			envGuards[id+"/"+en] = g
			add(&Resource{
				Kind: KindEnvironment, Name: id + "/" + en, Guards: map[string]*Guard{"": g},
				SigningCertificateDigests: slices.Sorted(slices.Values(e.SigningCertificateDigests)),
				PackageName:               e.PackageName, BundleID: e.BundleID, ProvisioningEntity: provisioningEntity(e.ProvisioningEntity),
			})
		}
	}
	for _, an := range sortedKeys(p.Adapters) {
		a := p.Adapters[an]
		for _, pn := range a.ProcedureOrder {
			proc := a.Procedures[pn]
			ref := an + "." + pn
			r := &Resource{Kind: KindProcedure, Name: ref, Guards: map[string]*Guard{}}
			switch {
			case p.Internal[ref]:
				r.Guards[""] = &Guard{Internal: true}
			case proc.SecurityTest == "":
				for via, g := range envGuards {
					r.Guards[via] = g
				}
			default:
				r.Guards[""] = guard(proc.SecurityTest)
			}
			add(r)
		}
	}
	for i, sr := range p.StaticResources {
		name := sr.ID
		if name == "" {
			name = strings.Join(sr.URLPatterns, ";")
		}
		add(&Resource{Kind: KindStatic, Name: name, Guards: map[string]*Guard{"": guard(sr.SecurityTest)},
			URLPatterns: slices.Clone(sr.URLPatterns), Position: i + 1})
	}
	for _, name := range p.TestOrder {
		life := p.Tests[name].AccessTokenExpirationSec
		if life <= 0 {
			life = opts.DefaultTokenLifetimeSec
		}
		add(&Resource{Kind: KindScope, Name: name, Guards: map[string]*Guard{"": guard(name)}, TokenLifetimeSec: life})
	}
	for _, pf := range p.Policies {
		rules, err := policyRules(pf)
		if err != nil {
			return nil, err
		}
		m.Rules = append(m.Rules, rules...)
	}
	return m, nil
}

func provisioningEntity(e string) string {
	if e == "" {
		return "application"
	}
	return e
}

// testGuard expands the named test with the definitions of its realms.
func testGuard(p *project.Project, name string) *Guard {
	t := p.Tests[name]
	if t == nil {
		// The loader refuses a reference to a test that does not exist; keep the name.
		return &Guard{Test: name, Realms: map[string]*RealmDef{}}
	}
	g := &Guard{Test: name, UserRealm: t.UserRealm, DeviceRealm: t.DeviceRealm, Realms: map[string]*RealmDef{}}
	for _, step := range t.Steps {
		g.Steps = append(g.Steps, slices.Clone(step))
		for _, rn := range step {
			g.Realms[rn] = realmDef(p, rn)
		}
	}
	return g
}

func realmDef(p *project.Project, name string) *RealmDef {
	r := p.Realms[name]
	if r == nil {
		return &RealmDef{}
	}
	d := &RealmDef{Builtin: r.Builtin, Class: r.ClassName, Params: r.Params.Map()}
	if r.Builtin {
		d.Kind = "built-in"
	} else if r.Class != nil {
		d.Kind = r.Class.Kind
	}
	if r.OnLoginURL != "" {
		d.Params["(onLoginUrl)"] = r.OnLoginURL
	}
	if lm := p.LoginModules[r.LoginModule]; lm != nil {
		d.LoginModule = &ModuleDef{Name: lm.Name, Class: lm.ClassName, Params: lm.Params.Map(),
			ExpirationSec: lm.ExpirationInSeconds, SSODevice: lm.SSODeviceLoginModule}
	} else if r.LoginModule != "" {
		d.LoginModule = &ModuleDef{Name: r.LoginModule}
	}
	return d
}

// PolicyError is a policy file of the project that does not parse as Rego.
type PolicyError struct {
	Path string
	Err  error
}

func (e *PolicyError) Error() string { return fmt.Sprintf("policy %s: %v", e.Path, e.Err) }
func (e *PolicyError) Unwrap() error { return e.Err }

// policyRules parses a user policy and lists its rules, the test_ rules of `opa test` left out.
func policyRules(pf *project.PolicyFile) ([]Rule, error) {
	mod, err := ast.ParseModuleWithOpts(pf.Path, pf.Source, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, &PolicyError{Path: pf.Path, Err: err}
	}
	if mod == nil {
		return nil, nil
	}
	pkg := strings.TrimPrefix(mod.Package.Path.String(), "data.")
	var out []Rule
	for _, r := range mod.Rules {
		name := r.Head.Ref().String()
		if len(r.Head.Ref()) > 0 {
			if v, ok := r.Head.Ref()[0].Value.(ast.Var); ok {
				name = string(v)
			}
		}
		if strings.HasPrefix(name, "test_") || strings.HasPrefix(name, "todo_test_") {
			continue
		}
		rule := Rule{Package: pkg, Name: name, Text: r.String(), Source: r.String(), Pos: project.Pos{File: pf.Path}}
		if r.Location != nil {
			rule.Pos.Line = r.Location.Row
			rule.Source = string(r.Location.Text)
		}
		seen := map[string]bool{}
		ast.WalkTerms(r, func(t *ast.Term) bool {
			if str, ok := t.Value.(ast.String); ok && !seen[string(str)] {
				seen[string(str)] = true
				rule.Strings = append(rule.Strings, string(str))
			}
			return false
		})
		out = append(out, rule)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
