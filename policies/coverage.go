package policies

import (
	"context"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Cover collects which lines of the policy set ran, with OPA's own coverage tracer (the one
// `opa test --coverage` uses): over Rego test runs ([RunTestsCovered]) and over decisions
// ([Evaluator.EvalCovered]) alike, so a line that only a scenario reaches counts as covered.
// It is safe for concurrent use.
type Cover struct {
	c *cover.Cover
}

// NewCover returns an empty coverage collector.
func NewCover() *Cover { return &Cover{c: cover.New()} }

// Coverage is the coverage of a policy set: per file, the lines that ran and those that did not.
type Coverage struct {
	Files []FileCoverage `json:"files"`
	// CoveredLines and NotCoveredLines count lines over every file; Percent is covered lines
	// over both, 0 when no line could run.
	CoveredLines    int     `json:"covered_lines"`
	NotCoveredLines int     `json:"not_covered_lines"`
	Percent         float64 `json:"percent"`
}

// FileCoverage is the coverage of one Rego file.
type FileCoverage struct {
	// File is the module's path ("realmgate/lib.rego", "policies/transfers.rego").
	File string `json:"file"`
	// Generated is true for the Rego compiled from the XML configuration.
	Generated       bool        `json:"generated,omitempty"`
	Covered         []LineRange `json:"covered"`
	NotCovered      []LineRange `json:"not_covered"`
	CoveredLines    int         `json:"covered_lines"`
	NotCoveredLines int         `json:"not_covered_lines"`
	Percent         float64     `json:"percent"`
}

// LineRange is the lines First to Last, both included.
type LineRange struct {
	First int `json:"first"`
	Last  int `json:"last"`
}

func (r LineRange) String() string {
	if r.First == r.Last {
		return fmt.Sprint(r.First)
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// Report returns the coverage of mods, the modules of a compiled policy set ([CompileRego]):
// Rego test files that ran with them are left out, since a test covers itself.
func (c *Cover) Report(mods []Module) (Coverage, error) {
	parsed := make(map[string]*ast.Module, len(mods))
	generated := map[string]bool{}
	for _, m := range mods {
		pm, err := ast.ParseModuleWithOpts(m.Path, m.Source, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return Coverage{}, err
		}
		parsed[m.Path] = pm
		generated[m.Path] = m.Generated
	}
	rep := c.c.Report(parsed)
	var out Coverage
	for path := range parsed {
		fr := rep.Files[path]
		f := FileCoverage{File: path, Generated: generated[path], Covered: []LineRange{}, NotCovered: []LineRange{}}
		if fr != nil {
			f.Covered = lineRanges(fr.Covered)
			f.NotCovered = lineRanges(fr.NotCovered)
		}
		f.CoveredLines, f.NotCoveredLines = countLines(f.Covered), countLines(f.NotCovered)
		f.Percent = percent(f.CoveredLines, f.NotCoveredLines)
		out.CoveredLines += f.CoveredLines
		out.NotCoveredLines += f.NotCoveredLines
		out.Files = append(out.Files, f)
	}
	sort.Slice(out.Files, func(i, j int) bool { return out.Files[i].File < out.Files[j].File })
	out.Percent = percent(out.CoveredLines, out.NotCoveredLines)
	return out, nil
}

// lineRanges turns OPA's ranges into line ranges, sorted, adjacent and overlapping ones merged.
func lineRanges(rs []cover.Range) []LineRange {
	out := []LineRange{}
	for _, r := range rs {
		out = append(out, LineRange{First: r.Start.Row, Last: max(r.Start.Row, r.End.Row)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First < out[j].First })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r.First <= merged[n-1].Last+1 {
			merged[n-1].Last = max(merged[n-1].Last, r.Last)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

func countLines(rs []LineRange) int {
	n := 0
	for _, r := range rs {
		n += r.Last - r.First + 1
	}
	return n
}

// percent is covered over covered and not covered, rounded to a tenth, as a percentage.
func percent(covered, notCovered int) float64 {
	if covered+notCovered == 0 {
		return 0
	}
	return float64(int(1000*float64(covered)/float64(covered+notCovered)+0.5)) / 10
}

// RunTestsCovered is [RunTests] with c collecting the lines the tests ran.
func RunTestsCovered(ctx context.Context, modules map[string]string, c *Cover) ([]TestResult, error) {
	return runTests(ctx, modules, nil, c)
}

// EvalCovered evaluates in as [Evaluator.Eval] does, with c collecting the lines that ran.
func (e *Evaluator) EvalCovered(ctx context.Context, in Input, c *Cover) (Decision, error) {
	return e.eval(ctx, in, rego.EvalQueryTracer(c.c))
}
