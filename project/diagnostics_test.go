package project

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// diagnosticsDir holds the loader's diagnostics cases, one txtar archive per project.
//
// An archive's sections are the files of a project (server/conf/authenticationConfig.xml,
// apps/<App>/application-descriptor.xml, adapters/<Adapter>/<Adapter>.xml, ...), written as they
// are into a new directory, and a last section named "diagnostics": what Check reports for that
// directory, one Diagnostic.String() a line ("FILE:LINE: severity: message; fix: ..."), the
// directory's path written as $PROJECT. go test ./project -run TestDiagnostics -update rewrites
// that section from what the loader says; review the change before committing it.
//
// In the archive's comment (the text before the first section), a line starting with # is prose
// that says what the case shows; every other line is a directive:
//
//	adapter-kinds KIND...   load with LoadOptions.AdapterKinds set to these kinds
//	errors-without-fix      the case may have errors without a fix (XML that does not parse,
//	                        a file that cannot be read); otherwise every error must carry one
//	crlf FILE [LINE...]     write FILE with CRLF line endings, on the given lines only when
//	                        lines are given (an archive keeps LF, as editors and git do)
//	repeat FILE SIZE        write FILE as its content repeated to SIZE bytes (bounds tests)
//	javascript              load with LoadOptions.Scripts set to ScriptsForTests, the checker of
//	                        adapters' JavaScript that hostd check uses
const diagnosticsDir = "testdata/diagnostics"

// diagnosticsSection names the archive section that holds the expected diagnostics.
const diagnosticsSection = "diagnostics"

// maxRepeat bounds the size a repeat directive may ask for: enough to pass every bound of the
// loader, small enough that a typo does not exhaust memory.
const maxRepeat = 4 * maxDocumentBytes

// diagCase is one archive of diagnosticsDir, read and checked.
type diagCase struct {
	path    string
	archive *txtar.Archive
	opts    LoadOptions
	noFix   bool
	files   map[string][]byte // project files as they are written to disk
	order   []string          // project file names in archive order
	want    string            // the diagnostics section
	hasWant bool              // the archive has a diagnostics section
}

// parseDiagCase reads an archive: its directives, its project files and its diagnostics section.
// A malformed archive (an unknown directive, a file named twice or outside the project, a
// directive naming a file the archive lacks, a diagnostics section that is not last) is an error,
// so a typo cannot make a case pass by testing less.
func parseDiagCase(path string, data []byte) (*diagCase, error) {
	a := txtar.Parse(data)
	c := &diagCase{path: path, archive: a, files: map[string][]byte{}}
	for i, f := range a.Files {
		if f.Name == diagnosticsSection {
			if i != len(a.Files)-1 {
				return nil, fmt.Errorf("%s: the %s section must be the last one", path, diagnosticsSection)
			}
			c.hasWant, c.want = true, string(f.Data)
			continue
		}
		if !fs.ValidPath(f.Name) || f.Name == "." {
			return nil, fmt.Errorf("%s: file name %q is not a relative slash-separated path inside the project", path, f.Name)
		}
		if _, dup := c.files[f.Name]; dup {
			return nil, fmt.Errorf("%s: file %s appears twice", path, f.Name)
		}
		c.files[f.Name] = f.Data
		c.order = append(c.order, f.Name)
	}
	for n, line := range strings.Split(string(a.Comment), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := c.directive(strings.Fields(line)); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
		}
	}
	return c, nil
}

// directive applies one directive line of the archive's comment.
func (c *diagCase) directive(f []string) error {
	fileArg := func() ([]byte, error) {
		data, ok := c.files[f[1]]
		if !ok {
			return nil, fmt.Errorf("%s names file %s, which the archive does not hold", f[0], f[1])
		}
		return data, nil
	}
	switch {
	case f[0] == "adapter-kinds" && len(f) > 1:
		c.opts.AdapterKinds = append(c.opts.AdapterKinds, f[1:]...)
	case f[0] == "errors-without-fix" && len(f) == 1:
		c.noFix = true
	case f[0] == "crlf" && len(f) >= 2:
		data, err := fileArg()
		if err != nil {
			return err
		}
		out, err := crlf(data, f[2:])
		if err != nil {
			return err
		}
		c.files[f[1]] = out
	case f[0] == "repeat" && len(f) == 3:
		data, err := fileArg()
		if err != nil {
			return err
		}
		size, err := strconv.Atoi(f[2])
		if err != nil || size <= 0 || size > maxRepeat || len(data) == 0 {
			return fmt.Errorf("repeat %s %s: want a size from 1 to %d and a file that is not empty", f[1], f[2], maxRepeat)
		}
		c.files[f[1]] = bytes.Repeat(data, size/len(data)+1)[:size]
	case f[0] == "javascript" && len(f) == 1:
		if ScriptsForTests == nil {
			return errors.New("javascript: ScriptsForTests is not set (scripts_ext_test.go sets it)")
		}
		c.opts.Scripts = ScriptsForTests
	default:
		return fmt.Errorf("unknown directive %q (see diagnosticsDir in diagnostics_test.go)", strings.Join(f, " "))
	}
	return nil
}

// crlf ends the given lines of data (1-based numbers, all when none) with CRLF instead of LF.
func crlf(data []byte, lines []string) ([]byte, error) {
	parts := bytes.SplitAfter(data, []byte("\n"))
	pick := map[int]bool{}
	for _, l := range lines {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > len(parts) || !bytes.HasSuffix(parts[n-1], []byte("\n")) {
			return nil, fmt.Errorf("crlf: %q is not the number of a line that ends with a newline", l)
		}
		pick[n] = true
	}
	var out bytes.Buffer
	for i, part := range parts {
		if (len(pick) == 0 || pick[i+1]) && bytes.HasSuffix(part, []byte("\n")) {
			part = append(part[:len(part)-1:len(part)-1], '\r', '\n')
		}
		out.Write(part)
	}
	return out.Bytes(), nil
}

// write writes the project files into a new temporary directory and returns it.
func (c *diagCase) write(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range c.order {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, c.files[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// check writes the project, runs Check on it and returns the directory, the diagnostics and
// their text as the diagnostics section holds it.
func (c *diagCase) check(t *testing.T) (string, Diagnostics, string) {
	t.Helper()
	if len(c.files) == 0 {
		t.Fatalf("%s holds no project file", c.path)
	}
	dir := c.write(t)
	diags := Check(dir, c.opts)
	return dir, diags, formatDiagnostics(diags, dir)
}

// formatDiagnostics is the diagnostics section for ds: one Diagnostic.String() a line, the
// project directory written as $PROJECT so the text does not depend on where the test ran.
func formatDiagnostics(ds Diagnostics, dir string) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(strings.ReplaceAll(d.String(), dir, "$PROJECT"))
		b.WriteByte('\n')
	}
	return b.String()
}

// compare returns what differs between the archive's diagnostics section and got, or "".
func (c *diagCase) compare(got string) string {
	if !c.hasWant {
		return fmt.Sprintf("%s has no %q section; run go test ./project -run TestDiagnostics -update", c.path, diagnosticsSection)
	}
	// Lines, not one string, so a difference reads as the diagnostics that differ.
	if diff := cmp.Diff(strings.SplitAfter(c.want, "\n"), strings.SplitAfter(got, "\n")); diff != "" {
		return fmt.Sprintf("%s: diagnostics differ (-archive +got); after review, run go test ./project -run TestDiagnostics -update:\n%s", c.path, diff)
	}
	return ""
}

// updated is the archive with its diagnostics section replaced by got.
func (c *diagCase) updated(got string) []byte {
	a := &txtar.Archive{Comment: c.archive.Comment}
	for _, f := range c.archive.Files {
		if f.Name != diagnosticsSection {
			a.Files = append(a.Files, f)
		}
	}
	a.Files = append(a.Files, txtar.File{Name: diagnosticsSection, Data: []byte(got)})
	return txtar.Format(a)
}

// TestDiagnostics loads the project of every archive under testdata/diagnostics and compares
// every diagnostic Check reports, in order, position, severity, message and fix, with the
// archive's diagnostics section. It also checks what holds for every project: each diagnostic
// names a file of the project, each error says how to fix it (unless the archive allows
// otherwise), and Load agrees with Check.
func TestDiagnostics(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(diagnosticsDir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no archives in %s", diagnosticsDir)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseDiagCase(path, data)
			if err != nil {
				t.Fatal(err)
			}
			dir, diags, got := c.check(t)
			if *update {
				if !c.hasWant || c.want != got {
					if err := os.WriteFile(path, c.updated(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			} else if problem := c.compare(got); problem != "" {
				t.Error(problem)
			}
			checkDiagnosticInvariants(t, dir, c, diags)
		})
	}
}

// checkDiagnosticInvariants checks what holds for the diagnostics of any project, whatever the
// archive says: a diagnostic names a file inside the project, an error carries a fix, and Load
// fails exactly when Check has errors and then carries every diagnostic.
func checkDiagnosticInvariants(t *testing.T, dir string, c *diagCase, diags Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Pos.File == "" || filepath.IsAbs(d.Pos.File) {
			t.Errorf("diagnostic without a project file: %s", d)
		}
		if d.Severity == Error && d.Fix == "" && !c.noFix {
			t.Errorf("error without a fix: %s", d)
		}
	}
	p, err := Load(dir, c.opts)
	if diags.HasErrors() {
		var le *LoadError
		if !errors.As(err, &le) || p != nil {
			t.Fatalf("Load = %v, %v; want a *LoadError and no project", p, err)
		}
		if diff := cmp.Diff(formatDiagnostics(diags, dir), formatDiagnostics(le.Diagnostics, dir)); diff != "" {
			t.Errorf("LoadError diagnostics differ from Check (-check +load):\n%s", diff)
		}
		if !strings.HasPrefix(err.Error(), diags.Errors()[0].String()) {
			t.Errorf("LoadError.Error() = %q, want it to start with the first error %q", err, diags.Errors()[0])
		}
		return
	}
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(formatDiagnostics(diags, dir), formatDiagnostics(p.Diagnostics, dir)); diff != "" {
		t.Errorf("project warnings differ from Check (-check +load):\n%s", diff)
	}
}

// TestDiagnosticsGoldenCanFail: the comparison TestDiagnostics makes fails when an archive's
// diagnostics section misses a line, has one too many, names another line or fix, or is absent,
// for a project with diagnostics and for one without.
func TestDiagnosticsGoldenCanFail(t *testing.T) {
	for _, name := range []string{"document-wrong-root", "document-minimal-prefixed-root", "realm-unknown-classes-say-what-to-use"} {
		path := filepath.Join(diagnosticsDir, name+".txtar")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseDiagCase(path, data)
		if err != nil {
			t.Fatal(err)
		}
		_, _, got := c.check(t)
		if problem := c.compare(got); problem != "" {
			t.Fatalf("the archive as it is: %s", problem)
		}
		mutations := map[string]func(string) string{
			"a line too many":  func(s string) string { return s + AuthConfigPath + ":1: error: not said\n" },
			"no final newline": func(s string) string { return strings.TrimSuffix(s, "\n") + "x" },
		}
		if got != "" {
			mutations["a line missing"] = func(s string) string { return s[strings.Index(s, "\n")+1:] }
			mutations["another line number"] = func(s string) string { return strings.Replace(s, ".xml:", ".xml:1", 1) }
			mutations["another severity"] = func(s string) string {
				return strings.NewReplacer(": error: ", ": warning: ", ": warning: ", ": error: ").Replace(s)
			}
		}
		if strings.Contains(got, "; fix: ") {
			mutations["another fix"] = func(s string) string { return strings.Replace(s, "; fix: ", "; fix: do ", 1) }
			mutations["no fix"] = func(s string) string { return strings.Replace(s, "; fix: ", " ", 1) }
		}
		for what, mutate := range mutations {
			wrong := *c
			wrong.want = mutate(c.want)
			if wrong.want == c.want {
				t.Fatalf("%s: mutation %q changed nothing", name, what)
			}
			if wrong.compare(got) == "" {
				t.Errorf("%s: a diagnostics section with %s passes", name, what)
			}
		}
		missing := *c
		missing.hasWant, missing.want = false, ""
		if missing.compare(got) == "" {
			t.Errorf("%s: an archive without a diagnostics section passes", name)
		}
	}
}

// TestParseDiagCase: directives shape the project as documented, and an archive the harness
// cannot read as written is refused rather than tested with less.
func TestParseDiagCase(t *testing.T) {
	type result struct {
		Files       map[string]string
		Order       []string
		Kinds       []string
		NoFix       bool
		Want        string
		HasWant     bool
		ErrContains string
	}
	cases := []struct {
		name    string
		archive string
		want    result
	}{
		{
			name:    "prose, files and diagnostics",
			archive: "# prose\n\n# more prose\n-- a/b.xml --\n<x/>\n-- c --\n-- diagnostics --\na/b.xml:1: error: m\n",
			want: result{Files: map[string]string{"a/b.xml": "<x/>\n", "c": ""}, Order: []string{"a/b.xml", "c"},
				Want: "a/b.xml:1: error: m\n", HasWant: true},
		},
		{
			name:    "no diagnostics section",
			archive: "-- a --\nx\n",
			want:    result{Files: map[string]string{"a": "x\n"}, Order: []string{"a"}},
		},
		{
			name:    "directives",
			archive: "adapter-kinds wasm plugin\nerrors-without-fix\ncrlf a\ncrlf b 2 3\nrepeat c 7\n-- a --\n1\n2\n-- b --\n1\n2\n3\n4\n-- c --\nab\n-- diagnostics --\n",
			want: result{Files: map[string]string{"a": "1\r\n2\r\n", "b": "1\n2\r\n3\r\n4\n", "c": "ab\nab\na"}, Order: []string{"a", "b", "c"},
				Kinds: []string{"wasm", "plugin"}, NoFix: true, HasWant: true},
		},
		{name: "unknown directive", archive: "crfl a\n-- a --\n", want: result{ErrContains: `unknown directive "crfl a"`}},
		{name: "directive with arguments it does not take", archive: "errors-without-fix yes\n-- a --\n", want: result{ErrContains: "unknown directive"}},
		{name: "directive naming a missing file", archive: "crlf b\n-- a --\nx\n", want: result{ErrContains: "does not hold"}},
		{name: "crlf of a line that is not there", archive: "crlf a 2\n-- a --\nx\n", want: result{ErrContains: "crlf"}},
		{name: "crlf of line zero", archive: "crlf a 0\n-- a --\nx\n", want: result{ErrContains: "crlf"}},
		{name: "repeat of nothing", archive: "repeat a 10\n-- a --\n", want: result{ErrContains: "repeat"}},
		{name: "repeat past the bound", archive: "repeat a 999999999999\n-- a --\nx\n", want: result{ErrContains: "repeat"}},
		{name: "file twice", archive: "-- a --\n-- a --\n", want: result{ErrContains: "twice"}},
		{name: "file outside the project", archive: "-- ../a --\n", want: result{ErrContains: "not a relative"}},
		{name: "absolute file", archive: "-- /etc/a --\n", want: result{ErrContains: "not a relative"}},
		{name: "the directory itself", archive: "-- . --\n", want: result{ErrContains: "not a relative"}},
		{name: "diagnostics before a file", archive: "-- diagnostics --\n-- a --\n", want: result{ErrContains: "last"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseDiagCase("x.txtar", []byte(tc.archive))
			var got result
			if err != nil {
				if tc.want.ErrContains == "" || !strings.Contains(err.Error(), tc.want.ErrContains) {
					t.Fatalf("parseDiagCase: %v, want an error containing %q", err, tc.want.ErrContains)
				}
				return
			}
			if tc.want.ErrContains != "" {
				t.Fatalf("parseDiagCase accepted the archive; want an error containing %q", tc.want.ErrContains)
			}
			got.Files = map[string]string{}
			for n, d := range c.files {
				got.Files[n] = string(d)
			}
			got.Order, got.Kinds, got.NoFix, got.Want, got.HasWant = c.order, c.opts.AdapterKinds, c.noFix, c.want, c.hasWant
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parsed archive (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseDiagCase: any archive is read without a panic; one that is accepted names only files
// inside the project, and rewriting its diagnostics section (as -update does) keeps its files and
// directives and holds exactly the new section.
func FuzzParseDiagCase(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(diagnosticsDir, "*.txtar"))
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil && len(data) < 1<<14 {
			f.Add(data)
		}
	}
	f.Add([]byte("crlf a 1\nrepeat a 5\n-- a --\nx\n-- diagnostics --\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseDiagCase("fuzz.txtar", data)
		if err != nil {
			return
		}
		for name := range c.files {
			if !fs.ValidPath(name) || name == "." || name == diagnosticsSection {
				t.Fatalf("accepted file name %q", name)
			}
		}
		const got = "a.xml:1: error: m; fix: f\n"
		again, err := parseDiagCase("fuzz.txtar", c.updated(got))
		if err != nil {
			t.Fatalf("the updated archive does not parse: %v", err)
		}
		if !again.hasWant || again.want != got {
			t.Fatalf("updated diagnostics section = %q, want %q", again.want, got)
		}
		if diff := cmp.Diff(c.order, again.order); diff != "" {
			t.Fatalf("files of the updated archive (-before +after):\n%s", diff)
		}
		sameChecker := cmp.Comparer(func(a, b ScriptChecker) bool { return a == b })
		if diff := cmp.Diff(c.opts, again.opts, sameChecker); diff != "" {
			t.Fatalf("options of the updated archive (-before +after):\n%s", diff)
		}
		if !bytes.Equal(c.updated(got), again.updated(got)) {
			t.Fatal("updating an updated archive changes it again")
		}
	})
}
