package policydiff

import (
	"path/filepath"
	"testing"

	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/project"
)

// TestCorpusAgainstItself builds the model of every real project of the corpus that loads, twice
// from two loads, and compares them: a project against itself has nothing to report (no map
// order, no position and no pointer leaks into the comparison), and every model has resources.
func TestCorpusAgainstItself(t *testing.T) {
	names := corpustest.Projects(t)
	built := 0
	for _, name := range names {
		dir := filepath.Join(corpustest.Dir, name)
		opts := project.LoadOptions{AdapterKinds: []string{project.BackendWasm, project.BackendPlugin}}
		a, err := project.Load(dir, opts)
		if err != nil {
			continue // refused projects are project's concern (TestCorpus)
		}
		b, err := project.Load(dir, opts)
		if err != nil {
			t.Fatalf("%s: loads once, not twice: %v", name, err)
		}
		ma, err := Build(a, testOptions)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		mb, err := Build(b, testOptions)
		if err != nil {
			t.Fatal(err)
		}
		if len(ma.Resources) == 0 {
			t.Errorf("%s: no resources", name)
		}
		rep := Diff("a", ma, "b", mb)
		if rep.Weakened || len(rep.Resources) != 0 || rep.Unchanged != rep.Compared {
			t.Errorf("%s against itself: %+v", name, rep)
		}
		built++
	}
	t.Logf("%d of %d corpus projects built and compared with themselves", built, len(names))
	if built == 0 {
		t.Error("no corpus project loads")
	}
}
