package policydiff

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// TestFormats renders one case's report in Markdown and JSON and compares them with
// testdata/format.md and testdata/format.json (go test ./policydiff -run TestFormats -update).
func TestFormats(t *testing.T) {
	a, err := txtar.ParseFile(filepath.Join(diffDir, "resources-added-and-removed.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	oldDir, newDir := t.TempDir(), t.TempDir()
	for _, f := range a.Files {
		side, rel, _ := strings.Cut(f.Name, "/")
		if side == "old" || side == "both" {
			writeFile(t, oldDir, rel, f.Data)
		}
		if side == "new" || side == "both" {
			writeFile(t, newDir, rel, f.Data)
		}
	}
	rep := diffDirs(t, oldDir, newDir)
	for _, tc := range []struct{ format, golden string }{
		{FormatMarkdown, "format.md"},
		{FormatJSON, "format.json"},
	} {
		var b bytes.Buffer
		if err := rep.Write(&b, tc.format); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", tc.golden)
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), b.String()); d != "" {
			t.Errorf("%s (-want +got); -update after review:\n%s", tc.format, d)
		}
	}
	if err := rep.Write(&bytes.Buffer{}, "yaml"); err == nil {
		t.Error("format yaml: no error")
	}
}

// TestMarkdownEscapes: names and messages from a project cannot break the table, inject HTML or
// links into a pull-request comment, or drive a terminal.
func TestMarkdownEscapes(t *testing.T) {
	rep := &Report{Old: "a`b", New: "c|d", Weakened: true, Resources: []ResourceDiff{{
		Kind: KindProcedure, Name: "A.p|<img src=x>`", Status: StatusChanged, Effect: Weakened,
		Changes: []Change{{Effect: Weakened, Via: "App/a|b", Message: "x | <script>*bold*</script> [l](http://e) \x1b[31m\nnext"}},
	}}}
	var b bytes.Buffer
	if err := rep.Write(&b, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	want := "### Realmgate policy diff: protection weakened\n\n" +
		"a'b → c\\|d: 0 resources weakened, 0 strengthened, 0 changed, 0 unchanged.\n\n" +
		"| resource | effect | change |\n| --- | --- | --- |\n" +
		"| procedure A.p\\|&lt;img src=x&gt;' (changed) | **weakened** | from App/a\\|b: x \\| &lt;script&gt;\\*bold\\*&lt;/script&gt; \\[l\\](http://e) ?\\[31m?next |\n"
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	b.Reset()
	if err := rep.Write(&b, FormatText); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b") || strings.Count(b.String(), "\n") != 6 {
		t.Errorf("text report holds control characters or extra lines:\n%q", b.String())
	}
}

// FuzzMarkdownCell: whatever a project names, a table cell and a code span stay on one line,
// hold no unescaped pipe (which would end the cell), and a cell holds no HTML tag.
func FuzzMarkdownCell(f *testing.F) {
	for _, s := range []string{"a|b", "<script>", "x\ny", "`code`", `\|`, "[a](b)", "\x1b[2J"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{cell(s), code(s)} {
			if strings.ContainsAny(out, "\n\r") {
				t.Fatalf("%q -> %q holds a line break", s, out)
			}
			for i := 0; i < len(out); i++ {
				if out[i] != '|' {
					continue
				}
				backslashes := 0
				for j := i - 1; j >= 0 && out[j] == '\\'; j-- {
					backslashes++
				}
				if backslashes%2 == 0 {
					t.Fatalf("%q -> %q holds an unescaped pipe", s, out)
				}
			}
		}
		if strings.Contains(cell(s), "<") {
			t.Fatalf("%q -> %q holds <", s, cell(s))
		}
	})
}
