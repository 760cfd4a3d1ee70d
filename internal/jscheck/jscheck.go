// Package jscheck connects the JavaScript scanner (adapters/jsapi) to the project loader: its
// Checker is the project.ScriptChecker that hostd check loads projects with, and it keeps what
// it scanned so that hostd check --verbose can list every server API each JavaScript adapter
// uses. The model imports only the standard library and jsapi knows nothing of projects; this
// package is where the two meet.
package jscheck

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/realmgate/realmgate/adapters/jsapi"
	"github.com/realmgate/realmgate/project"
)

// Checker scans adapter scripts for the loader and keeps the reports.
type Checker struct {
	mu      sync.Mutex
	reports []*jsapi.Report
}

var _ project.ScriptChecker = (*Checker)(nil)

// New returns a Checker that has scanned nothing yet.
func New() *Checker { return &Checker{} }

// CheckScript scans the script, decides its XSL transformations by the stylesheets of folder,
// and says what the loader reports of it.
func (c *Checker) CheckScript(file string, src []byte, folder fs.FS) (*project.ScriptReport, error) {
	r, err := jsapi.Scan(file, src)
	if err != nil {
		var se *jsapi.SyntaxError
		if errors.As(err, &se) {
			return nil, &project.ScriptSyntaxError{Line: se.Pos.Line, Column: se.Pos.Column, Message: se.Message}
		}
		return nil, err
	}
	r.ResolveXSL(func(name string) ([]byte, error) { return readBounded(folder, name) })
	c.mu.Lock()
	c.reports = append(c.reports, r)
	c.mu.Unlock()
	out := &project.ScriptReport{Functions: map[string]bool{}}
	for name := range r.Functions {
		out.Functions[name] = true
	}
	for _, u := range r.Refused() {
		out.Refused = append(out.Refused, project.ScriptUse{
			Line: u.Pos.Line, Column: u.Pos.Column, API: u.Name(), Group: u.API, Reason: u.Reason, Fix: u.Fix,
		})
	}
	return out, nil
}

// Reports returns the reports of the scripts scanned so far, in file order.
func (c *Checker) Reports() []*jsapi.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.reports)
	slices.SortFunc(out, func(a, b *jsapi.Report) int { return strings.Compare(a.File, b.File) })
	return out
}

// WriteReport lists, per JavaScript adapter, every server API use with its place and status:
//
//	DIR/adapters/Orders/Orders-impl.js: 4 uses of server APIs, 2 refused
//	  DIR/adapters/Orders/Orders-impl.js:4:2: WL.Logger.info: supported
//	  DIR/adapters/Orders/Orders-impl.js:9:13: WL.Server.createEventSource: refused: event sources ...
//
// Files are written under dir, the project's folder, as hostd check prints diagnostics.
func WriteReport(w io.Writer, dir string, reports []*jsapi.Report) error {
	for _, r := range reports {
		file := filepath.Join(dir, filepath.FromSlash(r.File))
		refused := len(r.Refused())
		if _, err := fmt.Fprintf(w, "%s: JavaScript adapter, %d %s of server APIs, %d refused\n",
			file, len(r.Uses), plural(len(r.Uses), "use", "uses"), refused); err != nil {
			return err
		}
		for _, u := range r.Uses {
			line := fmt.Sprintf("  %s:%s: %s: %s", file, u.Pos, u.Name(), u.Status)
			if u.Status != jsapi.Supported {
				line += ": " + u.Reason
			} else if u.Limit != "" {
				line += " (" + u.Limit + ")"
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxStylesheetBytes bounds the stylesheet read; a larger one is not the stock filter.
const maxStylesheetBytes = 1 << 20

// readBounded reads at most maxStylesheetBytes+1 bytes of a file of folder.
func readBounded(folder fs.FS, name string) ([]byte, error) {
	f, err := folder.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxStylesheetBytes+1))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
