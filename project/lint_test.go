package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// lintDir holds the lint cases, one txtar archive per project, as testdata/diagnostics does for
// the loader: the archive's sections are the project's files and a last section "findings" holds
// what Lint reports, one Finding.String() a line. go test ./project -run TestLint -update
// rewrites that section; review the change before committing it.
//
// The comment holds prose lines (starting with #) and directives:
//
//	adapter-kinds KIND...    load with LoadOptions.AdapterKinds set to these kinds
//	max-token-lifetime DUR   LintOptions.MaxTokenLifetime (a time.Duration)
//	want-kind KIND           the findings must include one of this kind (the case exists to
//	                         show it), so a rewrite with -update cannot silently lose it
const lintDir = "testdata/lint"

const lintSection = "findings"

func TestLint(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(lintDir, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no lint cases in %s: %v", lintDir, err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a := txtar.Parse(data)
			var opts LintOptions
			var wantKinds []string
			for _, line := range strings.Split(string(a.Comment), "\n") {
				f := strings.Fields(line)
				if len(f) == 0 || strings.HasPrefix(line, "#") {
					continue
				}
				switch {
				case f[0] == "adapter-kinds" && len(f) > 1:
					opts.Load.AdapterKinds = f[1:]
				case f[0] == "max-token-lifetime" && len(f) == 2:
					if opts.MaxTokenLifetime, err = time.ParseDuration(f[1]); err != nil {
						t.Fatalf("%s: %v", path, err)
					}
				case f[0] == "want-kind" && len(f) == 2:
					wantKinds = append(wantKinds, f[1])
				default:
					t.Fatalf("%s: unknown directive %q", path, line)
				}
			}
			if len(wantKinds) == 0 {
				t.Fatalf("%s: no want-kind directive: say which kind the case shows", path)
			}
			pfiles := files{}
			var want string
			sectionAt := -1
			for i, f := range a.Files {
				if f.Name == lintSection {
					want, sectionAt = string(f.Data), i
					continue
				}
				pfiles[f.Name] = string(f.Data)
			}
			if sectionAt != len(a.Files)-1 {
				t.Fatalf("%s: the %s section must be there and last", path, lintSection)
			}
			dir := writeProject(t, pfiles)
			var b strings.Builder
			kinds := map[string]bool{}
			for _, f := range Lint(dir, opts) {
				kinds[f.Kind] = true
				b.WriteString(strings.ReplaceAll(f.String(), dir, "$PROJECT"))
				b.WriteByte('\n')
			}
			got := b.String()
			for _, k := range wantKinds {
				if !kinds[k] {
					t.Errorf("no finding of kind %s:\n%s", k, got)
				}
			}
			if *update {
				a.Files[sectionAt].Data = []byte(got)
				if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings (-want +got); go test ./project -run TestLint -update after review:\n%s", diff)
			}
		})
	}
}

func TestParseLintLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want LintLevel
		err  bool
	}{{"error", LintError, false}, {"warning", LintWarning, false}, {"info", LintInfo, false}, {"fatal", 0, true}, {"", 0, true}} {
		got, err := ParseLintLevel(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseLintLevel(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
}

// TestLintCorpus lints every real project of the corpus and records the number of findings of
// each kind and level in testdata/lint-corpus.golden, so a change in what lint reports on real
// projects shows in review; regenerate with -update.
func TestLintCorpus(t *testing.T) {
	names := corpusProjects(t)
	counts := map[string]map[LintLevel]int{}
	projectsWith := map[string]int{}
	for _, name := range names {
		seen := map[string]bool{}
		for _, f := range Lint(filepath.Join(corpusDir, name), LintOptions{Load: LoadOptions{AdapterKinds: []string{BackendWasm, BackendPlugin}}}) {
			if f.Pos.File == "" || f.Pos.Line <= 0 {
				t.Errorf("%s: finding without file and line: %s", name, f)
			}
			if counts[f.Kind] == nil {
				counts[f.Kind] = map[LintLevel]int{}
			}
			counts[f.Kind][f.Level]++
			if !seen[f.Kind] {
				seen[f.Kind] = true
				projectsWith[f.Kind]++
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d projects\n\n%-36s %8s %6s %8s %5s\n", len(names), "kind", "projects", "error", "warning", "info")
	for _, kind := range sortedKeys(counts) {
		c := counts[kind]
		fmt.Fprintf(&b, "%-36s %8d %6d %8d %5d\n", kind, projectsWith[kind], c[LintError], c[LintWarning], c[LintInfo])
	}
	t.Logf("lint over the corpus:\n%s", b.String())
	checkGolden(t, filepath.Join("testdata", "lint-corpus.golden"), []byte(b.String()))
}
