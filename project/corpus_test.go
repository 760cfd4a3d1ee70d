package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir holds real Worklight projects, outside the repository (they are data with their own
// licenses): ../shared/testdata/worklight-corpus beside the checkout.
var corpusDir = filepath.Join("..", "..", "shared", "testdata", "worklight-corpus")

func corpusProjects(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(corpusDir)
	if os.IsNotExist(err) {
		t.Skipf("no Worklight corpus at %s (it lives beside the repository, in ../shared/testdata/worklight-corpus)", corpusDir)
	}
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
		t.Skipf("the Worklight corpus at %s holds no projects", corpusDir)
	}
	return names
}

// TestCorpus loads every real project. Each one either loads, or is refused with errors that all
// name a file and a line. What the loader accepts is recorded in testdata/corpus.golden, so a
// change in it shows in review; regenerate with -update.
func TestCorpus(t *testing.T) {
	names := corpusProjects(t)
	var golden strings.Builder
	loaded, refused := 0, 0
	for _, name := range names {
		dir := filepath.Join(corpusDir, name)
		diags := Check(dir, LoadOptions{AdapterKinds: []string{BackendWasm, BackendPlugin}})
		for _, d := range diags {
			if d.Pos.File == "" || d.Pos.Line <= 0 {
				t.Errorf("%s: diagnostic without file and line: %s", name, d)
			}
			if strings.HasPrefix(d.Pos.File, "/") || strings.Contains(d.Pos.File, "..") {
				t.Errorf("%s: diagnostic names a path outside the project: %s", name, d)
			}
		}
		warnings := len(diags) - len(diags.Errors())
		if !diags.HasErrors() {
			loaded++
			fmt.Fprintf(&golden, "loaded   %s (%d warnings)\n", name, warnings)
			continue
		}
		refused++
		fmt.Fprintf(&golden, "refused  %s (%d warnings)\n", name, warnings)
		for _, d := range diags.Errors() {
			fmt.Fprintf(&golden, "\t%s: %s: %s\n", d.Pos, d.Severity, d.Message)
		}
	}
	fmt.Fprintf(&golden, "\n%d projects: %d loaded, %d refused\n", len(names), loaded, refused)
	t.Logf("corpus: %d projects, %d loaded, %d refused with file and line", len(names), loaded, refused)
	checkGolden(t, filepath.Join("testdata", "corpus.golden"), []byte(golden.String()))
}
