package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Suffix ends the name of a scenario file in a project's policies/ folder.
const Suffix = ".scenario.yaml"

// MaxFileBytes bounds a scenario file: scenarios are short, and a file is read whole.
const MaxFileBytes = 1 << 20

// Scenario is one request and the decision it must get.
type Scenario struct {
	// File and Line locate the scenario (its "- name:" entry).
	File string
	Line int
	Name string
	// Resource is what the request reaches.
	Resource Resource
	Facts    Facts
	Expect   Expect
	// ExpectLine is the line of expect.
	ExpectLine int
}

// Resource kinds, as the policy input names them (input.resource.kind).
const (
	KindApp       = "app"
	KindProcedure = "procedure"
	KindStatic    = "static"
	KindToken     = "token"
)

// Resource names a resource as a client reaches it: an application environment ("BankApp/android",
// its init), an adapter procedure ("Accounts.payBill"), a static URL path ("/statements/a.pdf") or
// a token scope (a security test's name; "" for the application environment's own test).
type Resource struct {
	Kind string
	Name string
}

func (r Resource) String() string { return r.Kind + ":" + r.Name }

// ParseResource reads "KIND:NAME" (app:BankApp/android, procedure:Accounts.payBill,
// static:/statements/a.pdf, token:transferTests).
func ParseResource(s string) (Resource, error) {
	kind, name, ok := strings.Cut(s, ":")
	r := Resource{Kind: kind, Name: name}
	if !ok {
		return r, fmt.Errorf("resource %q: write KIND:NAME, KIND one of %s", s, strings.Join(kinds, ", "))
	}
	return r, r.check()
}

var kinds = []string{KindApp, KindProcedure, KindStatic, KindToken}

func (r Resource) check() error {
	switch r.Kind {
	case KindApp:
		if a, e, ok := strings.Cut(r.Name, "/"); !ok || a == "" || e == "" {
			return fmt.Errorf("app resource %q: write APP/ENVIRONMENT", r.Name)
		}
	case KindProcedure:
		if a, p, ok := strings.Cut(r.Name, "."); !ok || a == "" || p == "" {
			return fmt.Errorf("procedure resource %q: write ADAPTER.PROCEDURE", r.Name)
		}
	case KindStatic:
		if !strings.HasPrefix(r.Name, "/") {
			return fmt.Errorf("static resource %q: write the URL path, from its first /", r.Name)
		}
	case KindToken:
	default:
		return fmt.Errorf("resource kind %q: use one of %s", r.Kind, strings.Join(kinds, ", "))
	}
	return nil
}

// Facts are what the request and its session hold, as far as the engine reads them.
type Facts struct {
	// App is the client's application context: WL-App-Id, WL-App-Environment and
	// WL-App-Version (input.app).
	App App
	// Passed are the realms the session has passed (input.passed).
	Passed []string
	// Parameters are a procedure call's parameters (input.request.parameters), JSON-shaped as the
	// server decodes them: numbers are json.Number.
	Parameters []any
	// RemoteDisable is what the application's remote-disable rules say of the app version:
	// "" (nothing), "notify" or "block". It matters to tests that hold wl_remoteDisableRealm.
	RemoteDisable string
	// DeviceBlocked is true when an administrator blocked the device; it matters to tests with a
	// device realm the session has passed.
	DeviceBlocked bool
	// User is the identity the login of the test's user realm recorded (input.user); nil leaves
	// input.user null. It needs the user realm among Passed.
	User *User
}

// App is the application context of a request.
type App struct {
	ID, Env, Version string
}

// Decisions a scenario can expect: the policy outcomes, and Blocked for a request the engine
// refuses before any policy (a remote-disable block, a blocked device).
const (
	Allow     = "allow"
	Challenge = "challenge"
	Deny      = "deny"
	Blocked   = "blocked"
)

var decisions = []string{Allow, Challenge, Deny, Blocked}

// Expect is the decision a scenario must get. Step, Realms and Reason are checked when given.
type Expect struct {
	Decision string   `json:"decision"`
	Step     int      `json:"step,omitempty"`
	Realms   []string `json:"realms,omitempty"`
	// Reason must be one of the reasons of a deny, or the message of a block.
	Reason string `json:"reason,omitempty"`
}

// Error is a problem of a scenario file, at a line of it.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// LoadDir reads the scenario files of a project: DIR/policies/*.scenario.yaml, in name order.
// A project without them has no scenarios.
func LoadDir(dir string) ([]*Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "policies", "*"+Suffix))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Scenario
	for _, f := range files {
		ss, err := LoadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
	return out, nil
}

// LoadFile reads one scenario file.
func LoadFile(path string) ([]*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes", MaxFileBytes)}
	}
	return Parse(path, data)
}

// Parse reads a scenario file: a YAML list of scenarios (see docs/policy.md). Every problem is an
// *Error with the file and line it is at; a member the schema does not have is one, so a typo
// never turns into a scenario that checks less than its author meant.
func Parse(file string, data []byte) ([]*Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: file, Line: 1, Msg: "no scenarios: write a list of them"}
	}
	p := parser{file: file}
	root := doc.Content[0]
	if root.Kind != yaml.SequenceNode {
		return nil, p.errorf(root, "the file must be a list of scenarios (- name: ...)")
	}
	var out []*Scenario
	names := map[string]int{}
	for _, n := range root.Content {
		s, err := p.scenario(n)
		if err != nil {
			return nil, err
		}
		if line, dup := names[s.Name]; dup {
			return nil, p.errorf(n, "scenario %q is already at line %d", s.Name, line)
		}
		names[s.Name] = s.Line
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, p.errorf(root, "no scenarios: write a list of them")
	}
	return out, nil
}

// ParseFacts reads the facts of one request from YAML or JSON: a mapping with a scenario's
// members app, passed, parameters, remoteDisable, deviceBlocked and user (`hostd policy explain
// --facts`).
func ParseFacts(file string, data []byte) (Facts, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Facts{}, yamlError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return Facts{}, nil
	}
	p := parser{file: file}
	n := doc.Content[0]
	m, err := p.mapping(n, factKeys)
	if err != nil {
		return Facts{}, err
	}
	return p.facts(m)
}

var factKeys = []string{"app", "passed", "parameters", "remoteDisable", "deviceBlocked", "user"}

type parser struct{ file string }

func (p *parser) errorf(n *yaml.Node, format string, args ...any) error {
	return &Error{File: p.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

// mapping returns a mapping node's values by key, refusing keys not in allowed and repeated keys.
func (p *parser) mapping(n *yaml.Node, allowed []string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "want a mapping with %s", strings.Join(allowed, ", "))
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !slices.Contains(allowed, k.Value) {
			return nil, p.errorf(k, "unknown member %q: use %s", k.Value, strings.Join(allowed, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, p.errorf(k, "member %q is given twice", k.Value)
		}
		out[k.Value] = v
	}
	return out, nil
}

var scenarioKeys = append([]string{"name", "resource", "expect"}, factKeys...)

func (p *parser) scenario(n *yaml.Node) (*Scenario, error) {
	m, err := p.mapping(n, scenarioKeys)
	if err != nil {
		return nil, err
	}
	s := &Scenario{File: p.file, Line: n.Line}
	if s.Name, err = p.requiredString(n, m, "name"); err != nil {
		return nil, err
	}
	rn, ok := m["resource"]
	if !ok {
		return nil, p.errorf(n, "scenario %q has no resource", s.Name)
	}
	if s.Resource, err = p.resource(rn); err != nil {
		return nil, err
	}
	if s.Facts, err = p.facts(m); err != nil {
		return nil, err
	}
	en, ok := m["expect"]
	if !ok {
		return nil, p.errorf(n, "scenario %q has no expect", s.Name)
	}
	if s.Expect, err = p.expect(en); err != nil {
		return nil, err
	}
	s.ExpectLine = en.Line
	return s, nil
}

func (p *parser) resource(n *yaml.Node) (Resource, error) {
	m, err := p.mapping(n, kinds)
	if err != nil {
		return Resource{}, err
	}
	if len(m) != 1 {
		return Resource{}, p.errorf(n, "name one resource: one of %s", strings.Join(kinds, ", "))
	}
	var r Resource
	for k, v := range m {
		name, err := p.scalar(v, k)
		if err != nil {
			return Resource{}, err
		}
		r = Resource{Kind: k, Name: name}
		if err := r.check(); err != nil {
			return Resource{}, p.errorf(v, "%v", err)
		}
	}
	return r, nil
}

func (p *parser) facts(m map[string]*yaml.Node) (Facts, error) {
	var f Facts
	if n, ok := m["app"]; ok {
		am, err := p.mapping(n, []string{"id", "env", "version"})
		if err != nil {
			return f, err
		}
		for k, dst := range map[string]*string{"id": &f.App.ID, "env": &f.App.Env, "version": &f.App.Version} {
			if v, ok := am[k]; ok {
				if *dst, err = p.scalar(v, "app."+k); err != nil {
					return f, err
				}
			}
		}
	}
	if n, ok := m["passed"]; ok {
		var err error
		if f.Passed, err = p.strings(n, "passed"); err != nil {
			return f, err
		}
	}
	if n, ok := m["parameters"]; ok {
		params, err := p.parameters(n)
		if err != nil {
			return f, err
		}
		f.Parameters = params
	}
	if n, ok := m["remoteDisable"]; ok {
		v, err := p.scalar(n, "remoteDisable")
		if err != nil {
			return f, err
		}
		if v != "notify" && v != "block" {
			return f, p.errorf(n, "remoteDisable %q: use notify or block", v)
		}
		f.RemoteDisable = v
	}
	if n, ok := m["deviceBlocked"]; ok {
		v, err := p.scalar(n, "deviceBlocked")
		if err != nil {
			return f, err
		}
		b, err := strconv.ParseBool(v)
		if err != nil || n.Tag != "!!bool" {
			return f, p.errorf(n, "deviceBlocked %q: use true or false", v)
		}
		f.DeviceBlocked = b
	}
	if n, ok := m["user"]; ok {
		u, err := p.user(n)
		if err != nil {
			return f, err
		}
		f.User = u
	}
	return f, nil
}

// parameters converts a YAML list to the value the server decodes from a procedure call's JSON
// body (numbers as json.Number), through its JSON form.
func (p *parser) parameters(n *yaml.Node) ([]any, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errorf(n, "parameters: want a list, as a procedure call's JSON body has")
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, p.errorf(n, "parameters: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, p.errorf(n, "parameters: not JSON: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out []any
	if err := d.Decode(&out); err != nil {
		return nil, p.errorf(n, "parameters: %v", err)
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

func (p *parser) expect(n *yaml.Node) (Expect, error) {
	m, err := p.mapping(n, []string{"decision", "step", "realms", "reason"})
	if err != nil {
		return Expect{}, err
	}
	var e Expect
	if e.Decision, err = p.requiredString(n, m, "decision"); err != nil {
		return Expect{}, err
	}
	if !slices.Contains(decisions, e.Decision) {
		return Expect{}, p.errorf(m["decision"], "decision %q: use one of %s", e.Decision, strings.Join(decisions, ", "))
	}
	if v, ok := m["step"]; ok {
		s, err := p.scalar(v, "step")
		if err != nil {
			return Expect{}, err
		}
		if e.Step, err = strconv.Atoi(s); err != nil || e.Step < 1 || v.Tag != "!!int" {
			return Expect{}, p.errorf(v, "step %q: use a step number, from 1", s)
		}
	}
	if v, ok := m["realms"]; ok {
		if e.Realms, err = p.strings(v, "realms"); err != nil {
			return Expect{}, err
		}
		if len(e.Realms) == 0 {
			return Expect{}, p.errorf(v, "realms: name the realms to challenge, or leave realms out")
		}
	}
	if v, ok := m["reason"]; ok {
		if e.Reason, err = p.scalar(v, "reason"); err != nil {
			return Expect{}, err
		}
	}
	switch {
	case (e.Step != 0 || e.Realms != nil) && e.Decision != Challenge:
		return Expect{}, p.errorf(n, "step and realms are those of a challenge, not of %s", e.Decision)
	case e.Reason != "" && e.Decision != Deny && e.Decision != Blocked:
		return Expect{}, p.errorf(n, "reason is that of a deny or a block, not of %s", e.Decision)
	}
	return e, nil
}

func (p *parser) requiredString(parent *yaml.Node, m map[string]*yaml.Node, key string) (string, error) {
	n, ok := m[key]
	if !ok {
		return "", p.errorf(parent, "%s is missing", key)
	}
	s, err := p.scalar(n, key)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", p.errorf(n, "%s is empty", key)
	}
	return s, nil
}

// scalar returns a scalar's text: version: 2.1 is the string "2.1", as a header carries it.
func (p *parser) scalar(n *yaml.Node, what string) (string, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errorf(n, "%s: want a single value", what)
	}
	return n.Value, nil
}

// strings reads a list of names, sorted and without repeats.
func (p *parser) strings(n *yaml.Node, what string) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errorf(n, "%s: want a list of realm names", what)
	}
	out := []string{}
	for _, e := range n.Content {
		s, err := p.scalar(e, what)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, p.errorf(e, "%s: an empty realm name", what)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into an *Error at that line.
func yamlError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		n, after, found := strings.Cut(rest, ": ")
		if l, err := strconv.Atoi(n); err == nil && found {
			line, msg = l, after
		}
	}
	return &Error{File: file, Line: line, Msg: msg}
}
