package project

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// ScriptChecker reads an adapter's JavaScript implementation (adapters/<A>/<A>-impl.js) without
// running it, so that the loader can report at load what the JavaScript runtime would refuse.
// The model knows no JavaScript and imports only the standard library: the caller supplies the
// checker in LoadOptions.Scripts (hostd passes internal/jscheck's, over adapters/jsapi).
type ScriptChecker interface {
	// CheckScript reads src, the script at file (relative to the project); folder is the
	// adapter's folder, where the stylesheets its transformations name are. A script that does
	// not parse is a *ScriptSyntaxError.
	CheckScript(file string, src []byte, folder fs.FS) (*ScriptReport, error)
}

// ScriptReport is what the loader needs to know of an adapter's script.
type ScriptReport struct {
	// Functions are the names the script defines at its top level: the procedures it serves.
	Functions map[string]bool
	// Refused are the uses of server APIs that the JavaScript runtime refuses, in source order.
	Refused []ScriptUse
}

// ScriptUse is one use of a server API in a script.
type ScriptUse struct {
	Line, Column int
	// API names what is used as a reader would: "WL.Server.createSQLStatement",
	// "Java (java.lang.System)", "an XSL transformation (filtered.xsl)".
	API string
	// Group gathers uses reported as one error (every Java call is "Java"); empty: API.
	Group string
	// Reason says why it is refused; Fix what to do instead.
	Reason, Fix string
}

// ScriptSyntaxError is a script that does not parse, where the parser stopped.
type ScriptSyntaxError struct {
	Line, Column int
	Message      string
}

func (e *ScriptSyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
}

// ScriptSuffix ends the name of an adapter's JavaScript implementation: adapters/<A>/<A>-impl.js.
const ScriptSuffix = "-impl.js"

// maxScriptBytes bounds the script the loader reads.
const maxScriptBytes = 4 << 20

// loadScript checks the JavaScript of an adapter that declares no wasm or plugin backend, when
// the caller gave a ScriptChecker: a script that does not parse, a use of an API the runtime
// refuses, and a declared procedure the script has no function for are errors, each at its line.
// The script is <A>-impl.js, A the adapter's name or, failing that, its folder's.
func (l *loader) loadScript(dir string, a *Adapter) {
	if l.opts.Scripts == nil || a.Backend != nil && (a.Backend.Kind == BackendWasm || a.Backend.Kind == BackendPlugin) {
		return
	}
	var rel string
	var src []byte
	var err error
	for _, name := range []string{a.Name, dir} {
		rel = path.Join(adaptersDir, dir, name+ScriptSuffix)
		src, err = readBounded(filepath.Join(l.dir, filepath.FromSlash(rel)), maxScriptBytes)
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case errors.Is(err, errTooLarge):
		l.errorf(Pos{File: rel, Line: 1}, "split it, or move what is data out of the script", "adapter %q: the script is larger than %d MiB", a.Name, maxScriptBytes>>20)
		l.scriptRefused(a, rel, "it is too large")
		return
	case err != nil:
		l.errorf(Pos{File: rel, Line: 1}, "", "cannot read: %v", err)
		return
	}
	r, err := l.opts.Scripts.CheckScript(rel, src, os.DirFS(a.Dir))
	if err != nil {
		var se *ScriptSyntaxError
		if errors.As(err, &se) {
			l.errorf(Pos{File: rel, Line: se.Line},
				"write ECMAScript: Realmgate parses adapters as standard JavaScript, without Rhino's extensions (E4X XML literals, for each, conditional catch)",
				"adapter %q: syntax error at column %d: %s", a.Name, se.Column, se.Message)
			l.scriptRefused(a, rel, "it does not parse")
			return
		}
		l.errorf(Pos{File: rel, Line: 1}, "keep the script under 4 MiB and its code under 1000 levels of nesting", "adapter %q: the script cannot be checked: %v", a.Name, err)
		l.scriptRefused(a, rel, "it cannot be checked")
		return
	}
	if l.scriptFunctions == nil {
		l.scriptFunctions, l.scriptFiles = map[string]map[string]bool{}, map[string]string{}
	}
	l.scriptFunctions[a.Name], l.scriptFiles[a.Name] = r.Functions, rel
	// One error per API (or group), at its first use; the rest are counted (hostd check
	// --verbose lists every use).
	first := map[string]int{}
	var order []string
	for i, u := range r.Refused {
		if _, seen := first[u.group()]; !seen {
			first[u.group()] = i
			order = append(order, u.group())
		}
	}
	if len(order) > 0 {
		l.scriptRefused(a, rel, fmt.Sprintf("it uses %d %s that the runtime does not run", len(order), plural(len(order), "server API", "server APIs")))
	}
	for _, g := range order {
		u := r.Refused[first[g]]
		more := ""
		if n := countUses(r.Refused, g) - 1; n > 0 {
			more = fmt.Sprintf(" (and %d more %s in this file)", n, plural(n, "use", "uses"))
		}
		l.errorf(Pos{File: rel, Line: u.Line}, u.Fix,
			"adapter %q uses %s at column %d, which Realmgate's JavaScript runtime does not run: %s%s", a.Name, u.API, u.Column, u.Reason, more)
	}
	for _, name := range a.ProcedureOrder {
		if !r.Functions[name] {
			p := a.Procedures[name]
			l.errorf(p.Pos, fmt.Sprintf("define function %s(...) in %s, or remove the procedure", name, rel),
				"procedure %q has no function in %s", name, rel)
		}
	}
}

func (u ScriptUse) group() string {
	if u.Group != "" {
		return u.Group
	}
	return u.API
}

func countUses(uses []ScriptUse, group string) int {
	n := 0
	for _, u := range uses {
		if u.group() == group {
			n++
		}
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errTooLarge is a file beyond the bound readBounded was given.
var errTooLarge = errors.New("the file is too large")

// readBounded reads a file of at most limit bytes.
func readBounded(file string, limit int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// scriptRefused reports, at the adapter's own declaration, that its JavaScript cannot run in
// Realmgate and why; the errors at the script's lines say where. The declaration is where an
// operator can instead give the adapter a wasm or plugin backend.
func (l *loader) scriptRefused(a *Adapter, rel, why string) {
	l.errorf(a.Pos,
		fmt.Sprintf("change %s as the errors at its lines say, or serve the adapter from a module: add a <backend kind=\"wasm\" module=\"...\" sha256=\"...\"/> (or kind=\"plugin\") here", rel),
		"adapter %q cannot run its JavaScript (%s): %s", a.Name, rel, why)
}
