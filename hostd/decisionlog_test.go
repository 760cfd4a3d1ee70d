package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestFindDecision: the record of an id is found among other log lines, whatever they are; a
// line longer than the bound is refused rather than read whole.
func TestFindDecision(t *testing.T) {
	log := `not json
{"level":"INFO","msg":"decision","decision_id":"a","security_test":"webTests","realms_passed":["x"]}
{"msg":"request","note":"mentions \"b\" but is not its record"}
{"decision_id":"b","input":{"test":"t"}}
`
	d, err := findDecision(strings.NewReader(log), "a")
	if err != nil || d.Test != "webTests" || len(d.Passed) != 1 {
		t.Errorf("a: %+v, %v", d, err)
	}
	d, err = findDecision(strings.NewReader(log), "b")
	if err != nil || string(d.Input) != `{"test":"t"}` {
		t.Errorf("b: %+v, %v", d, err)
	}
	if _, err := findDecision(strings.NewReader(log), "c"); !errors.Is(err, errNoDecision) {
		t.Errorf("c: %v, want errNoDecision", err)
	}
	long := strings.Repeat("x", maxLogLine+10) + "\n" + `{"decision_id":"a"}` + "\n"
	if _, err := findDecision(strings.NewReader(long), "a"); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("long line: %v", err)
	}
}

// FuzzFindDecision: no log makes the reader panic, and a record it returns has the id asked for.
func FuzzFindDecision(f *testing.F) {
	f.Add([]byte(`{"decision_id":"a","realms_passed":["x"]}`+"\n"), "a")
	f.Add([]byte("x\n{\"decision_id\":\"a\",\"input\":null}"), "a")
	f.Add([]byte(`{"decision_id":"a\u0022"}`), `a"`)
	f.Fuzz(func(t *testing.T, log []byte, id string) {
		d, err := findDecision(bytes.NewReader(log), id)
		if err == nil && d.DecisionID != id {
			t.Errorf("asked for %q, got the record of %q", id, d.DecisionID)
		}
	})
}
