package policies

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"

	"github.com/realmgate/realmgate/project"
)

// Library is the embedded Rego library of built-in rules (lib.rego) and its tests.
//
//go:embed rego/*.rego
var Library embed.FS

// Module is one Rego source file of the compiled policy set.
type Module struct {
	// Path is where the module lives: "realmgate/tests/NAME.rego" for generated tests,
	// "realmgate/lib.rego" for the library, the project-relative path for user policies.
	Path   string
	Source string
	// Generated is true for modules compiled from the XML configuration.
	Generated bool
}

// UserPackagePrefix is the package prefix users' policies must use.
const UserPackagePrefix = "realmgate.user."

// CompileRego turns the project's security tests into Rego modules, one package per test, plus the
// router, the configuration data, the library and the user's policies. The generated source is
// formatted with OPA's formatter, so `opa fmt` leaves it unchanged.
func CompileRego(p *project.Project) ([]Module, error) {
	var mods []Module
	lib, err := fs.ReadFile(Library, "rego/lib.rego")
	if err != nil {
		return nil, err
	}
	mods = append(mods, Module{Path: "realmgate/lib.rego", Source: string(lib)})
	router := `# Package realmgate routes a decision to the package of the security test named in the input.
package realmgate

# decision is the decision of the security test input.test.
decision := data.realmgate.tests[input.test].decision
`
	mods = append(mods, Module{Path: "realmgate/router.rego", Source: router, Generated: true})
	cfg, err := configModule(p)
	if err != nil {
		return nil, err
	}
	mods = append(mods, cfg)
	for _, name := range p.TestOrder {
		m, err := testModule(p.Tests[name])
		if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	for _, pf := range p.Policies {
		mods = append(mods, Module{Path: pf.Path, Source: pf.Source})
	}
	return mods, nil
}

// configModule publishes the realms the project defines, so rules can tell a known realm from a
// typo.
func configModule(p *project.Project) (Module, error) {
	var b strings.Builder
	b.WriteString("# Package realmgate.config is the part of the project's configuration that policies read.\n")
	b.WriteString("# Generated from " + project.AuthConfigPath + "; do not edit.\n")
	b.WriteString("package realmgate.config\n\n")
	b.WriteString("# Realms the project defines, built-in ones included.\n")
	b.WriteString("realms := {\n")
	for _, name := range slices.Sorted(maps.Keys(p.Realms)) {
		r := p.Realms[name]
		kind := "builtin"
		if !r.Builtin {
			kind = r.ClassName[strings.LastIndexByte(r.ClassName, '.')+1:] // the short class name
		}
		fmt.Fprintf(&b, "\t%s: {\"class\": %s},\n", regoString(name), regoString(kind))
	}
	b.WriteString("}\n")
	return formatModule("realmgate/config.rego", b.String(), true)
}

// testModule writes the package of one security test.
func testModule(t *project.SecurityTest) (Module, error) {
	var b strings.Builder
	where := t.Pos.String()
	if t.Predefined {
		where = "predefined"
	}
	fmt.Fprintf(&b, "# Security test %q (%s, %s).\n", t.Name, t.Kind, where)
	if t.Expansion != "" {
		fmt.Fprintf(&b, "# Expanded from a %s\n", t.Expansion)
	}
	b.WriteString("# Generated from the configuration; do not edit: add rules in the project's policies/ folder.\n")
	// OPA prints a package path's strings with strconv.Quote, so that is how the path is written
	// (the loader refuses test names that it would escape in a way Rego cannot read).
	fmt.Fprintf(&b, "package realmgate.tests[%s]\n\n", strconv.Quote(t.Name))
	b.WriteString("import data.realmgate.lib\n\n")
	b.WriteString("# Realms a client must pass, step by step; the realms of a step are challenged together,\n")
	b.WriteString("# and a step only after every realm of the steps before it succeeded.\n")
	b.WriteString("steps := [\n")
	for _, step := range t.Steps {
		b.WriteString("\t[")
		for i, r := range step {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(regoString(r))
		}
		b.WriteString("],\n")
	}
	b.WriteString("]\n\n")
	b.WriteString("# The realm whose identity is the user's (isInternalUserID), and the device's.\n")
	fmt.Fprintf(&b, "user_realm := %s\n\n", regoString(t.UserRealm))
	fmt.Fprintf(&b, "device_realm := %s\n\n", regoString(t.DeviceRealm))
	if len(t.NotEnforced) > 0 {
		b.WriteString("# Realms of the test that are not security controls and are not enforced.\n")
		q, _ := json.Marshal(t.NotEnforced)
		fmt.Fprintf(&b, "not_enforced := %s\n\n", q)
	}
	b.WriteString("decision := lib.decide(steps)\n")
	return formatModule("realmgate/tests/"+fileName(t.Name)+".rego", b.String(), true)
}

// fileName makes a test name safe as a file name; distinct names stay distinct.
func fileName(name string) string {
	var b strings.Builder
	safe := true
	for _, r := range name {
		if r < 0x80 && (r == '-' || r == '_' || r == '.' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
			safe = false
		}
	}
	if !safe {
		sum := sha256.Sum256([]byte(name))
		b.WriteString("-" + hex.EncodeToString(sum[:4]))
	}
	return b.String()
}

func formatModule(p, src string, generated bool) (Module, error) {
	out, err := format.SourceWithOpts(p, []byte(src), format.Opts{RegoVersion: ast.RegoV1})
	if err != nil {
		return Module{}, fmt.Errorf("formatting generated %s: %w", p, err)
	}
	return Module{Path: p, Source: string(out), Generated: generated}, nil
}

// Revision identifies a compiled policy set: the SHA-256 of its modules, so the decision log
// can say which policy decided.
func Revision(mods []Module) string {
	sorted := append([]Module(nil), mods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	for _, m := range sorted {
		fmt.Fprintf(h, "%s\x00%d\x00%s", m.Path, len(m.Source), m.Source)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// checkUserModule refuses user policies outside realmgate.user: a user module in another package
// could redefine a test's decision.
func checkUserModule(m Module, parsed *ast.Module) *project.Diagnostic {
	pkg := strings.TrimPrefix(parsed.Package.Path.String(), "data.")
	if !strings.HasPrefix(pkg+".", UserPackagePrefix) || pkg+"." == UserPackagePrefix {
		line := 1
		if parsed.Package.Location != nil {
			line = parsed.Package.Location.Row
		}
		return &project.Diagnostic{
			Pos:      project.Pos{File: m.Path, Line: line},
			Severity: project.Error,
			Message:  fmt.Sprintf("policy package %s is outside %s*", pkg, UserPackagePrefix),
			Fix:      "write package " + UserPackagePrefix + strings.TrimSuffix(path.Base(m.Path), ".rego"),
		}
	}
	return nil
}

// userSets are the rules the library reads from users' policies, and what each holds. Each must be
// a set ("deny contains message if ..."): the library iterates it, so a rule of another kind
// (the common "deny if ...", a default, a function) would be silently ignored and a policy meant
// to refuse would allow.
var userSets = map[string]string{
	"deny":    "a set of messages, so this rule would never deny",
	"require": "a set of realm names, so this rule would never step up",
}

// checkUserRules refuses deny and require rules that are not sets.
func checkUserRules(m Module, parsed *ast.Module) project.Diagnostics {
	var out project.Diagnostics
	for _, r := range parsed.Rules {
		ref := r.Head.Ref()
		if len(ref) == 0 {
			continue
		}
		name, ok := ref[0].Value.(ast.Var)
		if !ok {
			continue
		}
		what, read := userSets[string(name)]
		if !read || (len(ref) == 1 && len(r.Head.Args) == 0 && !r.Default && r.Head.RuleKind() == ast.MultiValue) {
			continue
		}
		line := 1
		if r.Location != nil {
			line = r.Location.Row
		}
		out = append(out, project.Diagnostic{
			Pos:      project.Pos{File: m.Path, Line: line},
			Severity: project.Error,
			Message:  fmt.Sprintf("rule %s is not a set: the library reads %s as %s", name, name, what),
			Fix:      fmt.Sprintf(`write %s contains "..." if { ... }`, name),
		})
	}
	return out
}

// regoString quotes s as a Rego string literal: strconv.Quote, except that a non-printable rune
// beyond the Basic Multilingual Plane is written as a UTF-16 surrogate pair (\uD8xx\uDCxx), since
// Rego strings follow JSON, which has no \U escape. (XML cannot carry the other escapes
// strconv.Quote may write, such as \x or \a.)
func regoString(s string) string {
	q := strconv.Quote(s)
	if !strings.Contains(q, `\U`) {
		return q
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r > 0xFFFF && !strconv.IsPrint(r) {
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			continue
		}
		q := strconv.Quote(string(r))
		b.WriteString(q[1 : len(q)-1])
	}
	b.WriteByte('"')
	return b.String()
}
