package project

import (
	"fmt"
	"sort"
	"strings"
)

// Severity of a diagnostic.
type Severity int

// Severities. An Error stops the daemon from starting; a Warning is printed and the project loads.
const (
	Warning Severity = iota
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Pos is a place in a project file. File is relative to the project directory.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// Diagnostic is one problem found while loading a project, with where it is and how to fix it.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Message  string
	// Fix says what to change, when there is something obvious to say.
	Fix string
}

// String formats the diagnostic as "FILE:LINE: error: message (fix)".
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	b.WriteString(d.Message)
	if d.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(d.Fix)
	}
	return b.String()
}

// Diagnostics is the list of problems of one load.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders diagnostics by file, line, then message, so output is stable.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Message < b.Message
	})
}

// LoadError is returned by Load when the project has errors; it holds every diagnostic.
type LoadError struct {
	Diagnostics Diagnostics
}

func (e *LoadError) Error() string {
	errs := e.Diagnostics.Errors()
	if len(errs) == 1 {
		return errs[0].String()
	}
	return fmt.Sprintf("%s (and %d more errors)", errs[0], len(errs)-1)
}

type diagSink struct {
	list Diagnostics
}

func (s *diagSink) errorf(pos Pos, fix, format string, args ...any) {
	s.list = append(s.list, Diagnostic{Pos: pos, Severity: Error, Message: fmt.Sprintf(format, args...), Fix: fix})
}

func (s *diagSink) warnf(pos Pos, fix, format string, args ...any) {
	s.list = append(s.list, Diagnostic{Pos: pos, Severity: Warning, Message: fmt.Sprintf(format, args...), Fix: fix})
}
