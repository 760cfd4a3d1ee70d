package policies

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
)

// exampleProjects are the projects under testdata/projects, by name.
func exampleProjects(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(exampleProject(""))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no example projects under testdata/projects")
	}
	return names
}

func compileExample(t *testing.T, name string) []Module {
	t.Helper()
	p := mustLoad(t, exampleProject(name))
	mods, err := CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

// TestGoldenRego compares the Rego compiled from each example project with
// testdata/golden/<project>/<module path>. Regenerate with -update and review the diff: it is
// exactly what changes in every deployed policy.
func TestGoldenRego(t *testing.T) {
	for _, name := range exampleProjects(t) {
		t.Run(name, func(t *testing.T) {
			mods := compileExample(t, name)
			root := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.RemoveAll(root); err != nil {
					t.Fatal(err)
				}
			}
			want := map[string]bool{}
			for _, m := range mods {
				if !m.Generated {
					continue // the library and the user's own files are not generated
				}
				want[m.Path] = true
				checkGolden(t, filepath.Join(root, filepath.FromSlash(m.Path)), []byte(m.Source))
			}
			// No golden file is left over from a module that is no longer generated.
			err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(root, p)
				if !want[filepath.ToSlash(rel)] {
					t.Errorf("stale golden file %s (run -update)", p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkFormatted fails unless `opa fmt` (OPA v1 syntax) leaves every module unchanged.
func checkFormatted(t *testing.T, mods []Module) {
	t.Helper()
	for _, m := range mods {
		out, err := format.SourceWithOpts(m.Path, []byte(m.Source), format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("%s does not format: %v", m.Path, err)
			continue
		}
		if diff := cmp.Diff(m.Source, string(out)); diff != "" {
			t.Errorf("opa fmt changes %s (-generated +formatted):\n%s", m.Path, diff)
		}
	}
}

func TestRegoIsFormatted(t *testing.T) {
	for _, name := range exampleProjects(t) {
		t.Run(name, func(t *testing.T) {
			var generated []Module
			for _, m := range compileExample(t, name) {
				// The user's files are theirs; everything else Realmgate ships or writes.
				if !strings.HasPrefix(m.Path, "policies/") {
					generated = append(generated, m)
				}
			}
			checkFormatted(t, generated)
		})
	}
	t.Run("library", func(t *testing.T) {
		var mods []Module
		for _, p := range libraryFiles(t) {
			src, err := fs.ReadFile(Library, p)
			if err != nil {
				t.Fatal(err)
			}
			mods = append(mods, Module{Path: p, Source: string(src)})
		}
		checkFormatted(t, mods)
	})
}

func libraryFiles(t *testing.T) []string {
	t.Helper()
	paths, err := fs.Glob(Library, "rego/*.rego")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	return paths
}

// runRegoTests runs the test_* rules of the modules as `opa test` does and fails on any test that
// fails or errors. It returns the names of the tests that ran.
func runRegoTests(t *testing.T, modules map[string]string) []string {
	t.Helper()
	results, err := RunTests(context.Background(), modules)
	if err != nil {
		t.Fatal(err)
	}
	var ran []string
	for _, r := range results {
		ran = append(ran, r.Package+"."+r.Name)
		switch {
		case r.Err != nil:
			t.Errorf("%s: error: %v", r.Name, r.Err)
		case r.Fail:
			t.Errorf("%s (%s): FAIL", r.Name, r.Location)
		case r.Skip:
			t.Errorf("%s: skipped", r.Name)
		}
	}
	sort.Strings(ran)
	return ran
}

// TestRegoLibrary runs the library's own test_* rules (rego/*_test.rego).
func TestRegoLibrary(t *testing.T) {
	modules := map[string]string{}
	tests := 0
	for _, p := range libraryFiles(t) {
		src, err := fs.ReadFile(Library, p)
		if err != nil {
			t.Fatal(err)
		}
		modules[p] = string(src)
		if strings.HasSuffix(p, "_test.rego") {
			tests += strings.Count(string(src), "\ntest_")
		}
	}
	ran := runRegoTests(t, modules)
	if len(ran) == 0 || len(ran) != tests {
		t.Errorf("ran %d tests, the test files hold %d test_ rules:\n%s", len(ran), tests, strings.Join(ran, "\n"))
	}
	t.Logf("%d Rego tests ran", len(ran))
}

// TestRegoRunnerReportsFailures proves the runner above fails on a failing rule: a test suite
// that cannot fail proves nothing.
func TestRegoRunnerReportsFailures(t *testing.T) {
	results, err := RunTests(context.Background(), map[string]string{
		"x_test.rego": "package x_test\n\ntest_fails if 1 == 2\n\ntest_errors if 1 / 0\n\ntodo_test_later if true\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]string{}
	for _, r := range results {
		switch {
		case r.Err != nil:
			outcomes[r.Name] = "error"
		case r.Fail:
			outcomes[r.Name] = "fail"
		case r.Skip:
			outcomes[r.Name] = "skip"
		default:
			outcomes[r.Name] = "pass"
		}
	}
	want := map[string]string{"test_fails": "fail", "test_errors": "error", "todo_test_later": "skip"}
	if diff := cmp.Diff(want, outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

// TestCompiledRegoUnderOPATest runs testdata/rego/<project>_test.rego against the modules
// compiled from the example project, as `opa test` would on a policy bundle.
func TestCompiledRegoUnderOPATest(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rego", "*_test.rego"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no tests under testdata/rego")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), "_test.rego")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			modules := map[string]string{f: string(src)}
			for _, m := range compileExample(t, name) {
				modules[m.Path] = m.Source
			}
			checkFormatted(t, []Module{{Path: f, Source: string(src)}})
			ran := runRegoTests(t, modules)
			if want := strings.Count(string(src), "\ntest_"); len(ran) != want {
				t.Fatalf("ran %d tests, %s holds %d", len(ran), f, want)
			}
			t.Logf("%d Rego tests ran", len(ran))
		})
	}
}

func TestFileName(t *testing.T) {
	cases := map[string]string{
		"BankMobile":        "BankMobile",
		"DummyAdapter-test": "DummyAdapter-test",
		"a.b_c":             "a.b_c",
		"Prüfung":           "Pr_fung-",
		"../etc/passwd":     ".._etc_passwd-",
		"a b":               "a_b-",
		"a_b":               "a_b",
	}
	seen := map[string]string{}
	for in, prefix := range cases {
		got := fileName(in)
		if !strings.HasPrefix(got, prefix) || strings.ContainsAny(got, "/\\ ") {
			t.Errorf("fileName(%q) = %q, want a safe name starting with %q", in, got, prefix)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("fileName(%q) = fileName(%q) = %q", in, other, got)
		}
		seen[got] = in
	}
}

func TestRevision(t *testing.T) {
	a := []Module{{Path: "a.rego", Source: "package a\n"}, {Path: "b.rego", Source: "package b\n"}}
	b := []Module{a[1], a[0]}
	if Revision(a) != Revision(b) {
		t.Error("Revision depends on module order")
	}
	c := []Module{{Path: "a.rego", Source: "package a\n\n"}, a[1]}
	if Revision(a) == Revision(c) {
		t.Error("Revision ignores a source change")
	}
	// Moving bytes between path and source changes the revision.
	d := []Module{{Path: "a.regop", Source: "ackage a\n"}, a[1]}
	if Revision(a) == Revision(d) {
		t.Error("Revision is ambiguous between path and source")
	}
	if len(Revision(a)) != 16 {
		t.Errorf("Revision = %q, want 16 hex digits", Revision(a))
	}
}

// TestRegoString: every string the loader can produce reads back, through OPA's parser, as itself.
func TestRegoString(t *testing.T) {
	for _, s := range []string{
		"", "BankForm", "Prüfung", `quote " and \ backslash`, "tab\tnew\nline\r",
		"\u0085 next line", "\u2028 separator", "\u00a0 no-break", "\ufeff bom",
		"private \U000F0000 plane 15", "\U0010FFFD last", "emoji \U0001F600", `\U0001F600 as text`,
	} {
		src := "package x\n\nv := " + regoString(s) + "\n"
		m, err := ast.ParseModuleWithOpts("x.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("regoString(%q) = %s: %v", s, regoString(s), err)
			continue
		}
		got, ok := m.Rules[0].Head.Value.Value.(ast.String)
		if !ok || string(got) != s {
			t.Errorf("regoString(%q) reads back as %v", s, m.Rules[0].Head.Value)
		}
		checkFormatted(t, []Module{{Path: "x.rego", Source: src}})
	}
}

// TestCompileUnusualClassName: an unused realm may name any class (a warning); its short name
// goes into the generated configuration, which must still parse and format.
func TestCompileUnusualClassName(t *testing.T) {
	dir := writeProject(t, files{ac: authConfig(`
	<realms>
		<realm name="odd" loginModule="m"><className>com.acme.Auth` + "\U000F0000" + `&#10;Line</className></realm>
	</realms>
`)})
	p := mustLoad(t, dir)
	mods, err := CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	checkFormatted(t, mods)
	if _, err := NewEvaluator(context.Background(), mods); err != nil {
		t.Fatal(err)
	}
}
