package project

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/internal/corpustest"
)

// corpusDir and corpusProjects: the corpus of real Worklight projects (package corpustest).
var corpusDir = corpustest.Dir

func corpusProjects(t *testing.T) []string { return corpustest.Projects(t) }

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
