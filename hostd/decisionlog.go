package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/policies/scenario"
	"github.com/realmgate/realmgate/project"
)

// maxLogLine bounds one line of a decision log: a record is a few hundred bytes; an input with a
// procedure's parameters, at most what the daemon accepts as a body.
const maxLogLine = 4 << 20

// loggedDecision is one record of a decision log, in either of the shapes the daemon writes: the
// slog line of the engine's DecisionRecord ("msg": "decision"), or an OPA-shaped record whose
// input is the policy input itself.
type loggedDecision struct {
	Time       string          `json:"time"`
	Timestamp  string          `json:"timestamp"`
	DecisionID string          `json:"decision_id"`
	App        string          `json:"app"`
	Env        string          `json:"env"`
	Version    string          `json:"version"`
	Kind       string          `json:"resource_kind"`
	Resource   string          `json:"resource"`
	Test       string          `json:"security_test"`
	Passed     []string        `json:"realms_passed"`
	Outcome    string          `json:"outcome"`
	Step       int             `json:"step"`
	Realms     []string        `json:"realms_challenged"`
	Reasons    []string        `json:"reasons"`
	Revision   string          `json:"revision"`
	Input      json.RawMessage `json:"input"`
}

// errNoDecision is returned when the log has no record of the id.
var errNoDecision = errors.New("no decision with this id in the log")

// findDecision reads a decision log (JSON lines; other lines are skipped) for the record of id.
func findDecision(r io.Reader, id string) (*loggedDecision, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	needle := []byte(`"` + id + `"`)
	for {
		line, err := readLine(br)
		if len(line) > 0 && bytes.Contains(line, needle) {
			var d loggedDecision
			if json.Unmarshal(line, &d) == nil && d.DecisionID == id {
				return &d, nil
			}
		}
		if err == io.EOF {
			return nil, fmt.Errorf("%w: %s", errNoDecision, id)
		}
		if err != nil {
			return nil, err
		}
	}
}

// readLine reads one line, refusing one longer than maxLogLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLogLine {
			return nil, fmt.Errorf("a line of the log is longer than %d bytes", maxLogLine)
		}
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// loggedRequest rebuilds the request of a recorded decision: the policy input itself when the
// record holds it, or else the input the engine built from the record's test, realms passed,
// application and resource. Such a record does not hold the request's facts (a procedure's
// parameters) nor the user's identity (input.user: the log keeps no groups or attributes), so the
// rebuilt input has them only from facts (--facts: parameters, user), and the header says what it
// lacks.
func loggedRequest(p *project.Project, ev *policies.Evaluator, logFile, id string, facts *scenario.Facts) (scenario.Request, []string, error) {
	f, err := os.Open(logFile)
	if err != nil {
		return scenario.Request{}, nil, err
	}
	defer f.Close()
	d, err := findDecision(f, id)
	if err != nil {
		return scenario.Request{}, nil, err
	}
	header := []string{"recorded decision " + d.DecisionID + " at " + cmpOr(d.Time, d.Timestamp)}
	if d.Outcome != "" {
		header = append(header, "  recorded: "+recordedOutcome(d))
	}
	if d.Revision != "" && d.Revision != ev.Revision() {
		header = append(header, fmt.Sprintf("  by policy revision %s; the policies are now %s: below is today's decision", d.Revision, ev.Revision()))
	}
	var req scenario.Request
	if len(d.Input) > 0 && string(d.Input) != "null" {
		if facts != nil {
			return scenario.Request{}, nil, errors.New("the record holds its input: --facts is for the daemon's decision lines, which lack parameters and the user")
		}
		dec := json.NewDecoder(bytes.NewReader(d.Input))
		dec.UseNumber()
		if err := dec.Decode(&req.Input); err != nil {
			return scenario.Request{}, nil, fmt.Errorf("the record's input: %w", err)
		}
		req.Test = req.Input.Test
	} else {
		var f scenario.Facts
		if facts != nil {
			f = *facts
		}
		if req, err = rebuildInput(p, d, f); err != nil {
			return scenario.Request{}, nil, err
		}
		if f.Parameters == nil {
			header = append(header, "  the record holds no request facts (procedure parameters): rules that read input.request see none")
		}
		if t := p.Tests[req.Test]; f.User == nil && t != nil && t.UserRealm != "" && slices.Contains(req.Input.Passed, t.UserRealm) {
			header = append(header, "  the record holds no user identity: rules that read input.user see null (--facts gives one: user)")
		}
	}
	if _, ok := p.Tests[req.Test]; !ok {
		return scenario.Request{}, nil, fmt.Errorf("the recorded security test %q is not in the project", req.Test)
	}
	return req, header, nil
}

// rebuildInput builds the input of a DecisionRecord as the engine did: the resource and request
// facts through scenario.Build, the test and realms passed as recorded; a procedure's parameters
// and the user from given, when it has them.
func rebuildInput(p *project.Project, d *loggedDecision, given scenario.Facts) (scenario.Request, error) {
	facts := scenario.Facts{App: scenario.App{ID: d.App, Env: d.Env, Version: d.Version}, Parameters: given.Parameters}
	var req scenario.Request
	if d.Kind == scenario.KindStatic {
		// The record names the static resource, not the URL that reached it.
		req.Input = policies.Input{
			App:      policies.App{ID: d.App, Env: d.Env, Version: d.Version},
			Resource: policies.Resource{Kind: d.Kind, Name: d.Resource, Attributes: map[string]any{"path": "", "resource": d.Resource}},
			Request:  map[string]any{"method": "GET", "path": ""},
		}
	} else {
		var err error
		if req, err = scenario.Build(p, scenario.Resource{Kind: d.Kind, Name: d.Resource}, facts); err != nil {
			return scenario.Request{}, fmt.Errorf("the recorded resource: %w", err)
		}
	}
	passed := d.Passed
	if passed == nil {
		passed = []string{}
	}
	req.Test, req.Unprotected, req.Blocked = d.Test, false, ""
	req.Input.Test, req.Input.Passed = d.Test, passed
	if given.User != nil {
		user, err := given.User.Input(p, d.Test, passed)
		if err != nil {
			return scenario.Request{}, err
		}
		req.Input.User = user
	}
	return req, nil
}

func recordedOutcome(d *loggedDecision) string {
	switch d.Outcome {
	case policies.Challenge:
		return fmt.Sprintf("challenge step %d: %s", d.Step, strings.Join(d.Realms, ", "))
	case policies.Deny:
		return "deny: " + strings.Join(d.Reasons, "; ")
	}
	return d.Outcome
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
