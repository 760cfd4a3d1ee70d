package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/internal/jscheck"
	"github.com/realmgate/realmgate/project"
)

// lintFinding is a finding as --format json writes it: one object per finding, for tools.
type lintFinding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Severity string `json:"severity"`
	Kind     string `json:"kind"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// cmdPolicyLint is hostd policy lint: the loader's diagnostics and the lint checks of package
// project, in text or JSON. The exit status is 1 when a finding at or above --fail-on exists, so
// CI can gate on it; 2 for bad flags.
func cmdPolicyLint(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy lint", stderr)
	dir := fs.String("config", "", "project directory")
	failOn := fs.String("fail-on", "error", "exit 1 when a finding at or above this level exists: error, warning or info")
	format := fs.String("format", "text", "output format: text or json")
	maxToken := fs.Duration("max-token-lifetime", project.DefaultMaxTokenLifetime, "report access tokens that live longer than this")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hostd policy lint: --config DIR is required, and nothing else")
		return 2
	}
	level, err := project.ParseLintLevel(*failOn)
	if err != nil {
		fmt.Fprintln(stderr, "hostd policy lint: --fail-on:", err)
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "hostd policy lint: --format %q: use text or json\n", *format)
		return 2
	}
	if *maxToken <= 0 || *maxToken%time.Second != 0 {
		fmt.Fprintln(stderr, "hostd policy lint: --max-token-lifetime must be a positive whole number of seconds, such as 1h or 900s")
		return 2
	}
	findings := project.Lint(*dir, project.LintOptions{
		Load: project.LoadOptions{AdapterKinds: adapters.Kinds(), Scripts: jscheck.New(),
			DataSources: daemon.DataSourceChecker()},
		MaxTokenLifetime: *maxToken,
	})
	failed := false
	counts := map[project.LintLevel]int{}
	out := make([]lintFinding, 0, len(findings))
	for _, f := range findings {
		counts[f.Level]++
		failed = failed || f.Level >= level
		if f.Pos.File != "" && !filepath.IsAbs(f.Pos.File) && !strings.HasPrefix(f.Pos.File, "(") {
			f.Pos.File = filepath.Join(*dir, f.Pos.File)
		}
		out = append(out, lintFinding{File: f.Pos.File, Line: f.Pos.Line, Severity: f.Level.String(), Kind: f.Kind, Message: f.Message, Fix: f.Fix})
		if *format == "text" {
			fmt.Fprintln(stdout, f.String())
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, "hostd policy lint:", err)
			return 1
		}
	} else {
		fmt.Fprintf(stdout, "%s: %s, %s, %s\n", *dir, counted(counts[project.LintError], "error"),
			counted(counts[project.LintWarning], "warning"), fmt.Sprintf("%d info", counts[project.LintInfo]))
	}
	if failed {
		return 1
	}
	return 0
}
