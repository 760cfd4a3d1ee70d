package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/store"
)

func TestPreviewRules(t *testing.T) {
	t.Parallel()
	versions := []string{"1.0.0", "1.9.9-rc1", "2.0.0", "2.1.0", "not-a-version"}
	cases := []struct {
		name  string
		rules []store.Rule
		want  []string // action per version
	}{
		{"none", nil, []string{"allow", "allow", "allow", "allow", "allow"}},
		{"block old", []store.Rule{{Versions: "<2.0.0", Action: "block", Message: "update"}},
			[]string{"block", "block", "allow", "allow", "block"}},
		{"notify then block: block wins", []store.Rule{
			{Versions: "<3.0.0", Action: "notify", Message: "soon"},
			{Versions: "<2.0.0", Action: "block", Message: "update"},
		}, []string{"block", "block", "notify", "notify", "block"}},
		{"every version", []store.Rule{{Action: "notify", Message: "maintenance"}},
			[]string{"notify", "notify", "notify", "notify", "notify"}},
		{"exact version", []store.Rule{{Versions: "=2.1.0", Action: "block", Message: "broken build"}},
			[]string{"allow", "allow", "allow", "block", "block"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := PreviewRules(c.rules, versions)
			if err != nil {
				t.Fatal(err)
			}
			actions := make([]string, len(got))
			for i, p := range got {
				actions[i] = p.Action
				if (p.Rule < 0) != (p.Action == "allow") {
					t.Errorf("%s: rule %d for action %s", p.Version, p.Rule, p.Action)
				}
			}
			if diff := cmp.Diff(c.want, actions); diff != "" {
				t.Errorf("actions for %v (-want +got):\n%s", versions, diff)
			}
		})
	}
}

func TestPreviewRulesRefusesInvalid(t *testing.T) {
	t.Parallel()
	_, err := PreviewRules([]store.Rule{{Versions: "<2", Action: "block", Message: "m"}, {Versions: "<<<", Action: "block", Message: "m"}}, []string{"1.0.0"})
	if CodeOf(err) != CodeBadRequest || err.(*Error).Message[:6] != "rule 2" {
		t.Fatalf("got %v, want a bad request naming rule 2", err)
	}
}
