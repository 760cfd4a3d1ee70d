package engine

import (
	"slices"
	"strings"

	"github.com/realmgate/realmgate/project"
)

// TestView is how the admin API shows a security test: its effective realms and steps, and what
// it protects.
type TestView struct {
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	Predefined  bool       `json:"predefined,omitempty"`
	Source      string     `json:"source,omitempty"`
	Steps       [][]string `json:"steps"`
	UserRealm   string     `json:"userRealm,omitempty"`
	DeviceRealm string     `json:"deviceRealm,omitempty"`
	NotEnforced []string   `json:"notEnforced,omitempty"`
	Expansion   string     `json:"expansion,omitempty"`
	ProtectedBy []string   `json:"protects,omitempty"`
}

// SecurityTests describes every security test of the engine's project, in the order of the
// configuration.
func (e *Engine) SecurityTests() []TestView { return testViews(e.project) }

// testViews describes every security test of a project and what each protects.
func testViews(p *project.Project) []TestView {
	protects := map[string][]string{}
	for _, id := range sortedKeys(p.Apps) {
		app := p.Apps[id]
		for _, env := range sortedKeys(app.Envs) {
			t := app.Envs[env].SecurityTest
			protects[t] = append(protects[t], "app "+id+"/"+env)
		}
	}
	for _, name := range sortedKeys(p.Adapters) {
		a := p.Adapters[name]
		for _, pn := range a.ProcedureOrder {
			if t := a.Procedures[pn].SecurityTest; t != "" {
				protects[t] = append(protects[t], "procedure "+name+"."+pn)
			}
		}
	}
	for _, sr := range p.StaticResources {
		protects[sr.SecurityTest] = append(protects[sr.SecurityTest], "static "+sr.ID+" "+strings.Join(sr.URLPatterns, ";"))
	}
	out := make([]TestView, 0, len(p.TestOrder))
	for _, name := range p.TestOrder {
		t := p.Tests[name]
		v := TestView{
			Name: t.Name, Kind: t.Kind, Predefined: t.Predefined, Steps: t.Steps,
			UserRealm: t.UserRealm, DeviceRealm: t.DeviceRealm, NotEnforced: t.NotEnforced,
			Expansion: t.Expansion, ProtectedBy: protects[name],
		}
		if !t.Predefined {
			v.Source = t.Pos.String()
		}
		out = append(out, v)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
