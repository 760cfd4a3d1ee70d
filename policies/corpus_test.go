package policies

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/project"
)

// corpusDir and corpusProjects: the corpus of real Worklight projects (package corpustest).
var corpusDir = corpustest.Dir

func corpusProjects(t *testing.T) []string { return corpustest.Projects(t) }

// TestCorpusCompiles compiles every project the loader accepts and asks each application
// environment's security test for a decision with nothing passed: it must challenge step 1, since
// every test starts with a realm a new session has not passed.
func TestCorpusCompiles(t *testing.T) {
	names := corpusProjects(t)
	ctx := context.Background()
	for _, name := range names {
		p, err := project.Load(filepath.Join(corpusDir, name), project.LoadOptions{})
		if err != nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			mods, err := CompileRego(p)
			if err != nil {
				t.Fatal(err)
			}
			checkFormatted(t, mods)
			ev, err := NewEvaluator(ctx, mods)
			if err != nil {
				t.Fatal(err)
			}
			for _, test := range p.TestOrder {
				tt := p.Tests[test]
				d, err := ev.Decide(ctx, Input{Test: test, Passed: []string{}})
				if err != nil {
					t.Fatalf("test %s: %v", test, err)
				}
				if len(tt.Steps) == 0 {
					if d.Outcome != Allow {
						t.Errorf("test %s has no enforced realm, decision = %+v", test, d)
					}
					continue
				}
				want := Decision{Outcome: Challenge, Step: 1, Steps: len(tt.Steps), Realms: sortedCopy(tt.Steps[0])}
				if !decisionEqual(want, d) {
					t.Errorf("test %s: decision = %+v, want %+v", test, d, want)
				}
				// Passing every realm allows.
				var all []string
				for _, s := range tt.Steps {
					all = append(all, s...)
				}
				d, err = ev.Decide(ctx, Input{Test: test, Passed: sortedCopy(all)})
				if err != nil || d.Outcome != Allow {
					t.Errorf("test %s with every realm passed: %+v, %v", test, d, err)
				}
			}
		})
	}
}
