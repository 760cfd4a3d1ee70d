package migrate

import (
	"strings"

	"github.com/aymanbagabas/go-udiff"
)

// Unified returns the unified diff (three lines of context) of every file of the plan, with
// a/ and b/ prefixes as git writes them, so `git apply` and reviewers read it.
func (p *Plan) Unified() string {
	var b strings.Builder
	for _, f := range p.Files {
		b.WriteString(unified("a/"+f.Rel, "b/"+f.Rel, string(f.Old), string(f.New)))
	}
	return b.String()
}

// unified is one file's unified diff, "" when a and b are the same. go-udiff aligns the lines
// (Myers' algorithm) and writes the hunks, "\ No newline at end of file" included.
func unified(nameA, nameB, a, b string) string {
	return udiff.Unified(nameA, nameB, a, b)
}
