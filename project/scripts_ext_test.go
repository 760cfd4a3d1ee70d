package project_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/internal/jscheck"
	"github.com/realmgate/realmgate/project"
)

func init() { project.ScriptsForTests = jscheck.New() }

// TestCorpusJavaScript loads every real project as hostd check does, with its adapters'
// JavaScript checked, and records in testdata/corpus-javascript.golden what the scripts add:
// each diagnostic at a script's line, or at a procedure or realm the script does not serve.
// Every one names a file and a line. Regenerate with -update.
func TestCorpusJavaScript(t *testing.T) {
	names := corpustest.Projects(t)
	var golden strings.Builder
	withJS, refusedByJS := 0, 0
	for _, name := range names {
		dir := filepath.Join(corpustest.Dir, name)
		opts := project.LoadOptions{AdapterKinds: []string{project.BackendWasm, project.BackendPlugin}}
		before := project.Check(dir, opts)
		checker := jscheck.New()
		opts.Scripts = checker
		after := project.Check(dir, opts)
		if len(checker.Reports()) == 0 && len(after) == len(before) {
			continue
		}
		withJS++
		added := newDiagnostics(before, after)
		if !before.HasErrors() && added.HasErrors() {
			refusedByJS++
		}
		fmt.Fprintf(&golden, "%s: %d JavaScript adapters, %d diagnostics added\n", name, len(checker.Reports()), len(added))
		for _, d := range added {
			if d.Pos.File == "" || d.Pos.Line <= 0 {
				t.Errorf("%s: diagnostic without file and line: %s", name, d)
			}
			fmt.Fprintf(&golden, "\t%s: %s: %s\n", d.Pos, d.Severity, d.Message)
		}
	}
	fmt.Fprintf(&golden, "\n%d projects, %d with JavaScript adapters; %d that load without the check of their JavaScript are refused with it\n",
		len(names), withJS, refusedByJS)
	t.Logf("%d projects with JavaScript adapters; %d refused because of their JavaScript", withJS, refusedByJS)

	path := filepath.Join("testdata", "corpus-javascript.golden")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./project -run TestCorpusJavaScript -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), golden.String()); diff != "" {
		t.Errorf("%s differs (-golden +got); run go test ./project -run TestCorpusJavaScript -update after review:\n%s", path, diff)
	}
}

// newDiagnostics returns the diagnostics of after that before does not hold.
func newDiagnostics(before, after project.Diagnostics) project.Diagnostics {
	seen := map[string]int{}
	for _, d := range before {
		seen[d.String()]++
	}
	var out project.Diagnostics
	for _, d := range after {
		if seen[d.String()] > 0 {
			seen[d.String()]--
			continue
		}
		out = append(out, d)
	}
	return out
}
