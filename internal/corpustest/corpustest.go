// Package corpustest finds the corpus of real Worklight projects for tests. The corpus lives
// outside the repository (the projects are data with their own licenses), in
// ../shared/testdata/worklight-corpus beside the checkout; tests skip when it is absent.
// Only tests import this package.
package corpustest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir is the corpus folder as seen from a package folder one level below the module root.
var Dir = filepath.Join("..", "..", "shared", "testdata", "worklight-corpus")

// Projects returns the names of the corpus projects (folders of Dir), skipping t when there are
// none.
func Projects(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(Dir)
	if os.IsNotExist(err) {
		t.Skipf("no Worklight corpus at %s (it lives beside the repository, in ../shared/testdata/worklight-corpus)", Dir)
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
		t.Skipf("the Worklight corpus at %s holds no projects", Dir)
	}
	return names
}

// Root returns the corpus folder as seen from the current package folder, at any depth below
// the module root (found by looking upward for go.mod), skipping t when the corpus is absent.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
	root := filepath.Join(dir, "..", "shared", "testdata", "worklight-corpus")
	if _, err := os.Stat(root); os.IsNotExist(err) {
		t.Skipf("no Worklight corpus at %s (it lives beside the repository, in ../shared/testdata/worklight-corpus)", root)
	}
	return root
}
