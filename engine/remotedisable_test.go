package engine

import (
	"fmt"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/store"
)

func ruleFor(t testing.TB, versions string) *compiledRule {
	t.Helper()
	if err := ValidateRule(store.Rule{Versions: versions, Action: "block", Message: "m"}); err != nil {
		t.Fatalf("rule %q: %v", versions, err)
	}
	return &compileRules([]store.Rule{{Versions: versions, Action: "block", Message: "m"}})[0]
}

// TestRemoteDisableVersionMatching: a pre-release belongs to the release it prepares, build
// metadata never matters, and a version that does not parse falls under every rule.
func TestRemoteDisableVersionMatching(t *testing.T) {
	for _, tc := range []struct {
		versions string
		in, out  []string
	}{
		{"<3.0.0",
			[]string{"2.1.0", "2.1.0-rc", "1.0.0-0", "2.9.9-beta+x", "2.9.9+build", "0.0.0-0", "v2", "2.1", "garbage", "", "1.2.3.4", "99999999999999999999.0.0"},
			[]string{"3.0.0", "3.0.0-0", "3.0.0-rc.1", "3.0.0+x", "3.0.1-beta", "4.0.0-0"}},
		{">=2.1.0 <2.2.0",
			[]string{"2.1.0", "2.1.0-0", "2.1.0-rc", "2.1.5-beta", "2.1.9"},
			[]string{"2.0.9", "2.0.9-rc", "2.2.0-0", "2.2.0-rc", "2.2.0"}},
		{"<=2.1.0",
			[]string{"2.1.0", "2.1.0-rc", "2.0.0-beta"},
			[]string{"2.1.1-0", "2.1.1"}},
		{">2.1.0",
			[]string{"2.1.1-0", "2.1.1", "3.0.0-rc"},
			[]string{"2.1.0", "2.1.0-rc", "2.0.0"}},
		{"=2.1.0",
			[]string{"2.1.0", "2.1.0-rc", "2.1.0+b"},
			[]string{"2.1.1", "2.1.1-rc", "2.0.9"}},
		{"!=2.1.0",
			[]string{"2.1.1", "2.1.1-rc", "2.0.9-rc"},
			[]string{"2.1.0", "2.1.0-rc"}},
		{"~2.1",
			[]string{"2.1.0", "2.1.0-beta", "2.1.7-rc"},
			[]string{"2.2.0-rc", "2.0.9-rc", "2.2.0"}},
		{"^1.2.0",
			[]string{"1.2.0-rc", "1.9.9-beta", "1.2.0"},
			[]string{"2.0.0-rc", "1.1.9-rc", "2.0.0"}},
		{"1.x || >=4.0.0",
			[]string{"1.0.0-0", "1.9.0-rc", "4.0.0-rc", "5.0.0"},
			[]string{"2.0.0-rc", "3.9.9-beta", "3.0.0"}},
		// A constraint that names a pre-release compares pre-releases by precedence as well.
		{"<3.0.0-beta",
			[]string{"3.0.0-alpha", "2.9.0", "2.9.0-rc"},
			[]string{"3.0.0-beta", "3.0.0-rc", "3.0.0"}},
		{"", // no constraint: every version
			[]string{"1.0.0", "1.0.0-rc", "garbage"},
			nil},
	} {
		r := ruleFor(t, tc.versions)
		got := map[string]bool{}
		want := map[string]bool{}
		for _, v := range tc.in {
			want[v], got[v] = true, r.matches(parseVersion(v))
		}
		for _, v := range tc.out {
			want[v], got[v] = false, r.matches(parseVersion(v))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rule %q (-want +got):\n%s", tc.versions, diff)
		}
		// appliesTo, memoized by the version as sent, answers the same, the first time and after.
		for range 2 {
			for v, w := range want {
				if applies := r.appliesTo(v); applies != w {
					t.Errorf("rule %q: appliesTo(%q) = %v, want %v", tc.versions, v, applies, w)
				}
			}
		}
	}
}

// FuzzRemoteDisableVersion checks the rule's properties for any version string: a version that
// does not parse matches; a release matches as the semver library says; a pre-release of a
// release matches whenever its release does, and, under a constraint without pre-releases,
// only then.
func FuzzRemoteDisableVersion(f *testing.F) {
	for _, v := range []string{"2.1.0", "2.1.0-rc", "1.0.0-0", "2.9.9-beta+x", "3.0.0-rc.1", "v2", "x", "", "2.1.0-rc.1+9"} {
		f.Add(v)
	}
	constraints := []string{"<3.0.0", ">=2.1.0 <2.2.0", "<=2.1.0", ">2.1.0", "=2.1.0", "!=2.1.0", "~2.1", "^1.2.0", "1.x || >=4.0.0", "<3.0.0-beta"}
	rules := make([]*compiledRule, len(constraints))
	for i, c := range constraints {
		rules[i] = ruleFor(f, c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := parseVersion(s)
		for i, r := range rules {
			got := r.matches(v)
			for range 2 { // computed, then from the memo
				if r.appliesTo(s) != got {
					t.Fatalf("%q vs %q: appliesTo differs from matches (%v)", s, constraints[i], got)
				}
			}
			switch {
			case v == nil:
				if !got {
					t.Fatalf("%q does not parse, yet escapes %q", s, constraints[i])
				}
			case v.Prerelease() == "":
				if got != r.constraint.Check(v) {
					t.Fatalf("release %q vs %q: %v, the semver library says %v", s, constraints[i], got, !got)
				}
			default:
				release := semver.New(v.Major(), v.Minor(), v.Patch(), "", "")
				if r.constraint.Check(release) && !got {
					t.Fatalf("%q escapes %q, which holds its release %s", s, constraints[i], release)
				}
				if constraints[i] != "<3.0.0-beta" && got != r.constraint.Check(release) {
					t.Fatalf("%q vs %q: %v, its release %s: %v", s, constraints[i], got, release, !got)
				}
			}
		}
	})
}

// TestVersionMemoBounded: a client sending ever new versions does not grow a rule's memo past its
// bound, and every answer stays right.
func TestVersionMemoBounded(t *testing.T) {
	r := ruleFor(t, "<3.0.0")
	for i := range 3 * versionMemoLimit {
		v := fmt.Sprintf("%d.0.%d", i%5, i)
		if got, want := r.appliesTo(v), i%5 < 3; got != want {
			t.Fatalf("appliesTo(%q) = %v, want %v", v, got, want)
		}
		if n := len(r.versions.m); n > versionMemoLimit {
			t.Fatalf("the memo holds %d versions, more than %d", n, versionMemoLimit)
		}
	}
}
