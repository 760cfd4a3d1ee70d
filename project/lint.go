package project

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// LintLevel is the severity of a lint finding. Levels are ordered: Info < Warning < Error, so a
// CI gate can fail at or above one.
type LintLevel int

// Lint levels.
const (
	LintInfo LintLevel = iota
	LintWarning
	LintError
)

func (l LintLevel) String() string {
	switch l {
	case LintError:
		return "error"
	case LintWarning:
		return "warning"
	}
	return "info"
}

// ParseLintLevel reads "error", "warning" or "info".
func ParseLintLevel(s string) (LintLevel, error) {
	switch s {
	case "error":
		return LintError, nil
	case "warning":
		return LintWarning, nil
	case "info":
		return LintInfo, nil
	}
	return 0, fmt.Errorf("lint level %q: use error, warning or info", s)
}

// Lint finding kinds. Each names one check; reviewers filter and count by them.
const (
	LintLoad                   = "load"                     // a diagnostic of the loader
	LintUnprotectedProcedure   = "unprotected-procedure"    // wl_unprotected procedure
	LintAnonymousProcedure     = "anonymous-only-procedure" // procedure whose test logs nobody in
	LintUnprotectedStatic      = "unprotected-static"       // static resource whose test logs nobody in
	LintLongTokenLifetime      = "long-token-lifetime"      // access tokens living past the threshold
	LintPKIBridgeValidation    = "pki-bridge-without-validation"
	LintProvisioningNoAuth     = "provisioning-without-authenticity"
	LintClearTextPassword      = "clear-text-password"
	LintUnusedRealm            = "unused-realm"
	LintUnusedLoginModule      = "unused-login-module"
	LintTestsDifferOnlyInOrder = "tests-differ-only-in-order"
	LintDuplicateTest          = "duplicate-test"
	LintAllowListWider         = "allow-list-wider-than-connectivity"
)

// Finding is one lint result: where, how bad, what and how to fix it.
type Finding struct {
	Kind    string    `json:"kind"`
	Pos     Pos       `json:"-"`
	Level   LintLevel `json:"-"`
	Message string    `json:"message"`
	Fix     string    `json:"fix,omitempty"`
}

// String formats the finding as "FILE:LINE: level: [kind] message; fix: ...".
func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s: [%s] %s", f.Pos, f.Level, f.Kind, f.Message)
	if f.Fix != "" {
		s += "; fix: " + f.Fix
	}
	return s
}

// LintOptions configures Lint.
type LintOptions struct {
	Load LoadOptions
	// MaxTokenLifetime is the longest access-token lifetime not reported (0: one hour).
	MaxTokenLifetime time.Duration
}

// DefaultMaxTokenLifetime is the threshold of the long-token-lifetime check when none is given.
const DefaultMaxTokenLifetime = time.Hour

// Lint loads the project in dir and reports what a security reviewer should look at: the
// loader's own diagnostics, then the lint checks, which run only when the project loads (they
// read the validated model). Findings are sorted by file and line.
func Lint(dir string, opts LintOptions) []Finding {
	p, diags := load(dir, opts.Load)
	var out []Finding
	for _, d := range diags {
		f := Finding{Kind: LintLoad, Pos: d.Pos, Level: LintWarning, Message: d.Message, Fix: d.Fix}
		if d.Severity == Error {
			f.Level = LintError
		}
		// The loader already checks auto-provisioning without authenticity; lint names the kind.
		if strings.Contains(d.Message, "without the authenticity realm") {
			f.Kind = LintProvisioningNoAuth
		}
		out = append(out, f)
	}
	if !diags.HasErrors() && p != nil {
		out = append(out, LintProject(p, opts)...)
	}
	sortFindings(out)
	return out
}

// LintProject runs the lint checks on a loaded project (not the loader's diagnostics).
func LintProject(p *Project, opts LintOptions) []Finding {
	if opts.MaxTokenLifetime <= 0 {
		opts.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	var out []Finding
	for _, check := range []func(*Project, LintOptions) []Finding{
		lintProcedures, lintStaticResources, lintTokenLifetimes, lintPKIBridges,
		lintClearTextPasswords, lintUnused, lintTestOrder, lintAllowLists,
	} {
		out = append(out, check(p, opts)...)
	}
	sortFindings(out)
	return out
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Message < b.Message
	})
}

// loginlessRealms authenticate nobody: a test made only of them lets any client through.
var loginlessRealms = map[string]bool{
	RealmAntiXSRF: true, RealmAnonymousUser: true, RealmRemoteDisable: true, RealmDeviceNoProvision: true,
	RealmDirectUpdate: true,
}

// anonymousOnly reports whether every enforced realm of the test authenticates nobody.
func anonymousOnly(t *SecurityTest) bool {
	for _, step := range t.Steps {
		for _, r := range step {
			if !loginlessRealms[r] {
				return false
			}
		}
	}
	return true
}

// submitProcedures lists "Adapter.procedure" names adapter-based realms take credentials on:
// those must be callable before login.
func submitProcedures(p *Project) map[string]bool {
	out := map[string]bool{}
	for _, r := range p.Realms {
		if r.Class == nil || r.Class.Kind != "adapter" {
			continue
		}
		login, _ := r.Params.Get("login-function")
		adapter, _, ok := strings.Cut(login, ".")
		if !ok {
			continue
		}
		procs, _ := r.SubmitProcedures()
		for _, name := range procs {
			if a, proc, qualified := strings.Cut(name, "."); qualified {
				adapter, name = a, proc
			}
			out[adapter+"."+name] = true
		}
	}
	return out
}

// lintProcedures reports procedures any client may call without logging in: wl_unprotected
// ones (but those realms call, which clients cannot reach, and an adapter realm's submit
// procedures, which must be open, as info) and those whose test passes anonymous users only.
func lintProcedures(p *Project, _ LintOptions) []Finding {
	var out []Finding
	submit := submitProcedures(p)
	for _, an := range sortedKeys(p.Adapters) {
		a := p.Adapters[an]
		for _, pn := range a.ProcedureOrder {
			proc := a.Procedures[pn]
			ref := an + "." + pn
			if p.Internal[ref] {
				continue
			}
			switch {
			case proc.SecurityTest == Unprotected && submit[ref]:
				out = append(out, Finding{Kind: LintUnprotectedProcedure, Pos: proc.Pos, Level: LintInfo,
					Message: fmt.Sprintf("procedure %s is %s: it receives an adapter realm's credentials, so it must be", ref, Unprotected),
					Fix:     "keep it free of data access: it runs for clients that have not logged in"})
			case proc.SecurityTest == Unprotected:
				out = append(out, Finding{Kind: LintUnprotectedProcedure, Pos: proc.Pos, Level: LintWarning,
					Message: fmt.Sprintf("procedure %s is %s: any client calls it without logging in", ref, Unprotected),
					Fix:     `name a security test that logs the user in: securityTest="..."`})
			case proc.SecurityTest != "":
				if t := p.Tests[proc.SecurityTest]; t != nil && anonymousOnly(t) {
					out = append(out, Finding{Kind: LintAnonymousProcedure, Pos: proc.Pos, Level: LintWarning,
						Message: fmt.Sprintf("procedure %s is protected only by security test %q, which logs nobody in (anonymous user)", ref, t.Name),
						Fix:     "add a realm that authenticates the user to the test, or name another test"})
				}
			}
		}
	}
	return out
}

// lintStaticResources reports static resources whose test lets any client through.
func lintStaticResources(p *Project, _ LintOptions) []Finding {
	var out []Finding
	for _, sr := range p.StaticResources {
		t := p.Tests[sr.SecurityTest]
		if sr.SecurityTest != Unprotected && (t == nil || !anonymousOnly(t)) {
			continue
		}
		out = append(out, Finding{Kind: LintUnprotectedStatic, Pos: sr.Pos, Level: LintWarning,
			Message: fmt.Sprintf("static resource %q (%s) is protected by %q, which logs nobody in", sr.ID, strings.Join(sr.URLPatterns, ";"), sr.SecurityTest),
			Fix:     "name a security test with a realm that authenticates the user"})
	}
	return out
}

// lintTokenLifetimes reports security tests whose access tokens live longer than the threshold:
// a stolen token is good for that long. Tokens live for their test's AccessTokenExpirationSec
// (engine.Lifetime); an application descriptor's accessTokenExpiration only ever shortens that
// (engine.TokenRequest.MaxLifetime), so the test's value is the one to report.
func lintTokenLifetimes(p *Project, opts LintOptions) []Finding {
	var out []Finding
	max := int(opts.MaxTokenLifetime / time.Second)
	fix := fmt.Sprintf("shorten it to %d seconds or less; clients get a new token through the realms", max)
	for _, name := range p.TestOrder {
		t := p.Tests[name]
		if t.AccessTokenExpirationSec > max {
			out = append(out, Finding{Kind: LintLongTokenLifetime, Pos: t.Pos, Level: LintWarning,
				Message: fmt.Sprintf("security test %q issues access tokens that live %ds, longer than %s", name, t.AccessTokenExpirationSec, opts.MaxTokenLifetime),
				Fix:     fix})
		}
	}
	return out
}

// lintPKIBridges reports PKI bridges that sign or accept certificates without validating the
// request or the certificate: an adapter-based user-certificate PKI without its CSR or
// certificate validation procedure, a custom device-provisioning realm without
// validate-csr-function and its login module without validate-certificate-function.
func lintPKIBridges(p *Project, _ LintOptions) []Finding {
	var out []Finding
	missing := func(pos Pos, what, param, procedure, does string) {
		out = append(out, Finding{Kind: LintPKIBridgeValidation, Pos: pos, Level: LintWarning,
			Message: fmt.Sprintf("%s names no %s (%s): %s", what, param, procedure, does),
			Fix:     fmt.Sprintf(`implement %s in the bridge adapter and name it: <parameter name=%q value="ADAPTER.%s"/>`, procedure, param, procedure)})
	}
	for _, name := range sortedKeys(p.Realms) {
		r := p.Realms[name]
		if r.Builtin || r.Class == nil {
			continue
		}
		what := fmt.Sprintf("realm %q", name)
		switch r.Class.Kind {
		case "userCertificate":
			if b, _ := r.Params.Get("pki-bridge-class"); b != "com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI" {
				continue
			}
			if _, ok := r.Params.Get("adapter-pki-bridge-csr-validation-procedure"); !ok {
				missing(r.Pos, what, "adapter-pki-bridge-csr-validation-procedure", "validateCSR", "the bridge signs whatever CSR a client sends")
			}
			if _, ok := r.Params.Get("adapter-pki-bridge-certificate-validation-procedure"); !ok {
				missing(r.Pos, what, "adapter-pki-bridge-certificate-validation-procedure", "validateCertificate", "a certificate the bridge issued is accepted until it expires, whatever the bridge would say")
			}
		case "deviceProvisioning":
			if _, ok := r.Params.Get("validate-csr-function"); !ok {
				missing(r.Pos, what, "validate-csr-function", "validateCSR", "any device's CSR is signed")
			}
		}
	}
	for _, name := range sortedKeys(p.LoginModules) {
		m := p.LoginModules[name]
		if m.Class == nil || m.Class.Kind != "deviceProvisioning" {
			continue
		}
		if _, ok := m.Params.Get("validate-certificate-function"); !ok {
			missing(m.Pos, fmt.Sprintf("login module %q", name), "validate-certificate-function", "validateCertificate", "a provisioned certificate is accepted until it expires")
		}
	}
	return out
}

// secretParam reports whether a parameter or setting name holds a password or other secret
// written as it is (a hash or a file name is not one).
func secretParam(name string) bool {
	n := strings.ToLower(name)
	if strings.Contains(n, "hash") || strings.HasSuffix(n, "file") || strings.HasSuffix(n, "path") || strings.Contains(n, "-file-") {
		return false
	}
	for _, s := range []string{"password", "passwd", "secret", "passphrase"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// lintClearTextPasswords reports passwords written into the configuration: realm and login
// module parameters and adapter backend settings. Anyone who reads the project reads them.
func lintClearTextPasswords(p *Project, _ LintOptions) []Finding {
	var out []Finding
	const fix = "keep secrets out of the project: store a hash (password-hash), or name a file the daemon alone can read"
	params := func(what string, ps Params) {
		for _, prm := range ps {
			if secretParam(prm.Name) && prm.Value != "" {
				out = append(out, Finding{Kind: LintClearTextPassword, Pos: prm.Pos, Level: LintError,
					Message: fmt.Sprintf("%s: parameter %q holds a secret in clear text", what, prm.Name), Fix: fix})
			}
		}
	}
	for _, name := range sortedKeys(p.Realms) {
		params(fmt.Sprintf("realm %q", name), p.Realms[name].Params)
	}
	for _, name := range sortedKeys(p.LoginModules) {
		params(fmt.Sprintf("login module %q", name), p.LoginModules[name].Params)
	}
	out = append(out, lintDocumentPasswords(p, fix)...)
	for _, an := range sortedKeys(p.Adapters) {
		b := p.Adapters[an].Backend
		if b == nil {
			continue
		}
		for _, k := range sortedKeys(b.Settings) {
			if secretParam(k) && b.Settings[k] != "" {
				out = append(out, Finding{Kind: LintClearTextPassword, Pos: b.Pos, Level: LintError,
					Message: fmt.Sprintf("adapter %s: backend setting %q holds a secret in clear text", an, k), Fix: fix})
			}
		}
	}
	return out
}

// lintDocumentPasswords reports passwords written as elements or attributes of the project's
// XML files (an adapter's data source <password>, an application's <pushSender password=...>),
// which the model does not keep. A ${property} placeholder is not a secret: Worklight reads the
// value from the server's properties.
func lintDocumentPasswords(p *Project, fix string) []Finding {
	rels := []string{AuthConfigPath}
	for _, an := range sortedKeys(p.Adapters) {
		rels = append(rels, p.Adapters[an].Pos.File)
	}
	for _, id := range sortedKeys(p.Apps) {
		rels = append(rels, p.Apps[id].Pos.File)
	}
	secret := func(name, value string) bool {
		value = strings.TrimSpace(value)
		return secretParam(name) && value != "" && !strings.HasPrefix(value, "${")
	}
	var out []Finding
	var walk func(rel string, n *node)
	walk = func(rel string, n *node) {
		if strings.EqualFold(n.Name, "parameter") {
			return // realm and login module parameters: lintClearTextPasswords reads them
		}
		if len(n.Children) == 0 && secret(n.Name, n.Text) {
			out = append(out, Finding{Kind: LintClearTextPassword, Pos: Pos{File: rel, Line: n.Line}, Level: LintError,
				Message: fmt.Sprintf("element <%s> holds a secret in clear text", n.Name), Fix: fix})
		}
		for i, a := range n.Attrs {
			if secret(a.Name.Local, a.Value) {
				line := n.Line
				if i < len(n.AttrLines) {
					line = n.AttrLines[i]
				}
				out = append(out, Finding{Kind: LintClearTextPassword, Pos: Pos{File: rel, Line: line}, Level: LintError,
					Message: fmt.Sprintf("attribute %s of <%s> holds a secret in clear text", a.Name.Local, n.Name), Fix: fix})
			}
		}
		for _, c := range n.Children {
			walk(rel, c)
		}
	}
	for _, rel := range slices.Compact(rels) {
		if rel == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(p.Dir, filepath.FromSlash(rel)))
		if err != nil {
			continue // the loader read it a moment ago; a file gone now has nothing to report
		}
		if root, err := parseXML(data); err == nil {
			walk(rel, root)
		}
	}
	return out
}

// usedRealms is every realm a security test names, with the user realms those depend on.
func usedRealms(p *Project) map[string]bool {
	used := map[string]bool{}
	for _, t := range p.Tests {
		for _, r := range t.Realms {
			used[r.Realm] = true
		}
	}
	for _, r := range p.Realms {
		if dep, ok := r.Params.Get("dependent-user-auth-realm"); ok && used[r.Name] {
			used[dep] = true
		}
	}
	return used
}

// lintUnused reports realms no security test uses and login modules no used realm uses: dead
// configuration that reviewers read as protection.
func lintUnused(p *Project, _ LintOptions) []Finding {
	var out []Finding
	used := usedRealms(p)
	usedModules := map[string]bool{}
	for _, name := range sortedKeys(p.Realms) {
		r := p.Realms[name]
		if r.Builtin {
			continue
		}
		if used[name] {
			usedModules[r.LoginModule] = true
			continue
		}
		out = append(out, Finding{Kind: LintUnusedRealm, Pos: r.Pos, Level: LintInfo,
			Message: fmt.Sprintf("realm %q is defined but no security test uses it", name),
			Fix:     "remove it, or name it in the security test that should require it"})
	}
	for _, name := range sortedKeys(p.LoginModules) {
		m := p.LoginModules[name]
		if usedModules[name] {
			continue
		}
		for _, other := range p.LoginModules {
			if other.SSODeviceLoginModule == name && usedModules[other.Name] {
				usedModules[name] = true
			}
		}
		if usedModules[name] {
			continue
		}
		out = append(out, Finding{Kind: LintUnusedLoginModule, Pos: m.Pos, Level: LintInfo,
			Message: fmt.Sprintf("login module %q is defined but no used realm names it", name),
			Fix:     "remove it, or name it in a realm's loginModule"})
	}
	return out
}

// lintTestOrder reports security tests with the same realms: arranged in other steps (one of
// them likely asks for a login in the wrong order), or the same steps (a duplicate).
func lintTestOrder(p *Project, _ LintOptions) []Finding {
	type shape struct{ realms, steps string }
	shapeOf := func(t *SecurityTest) shape {
		var all, steps []string
		for _, s := range t.Steps {
			s = slices.Clone(s)
			sort.Strings(s)
			all = append(all, s...)
			steps = append(steps, strings.Join(s, ","))
		}
		sort.Strings(all)
		return shape{realms: strings.Join(all, ",") + "|user=" + t.UserRealm + "|device=" + t.DeviceRealm, steps: strings.Join(steps, ";")}
	}
	var out []Finding
	first := map[string]*SecurityTest{}
	for _, name := range p.TestOrder {
		t := p.Tests[name]
		if t.Predefined {
			continue
		}
		sh := shapeOf(t)
		prev, seen := first[sh.realms]
		if !seen {
			first[sh.realms] = t
			continue
		}
		if shapeOf(prev).steps == sh.steps {
			out = append(out, Finding{Kind: LintDuplicateTest, Pos: t.Pos, Level: LintInfo,
				Message: fmt.Sprintf("security test %q requires the same realms in the same steps as %q", name, prev.Name),
				Fix:     fmt.Sprintf("use %q and remove this one", prev.Name)})
			continue
		}
		out = append(out, Finding{Kind: LintTestsDifferOnlyInOrder, Pos: t.Pos, Level: LintWarning,
			Message: fmt.Sprintf("security test %q requires the same realms as %q (%s) in another order (%s against %s)", name, prev.Name, strings.Join(stepsRealms(t), ","), sh.steps, shapeOf(prev).steps),
			Fix:     "check which order is meant: the step of a realm decides what a client must pass first"})
	}
	return out
}

func stepsRealms(t *SecurityTest) []string {
	var out []string
	for _, s := range t.Steps {
		out = append(out, s...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// lintAllowLists reports backend allow entries for endpoints the adapter's connectivity section
// does not declare: the runtime may reach more than the adapter's declaration says.
func lintAllowLists(p *Project, _ LintOptions) []Finding {
	var out []Finding
	for _, an := range sortedKeys(p.Adapters) {
		a := p.Adapters[an]
		declared := map[string]bool{}
		for _, e := range a.AllowHTTP {
			if e.Connectivity {
				declared[fmt.Sprintf("%s:%d", e.Host, e.Port)] = true
			}
		}
		for _, e := range a.AllowHTTP {
			hp := fmt.Sprintf("%s:%d", e.Host, e.Port)
			if e.Connectivity || declared[hp] {
				continue
			}
			out = append(out, Finding{Kind: LintAllowListWider, Pos: e.Pos, Level: LintWarning,
				Message: fmt.Sprintf("adapter %s allows HTTP to %s, which its <connectivity> does not declare", an, hp),
				Fix:     "declare the endpoint in <connectivity><connectionPolicy>, or remove the allow entry"})
		}
	}
	return out
}
