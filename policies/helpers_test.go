package policies

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/realmgate/realmgate/project"
)

// update rewrites golden files instead of comparing against them: go test ./policies -update
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// ac is the path of the authentication configuration inside a project, as diagnostics name it.
const ac = project.AuthConfigPath

// files is a project directory to build: relative path to content.
type files map[string]string

// writeProject writes the files into a new temporary directory and returns it.
func writeProject(t testing.TB, fs files) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range fs {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// authConfig wraps body in a tns:loginConfiguration document. Line 1 is the XML declaration and
// line 2 the root start tag, so when body begins with a newline its first line is line 3.
func authConfig(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		body + "</tns:loginConfiguration>\n"
}

// diagLines formats diagnostics as "FILE:LINE: severity: message", without the fix, so tables
// state positions and messages exactly and fixes are checked on their own.
func diagLines(ds project.Diagnostics) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Pos.String()+": "+d.Severity.String()+": "+d.Message)
	}
	return out
}

// exampleProject is the path of an example project of the repository's testdata.
func exampleProject(name string) string { return filepath.Join("..", "testdata", "projects", name) }

// checkGolden compares got with the golden file at path, or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./policies -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +got); run go test ./policies -update after review:\n%s", path, diff)
	}
}

// mustLoad loads dir and fails the test on any error, printing every diagnostic.
func mustLoad(t testing.TB, dir string) *project.Project {
	t.Helper()
	p, err := project.Load(dir, project.LoadOptions{})
	if err != nil {
		var le *project.LoadError
		if errors.As(err, &le) {
			t.Fatalf("Load: %v\n%s", err, strings.Join(diagLines(le.Diagnostics), "\n"))
		}
		t.Fatalf("Load: %v", err)
	}
	return p
}

// sortedCopy returns a sorted copy of s, never nil.
func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

// decisionEqual compares decisions, treating nil and empty lists alike.
func decisionEqual(a, b Decision) bool {
	return cmp.Equal(a, b, cmpopts.EquateEmpty())
}
