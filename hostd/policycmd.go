package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/policies/scenario"
	"github.com/realmgate/realmgate/project"
)

// cmdPolicyTest runs the test_* rules of the built-in library and of the project's policies/
// folder (files ending in _test.rego) against the compiled security tests, then the project's
// scenarios (policies/*.scenario.yaml) through the evaluator the daemon uses. With --coverage
// (or --min) it reports the lines of the generated and user Rego that the tests and scenarios
// ran, and --min fails the command below a percentage.
func cmdPolicyTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy test", stderr)
	dir := fs.String("config", "", "project directory")
	coverage := fs.Bool("coverage", false, "report the lines of the policies that tests and scenarios ran")
	minPct := fs.Float64("min", -1, "fail when coverage is below this percentage (implies --coverage)")
	format := fs.String("format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "hostd policy test: --config DIR is required")
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "hostd policy test: --format %q: use text or json\n", *format)
		return 2
	}
	if *minPct > 100 {
		fmt.Fprintf(stderr, "hostd policy test: --min %g: use a percentage from 0 to 100\n", *minPct)
		return 2
	}
	if flagSet(fs, "min") {
		*coverage = true
	}
	rep, err := policyTest(ctx, *dir, *coverage)
	if err != nil {
		var le *project.LoadError
		if errors.As(err, &le) {
			printError(stderr, *dir, err)
		} else {
			fmt.Fprintln(stderr, "hostd policy test:", err)
		}
		return 1
	}
	failed := rep.Failed > 0 || rep.ScenariosFailed > 0
	if rep.Coverage != nil && flagSet(fs, "min") {
		rep.Min = minPct
		rep.BelowMin = rep.Coverage.Percent < *minPct
		failed = failed || rep.BelowMin
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "hostd policy test:", err)
			return 1
		}
	} else {
		rep.writeText(stdout)
	}
	if failed {
		return 1
	}
	return 0
}

// flagSet reports whether the command line gave the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// testReport is what hostd policy test found; its JSON form is --format json.
type testReport struct {
	Passed          int                `json:"passed"`
	Failed          int                `json:"failed"`
	Tests           []testLine         `json:"tests"`
	ScenariosPassed int                `json:"scenarios_passed"`
	ScenariosFailed int                `json:"scenarios_failed"`
	Scenarios       []scenarioLine     `json:"scenarios"`
	Coverage        *policies.Coverage `json:"coverage,omitempty"`
	Min             *float64           `json:"min,omitempty"`
	BelowMin        bool               `json:"below_min,omitempty"`
}

type testLine struct {
	Package  string `json:"package"`
	Name     string `json:"name"`
	Location string `json:"location,omitempty"`
	// Result is pass, fail, error or skip.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

type scenarioLine struct {
	Name     string           `json:"name"`
	Location string           `json:"location"`
	Passed   bool             `json:"passed"`
	Got      scenario.Outcome `json:"got"`
	// Message is the failure with its diff, or the error that stopped the scenario.
	Message string `json:"message,omitempty"`
}

// policyTest runs the Rego tests and the scenarios of the project in dir.
func policyTest(ctx context.Context, dir string, coverage bool) (*testReport, error) {
	p, err := project.Load(dir, project.LoadOptions{})
	if err != nil {
		return nil, err
	}
	var cov *policies.Cover
	if coverage {
		cov = policies.NewCover()
	}
	mods, err := policies.ProjectTestModules(p)
	if err != nil {
		return nil, err
	}
	results, err := policies.RunTestsCovered(ctx, mods, cov)
	if err != nil {
		return nil, err
	}
	rep := &testReport{Tests: []testLine{}, Scenarios: []scenarioLine{}}
	for _, r := range results {
		l := testLine{Package: r.Package, Name: r.Name, Location: r.Location, Result: "pass"}
		switch {
		case r.Err != nil:
			rep.Failed++
			l.Result, l.Error = "error", r.Err.Error()
		case r.Fail:
			rep.Failed++
			l.Result = "fail"
		case r.Skip:
			l.Result = "skip"
		default:
			rep.Passed++
		}
		rep.Tests = append(rep.Tests, l)
	}
	scenarios, err := scenario.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	compiled, err := policies.CompileRego(p)
	if err != nil {
		return nil, err
	}
	if len(scenarios) > 0 {
		ev, err := policies.NewEvaluator(ctx, compiled)
		if err != nil {
			return nil, err
		}
		for _, r := range scenario.Run(ctx, p, ev, scenarios, cov) {
			l := scenarioLine{Name: r.Scenario.Name, Location: fmt.Sprintf("%s:%d", r.Scenario.File, r.Scenario.Line),
				Passed: r.Passed(), Got: r.Got}
			if r.Passed() {
				rep.ScenariosPassed++
			} else {
				rep.ScenariosFailed++
				l.Message = r.String()
			}
			rep.Scenarios = append(rep.Scenarios, l)
		}
	}
	if cov != nil {
		c, err := cov.Report(compiled)
		if err != nil {
			return nil, err
		}
		rep.Coverage = &c
	}
	return rep, nil
}

func (rep *testReport) writeText(w io.Writer) {
	for _, l := range rep.Tests {
		switch l.Result {
		case "error":
			fmt.Fprintf(w, "ERROR %s.%s: %s\n", l.Package, l.Name, l.Error)
		case "fail":
			fmt.Fprintf(w, "FAIL  %s.%s (%s)\n", l.Package, l.Name, l.Location)
		case "skip":
			fmt.Fprintf(w, "SKIP  %s.%s (%s)\n", l.Package, l.Name, l.Location)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", rep.Passed, rep.Failed)
	if len(rep.Scenarios) > 0 {
		for _, l := range rep.Scenarios {
			if !l.Passed {
				fmt.Fprintf(w, "FAIL  %s\n", l.Message)
			}
		}
		fmt.Fprintf(w, "scenarios: %d passed, %d failed\n", rep.ScenariosPassed, rep.ScenariosFailed)
	}
	if c := rep.Coverage; c != nil {
		fmt.Fprintf(w, "coverage: %.1f%% (%d of %d lines)\n", c.Percent, c.CoveredLines, c.CoveredLines+c.NotCoveredLines)
		width := 0
		for _, f := range c.Files {
			width = max(width, len(f.File))
		}
		for _, f := range c.Files {
			if f.CoveredLines+f.NotCoveredLines == 0 {
				continue // data only: nothing that runs
			}
			line := fmt.Sprintf("  %-*s %5.1f%%", width, f.File, f.Percent)
			if len(f.Covered) > 0 {
				line += "  covered: " + lineRanges(f.Covered)
			}
			if len(f.NotCovered) > 0 {
				line += "  not covered: " + lineRanges(f.NotCovered)
			}
			fmt.Fprintln(w, line)
		}
		if rep.BelowMin {
			fmt.Fprintf(w, "coverage %.1f%% is below --min %g%%\n", c.Percent, *rep.Min)
		}
	}
}

// lineRanges writes line ranges as "3-4, 7".
func lineRanges(rs []policies.LineRange) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return strings.Join(out, ", ")
}

// cmdPolicyExplain shows one decision and why: the security test and its steps, the realms
// passed, the decision (the next step and its realms, a deny, a block) and the users' rules that
// denied or stepped up, for a request described by its resource and facts, by a recorded decision
// of the decision log, or (as before) by a test name and an input file. --trace adds OPA's trace.
func cmdPolicyExplain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy explain", stderr)
	dir := fs.String("config", "", "project directory")
	resource := fs.String("resource", "", "the request's resource: app:APP/ENV, procedure:ADAPTER.PROCEDURE, static:/URL/PATH or token:SCOPE")
	factsFile := fs.String("facts", "", "YAML or JSON file of the request's facts: app (id, env, version), passed, parameters, remoteDisable, deviceBlocked, user (userId, displayName, dn, groups, groupDNs, attributes)")
	appFlag := fs.String("app", "", "with --resource: the application context APP/ENV (WL-App-Id, WL-App-Environment)")
	version := fs.String("version", "", "with --resource: the application version (WL-App-Version)")
	decisionID := fs.String("decision", "", "explain the decision of this id from --log")
	logFile := fs.String("log", "", "decision log (JSON lines) holding --decision")
	test := fs.String("test", "", "security test to evaluate (with --input)")
	passed := fs.String("passed", "", "comma-separated realms the client has passed")
	inputFile := fs.String("input", "", "with --test: JSON file with more input (resource, request, app); test and passed from flags win")
	trace := fs.Bool("trace", false, "print OPA's trace of the evaluation")
	format := fs.String("format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "hostd policy explain: --format %q: use text or json\n", *format)
		return 2
	}
	modes := 0
	for _, s := range []string{*resource, *decisionID, *test} {
		if s != "" {
			modes++
		}
	}
	if *dir == "" || modes != 1 {
		fmt.Fprintln(stderr, "hostd policy explain: --config DIR and one of --resource KIND:NAME, --decision ID (with --log FILE) or --test NAME are required")
		return 2
	}
	if (*decisionID == "") != (*logFile == "") {
		fmt.Fprintln(stderr, "hostd policy explain: --decision ID and --log FILE go together")
		return 2
	}
	if (*appFlag != "" || *version != "") && *resource == "" {
		fmt.Fprintln(stderr, "hostd policy explain: --app and --version go with --resource")
		return 2
	}
	if *factsFile != "" && *resource == "" && *decisionID == "" {
		fmt.Fprintln(stderr, "hostd policy explain: --facts goes with --resource or --decision")
		return 2
	}
	if *inputFile != "" && *test == "" {
		fmt.Fprintln(stderr, "hostd policy explain: --input goes with --test")
		return 2
	}
	p, ev, err := daemon.LoadProject(ctx, *dir)
	if err != nil {
		printError(stderr, *dir, err)
		return 1
	}
	var req scenario.Request
	var header []string // what the request was, before the test's steps
	switch {
	case *resource != "":
		req, header, err = resourceRequest(p, *resource, *factsFile, *appFlag, *version, *passed)
	case *decisionID != "":
		var f *scenario.Facts
		if *factsFile != "" {
			if f, err = recordedFacts(*factsFile); err != nil {
				break
			}
		}
		req, header, err = loggedRequest(p, ev, *logFile, *decisionID, f)
	default:
		req, err = testRequest(p, *test, *inputFile, *passed)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hostd policy explain:", err)
		return 1
	}
	rep, err := explainRequest(ctx, p, ev, req, *trace)
	if err != nil {
		fmt.Fprintln(stderr, "hostd policy explain:", err)
		return 1
	}
	rep.Notes = header
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "hostd policy explain:", err)
			return 1
		}
		return 0
	}
	rep.writeText(stdout)
	return 0
}

// resourceRequest builds the request of --resource and --facts as the server and the engine
// would (scenario.Build); --app and --version set the application's, --passed adds realms to the
// facts'.
func resourceRequest(p *project.Project, resource, factsFile, app, version, passed string) (scenario.Request, []string, error) {
	r, err := scenario.ParseResource(resource)
	if err != nil {
		return scenario.Request{}, nil, fmt.Errorf("--resource: %w", err)
	}
	var f scenario.Facts
	if factsFile != "" {
		b, err := readBounded(factsFile, scenario.MaxFileBytes)
		if err != nil {
			return scenario.Request{}, nil, err
		}
		if f, err = scenario.ParseFacts(factsFile, b); err != nil {
			return scenario.Request{}, nil, err
		}
	}
	f.Passed = append(f.Passed, realmList(passed)...)
	if app != "" {
		id, env, ok := strings.Cut(app, "/")
		if !ok || id == "" || env == "" {
			return scenario.Request{}, nil, fmt.Errorf("--app %q: write APP/ENV", app)
		}
		f.App.ID, f.App.Env = id, env
	}
	if version != "" {
		f.App.Version = version
	}
	req, err := scenario.Build(p, r, f)
	if err != nil {
		return scenario.Request{}, nil, err
	}
	in := req.Input
	line := fmt.Sprintf("resource %s %s (%s %s)", in.Resource.Kind, in.Resource.Name, in.Request["method"], in.Request["path"])
	if in.App.ID != "" {
		line += fmt.Sprintf(", application %s/%s version %q", in.App.ID, in.App.Env, in.App.Version)
	}
	return req, []string{line}, nil
}

// recordedFacts reads the --facts of a recorded decision: what the daemon's decision lines lack,
// a procedure's parameters and the user; the rest is recorded.
func recordedFacts(file string) (*scenario.Facts, error) {
	b, err := readBounded(file, scenario.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	f, err := scenario.ParseFacts(file, b)
	if err != nil {
		return nil, err
	}
	if f.App != (scenario.App{}) || f.Passed != nil || f.RemoteDisable != "" || f.DeviceBlocked {
		return nil, fmt.Errorf("%s: with --decision, facts give only parameters and user: the rest is recorded", file)
	}
	return &f, nil
}

// testRequest is the request of --test and --input: an input file as the daemon would build it,
// the test and realms passed from the flags.
func testRequest(p *project.Project, test, inputFile, passed string) (scenario.Request, error) {
	t, ok := p.Tests[test]
	if !ok {
		names := append([]string(nil), p.TestOrder...)
		sort.Strings(names)
		return scenario.Request{}, fmt.Errorf("no security test %q (have: %s)", test, strings.Join(names, ", "))
	}
	var input policies.Input
	if inputFile != "" {
		b, err := readBounded(inputFile, scenario.MaxFileBytes)
		if err != nil {
			return scenario.Request{}, err
		}
		if err := decodeInput(b, &input); err != nil {
			return scenario.Request{}, fmt.Errorf("--input: %w", err)
		}
	}
	input.Test = t.Name
	input.Passed = realmList(passed)
	return scenario.Request{Test: t.Name, Input: input}, nil
}

// realmList reads a comma-separated list of realms, sorted.
func realmList(s string) []string {
	realms := []string{}
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			realms = append(realms, r)
		}
	}
	sort.Strings(realms)
	return realms
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// decodeInput decodes a policy input from JSON, as the daemon would build it: a member the input
// does not have is an error (no policy could ever read it in the daemon), and numbers keep their
// text, as a client's JSON parameters do.
func decodeInput(b []byte, in *policies.Input) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	d.UseNumber()
	if err := d.Decode(in); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}
