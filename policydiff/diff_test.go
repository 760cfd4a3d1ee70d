package policydiff

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/realmgate/realmgate/project"
)

// update rewrites golden files instead of comparing against them: go test ./policydiff -update
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// diffDir holds the cases, one txtar archive per pair of projects. Files under old/ and new/
// belong to one project, files under both/ to both; the last section, "report", holds the text
// report. go test ./policydiff -run TestDiff -update rewrites it; review the change before
// committing it.
//
// The comment holds prose lines (starting with #) and one directive:
//
//	weakened yes|no   whether the report must say protection was weakened (the exit status of
//	                  hostd policy diff), so a rewrite with -update cannot silently flip it
const diffDir = "testdata/diff"

const reportSection = "report"

// testOptions are the Build options of the cases: tokens live 60 s unless a test says otherwise.
var testOptions = Options{DefaultTokenLifetimeSec: 60}

func TestDiff(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(diffDir, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no cases in %s: %v", diffDir, err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			a, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var wantWeakened *bool
			for _, line := range strings.Split(string(a.Comment), "\n") {
				f := strings.Fields(line)
				if len(f) == 0 || strings.HasPrefix(line, "#") {
					continue
				}
				if len(f) == 2 && f[0] == "weakened" && (f[1] == "yes" || f[1] == "no") {
					w := f[1] == "yes"
					wantWeakened = &w
					continue
				}
				t.Fatalf("%s: unknown directive %q", path, line)
			}
			if wantWeakened == nil {
				t.Fatalf("%s: no weakened yes|no directive", path)
			}
			oldDir, newDir := t.TempDir(), t.TempDir()
			var want string
			sectionAt := -1
			for i, f := range a.Files {
				side, rel, _ := strings.Cut(f.Name, "/")
				switch {
				case f.Name == reportSection:
					want, sectionAt = string(f.Data), i
				case side == "old":
					writeFile(t, oldDir, rel, f.Data)
				case side == "new":
					writeFile(t, newDir, rel, f.Data)
				case side == "both":
					writeFile(t, oldDir, rel, f.Data)
					writeFile(t, newDir, rel, f.Data)
				default:
					t.Fatalf("%s: section %q is not under old/, new/ or both/", path, f.Name)
				}
			}
			if sectionAt != len(a.Files)-1 {
				t.Fatalf("%s: the %s section must be there and last", path, reportSection)
			}
			rep := diffDirs(t, oldDir, newDir)
			var b bytes.Buffer
			if err := rep.Write(&b, FormatText); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if rep.Weakened != *wantWeakened {
				t.Errorf("weakened = %v, want %v:\n%s", rep.Weakened, *wantWeakened, got)
			}
			if *update {
				a.Files[sectionAt].Data = []byte(got)
				if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("report (-want +got); go test ./policydiff -run TestDiff -update after review:\n%s", d)
			}
		})
	}
}

func writeFile(t *testing.T, dir, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// diffDirs loads both projects and compares them, labelled "old" and "new".
func diffDirs(t *testing.T, oldDir, newDir string) *Report {
	t.Helper()
	build := func(dir string) *Model {
		p, err := project.Load(dir, project.LoadOptions{})
		if err != nil {
			t.Fatalf("loading %s: %v", dir, err)
		}
		m, err := Build(p, testOptions)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	return Diff("old", build(oldDir), "new", build(newDir))
}
