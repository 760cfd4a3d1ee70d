package scenario

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParse: a scenario file reads into scenarios with their lines; numbers of parameters are
// json.Number, as the server decodes a procedure call; a version written as a YAML number is its
// text; realms are sorted without repeats.
func TestParse(t *testing.T) {
	src := `# comment
- name: large payment
  resource: {procedure: Accounts.payBill}
  app: {id: BankApp, env: android, version: 2.1}
  passed: [BankLogin, wl_antiXSRFRealm, BankLogin]
  parameters: [{amount: 5000, to: "x"}, 12.5, [true, null]]
  expect:
    decision: challenge
    step: 2
    realms: [PinRealm]

- name: blocked
  resource: {app: BankApp/android}
  remoteDisable: block
  deviceBlocked: true
  expect: {decision: blocked, reason: "gone"}

- name: a teller
  resource: {procedure: Teller.refund}
  user:
    userId: alice
    displayName: Alice Teller
    dn: uid=alice,ou=people,dc=example,dc=com
    groups: [tellers, auditors]
    groupDNs: []
    attributes:
      mail: [alice@example.com, a@example.com]
  expect: {decision: allow}
`
	got, err := Parse("a.scenario.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []*Scenario{
		{
			File: "a.scenario.yaml", Line: 2, Name: "large payment",
			Resource: Resource{Kind: KindProcedure, Name: "Accounts.payBill"},
			Facts: Facts{
				App:    App{ID: "BankApp", Env: "android", Version: "2.1"},
				Passed: []string{"BankLogin", "wl_antiXSRFRealm"},
				Parameters: []any{
					map[string]any{"amount": json.Number("5000"), "to": "x"},
					json.Number("12.5"),
					[]any{true, nil},
				},
			},
			Expect:     Expect{Decision: Challenge, Step: 2, Realms: []string{"PinRealm"}},
			ExpectLine: 8,
		},
		{
			File: "a.scenario.yaml", Line: 12, Name: "blocked",
			Resource:   Resource{Kind: KindApp, Name: "BankApp/android"},
			Facts:      Facts{RemoteDisable: "block", DeviceBlocked: true},
			Expect:     Expect{Decision: Blocked, Reason: "gone"},
			ExpectLine: 16,
		},
		{
			File: "a.scenario.yaml", Line: 18, Name: "a teller",
			Resource: Resource{Kind: KindProcedure, Name: "Teller.refund"},
			Facts: Facts{User: &User{ID: "alice", DisplayName: "Alice Teller", DN: "uid=alice,ou=people,dc=example,dc=com",
				Groups: []string{"tellers", "auditors"}, GroupDNs: []string{},
				Attributes: map[string][]string{"mail": {"alice@example.com", "a@example.com"}}}},
			Expect:     Expect{Decision: Allow},
			ExpectLine: 28,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

// TestParseErrors: every problem of a scenario file is an *Error at the line it is on, and says
// what to write instead.
func TestParseErrors(t *testing.T) {
	const ok = "  resource: {app: A/e}\n  expect: {decision: allow}\n"
	cases := []struct {
		name, src, want string
	}{
		{"empty", "", "f.yaml:1: no scenarios: write a list of them"},
		{"empty list", "[]", "f.yaml:1: no scenarios: write a list of them"},
		{"not a list", "name: x\n", "f.yaml:1: the file must be a list of scenarios (- name: ...)"},
		{"not YAML", "- name: [x\n", "f.yaml:1: did not find expected ',' or ']'"},
		{"unknown member", "- name: x\n" + ok + "  session: {name: alice}\n", `f.yaml:4: unknown member "session": use name, resource, expect, app, passed, parameters, remoteDisable, deviceBlocked, user`},
		{"user member", "- name: x\n" + ok + "  user: {id: alice}\n", `f.yaml:4: unknown member "id": use userId, displayName, dn, groups, groupDNs, attributes`},
		{"user without id", "- name: x\n" + ok + "  user: {groups: [a]}\n", "f.yaml:4: userId is missing"},
		{"empty user id", "- name: x\n" + ok + "  user: {userId: ''}\n", "f.yaml:4: userId is empty"},
		{"user not a mapping", "- name: x\n" + ok + "  user: alice\n", "f.yaml:4: want a mapping with userId, displayName, dn, groups, groupDNs, attributes"},
		{"groups not a list", "- name: x\n" + ok + "  user: {userId: a, groups: tellers}\n", "f.yaml:4: user.groups: want a list (write [] for none)"},
		{"group of mappings", "- name: x\n" + ok + "  user:\n    userId: a\n    groups: [{cn: x}]\n", "f.yaml:6: user.groups: want a single value"},
		{"attributes not a mapping", "- name: x\n" + ok + "  user: {userId: a, attributes: [mail]}\n", "f.yaml:4: user.attributes: want a mapping of attribute names to lists of values"},
		{"attribute value not a list", "- name: x\n" + ok + "  user:\n    userId: a\n    attributes: {mail: a@example.com}\n", "f.yaml:6: user.attributes.mail: want a list (write [] for none)"},
		{"attribute twice", "- name: x\n" + ok + "  user:\n    userId: a\n    attributes:\n      mail: []\n      mail: []\n", `f.yaml:8: attribute "mail" is given twice`},
		{"member twice", "- name: x\n  name: y\n" + ok, `f.yaml:2: member "name" is given twice`},
		{"no name", "-" + ok[1:], "f.yaml:1: name is missing"},
		{"empty name", "- name: ''\n" + ok, "f.yaml:1: name is empty"},
		{"same name", "- name: x\n" + ok + "- name: x\n" + ok, `f.yaml:4: scenario "x" is already at line 1`},
		{"no resource", "- name: x\n  expect: {decision: allow}\n", `f.yaml:1: scenario "x" has no resource`},
		{"two resources", "- name: x\n  resource: {app: A/e, token: t}\n  expect: {decision: allow}\n", "f.yaml:2: name one resource: one of app, procedure, static, token"},
		{"unknown kind", "- name: x\n  resource: {url: /x}\n  expect: {decision: allow}\n", `f.yaml:2: unknown member "url": use app, procedure, static, token`},
		{"bad app resource", "- name: x\n  resource: {app: A}\n  expect: {decision: allow}\n", `f.yaml:2: app resource "A": write APP/ENVIRONMENT`},
		{"bad procedure", "- name: x\n  resource:\n    procedure: payBill\n  expect: {decision: allow}\n", `f.yaml:3: procedure resource "payBill": write ADAPTER.PROCEDURE`},
		{"relative static", "- name: x\n  resource: {static: a.txt}\n  expect: {decision: allow}\n", `f.yaml:2: static resource "a.txt": write the URL path, from its first /`},
		{"no expect", "- name: x\n  resource: {app: A/e}\n", `f.yaml:1: scenario "x" has no expect`},
		{"unknown decision", "- name: x\n  resource: {app: A/e}\n  expect: {decision: permit}\n", `f.yaml:3: decision "permit": use one of allow, challenge, deny, blocked`},
		{"step of an allow", "- name: x\n  resource: {app: A/e}\n  expect: {decision: allow, step: 1}\n", "f.yaml:3: step and realms are those of a challenge, not of allow"},
		{"reason of a challenge", "- name: x\n  resource: {app: A/e}\n  expect: {decision: challenge, reason: r}\n", "f.yaml:3: reason is that of a deny or a block, not of challenge"},
		{"step zero", "- name: x\n  resource: {app: A/e}\n  expect: {decision: challenge, step: 0}\n", `f.yaml:3: step "0": use a step number, from 1`},
		{"step as text", "- name: x\n  resource: {app: A/e}\n  expect: {decision: challenge, step: '2'}\n", `f.yaml:3: step "2": use a step number, from 1`},
		{"no realms", "- name: x\n  resource: {app: A/e}\n  expect: {decision: challenge, realms: []}\n", "f.yaml:3: realms: name the realms to challenge, or leave realms out"},
		{"realms not a list", "- name: x\n  resource: {app: A/e}\n  expect: {decision: challenge, realms: PinRealm}\n", "f.yaml:3: realms: want a list of realm names"},
		{"passed of mappings", "- name: x\n  passed: [{a: b}]\n" + ok, "f.yaml:2: passed: want a single value"},
		{"parameters not a list", "- name: x\n  parameters: {amount: 1}\n" + ok, "f.yaml:2: parameters: want a list, as a procedure call's JSON body has"},
		{"parameters not JSON", "- name: x\n  parameters: [{1: a}]\n" + ok, "f.yaml:2: parameters: not JSON: json: unsupported type: map[interface {}]interface {}"},
		{"remote disable", "- name: x\n  remoteDisable: maybe\n" + ok, `f.yaml:2: remoteDisable "maybe": use notify or block`},
		{"device blocked", "- name: x\n  deviceBlocked: yes\n" + ok, `f.yaml:2: deviceBlocked "yes": use true or false`},
		{"app member", "- name: x\n  app: {id: A, build: 3}\n" + ok, `f.yaml:2: unknown member "build": use id, env, version`},
		{"null version", "- name: x\n  app: {version: null}\n" + ok, "f.yaml:2: app.version: want a single value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.src))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse: %v, want an *Error", err)
			}
			if err.Error() != tc.want {
				t.Errorf("Parse:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

// TestParseResource: --resource takes KIND:NAME; the name keeps its colons.
func TestParseResource(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Resource
		err  string
	}{
		{in: "app:BankApp/android", want: Resource{KindApp, "BankApp/android"}},
		{in: "static:/a:b", want: Resource{KindStatic, "/a:b"}},
		{in: "token:", want: Resource{KindToken, ""}},
		{in: "BankApp", err: `resource "BankApp": write KIND:NAME, KIND one of app, procedure, static, token`},
		{in: "procedure:x", err: `procedure resource "x": write ADAPTER.PROCEDURE`},
	} {
		got, err := ParseResource(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseResource(%q): %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseResource(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParse: no file makes the parser panic, and what it accepts is whole: every scenario has a
// name, a resource of a known kind and a decision it can check.
func FuzzParse(f *testing.F) {
	f.Add([]byte("- name: x\n  resource: {app: A/e}\n  expect: {decision: allow}\n"))
	f.Add([]byte("- name: x\n  resource: {procedure: A.p}\n  parameters: [{a: 1.5e3}, [null]]\n  passed: [b, a]\n  expect: {decision: challenge, step: 2, realms: [P]}\n"))
	f.Add([]byte("- &a name: x\n  resource: {static: /s}\n  remoteDisable: block\n  deviceBlocked: true\n  expect: {decision: blocked, reason: *a}\n"))
	f.Add([]byte("- name: x\n  resource: {token: t}\n  app: {id: A, env: e, version: 1.0}\n  expect: {decision: deny, reason: r}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("- name: x\n  resource: {procedure: T.r}\n  user:\n    userId: a\n    groups: [g, g]\n    attributes: {mail: [m], cn: []}\n  expect: {decision: allow}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ss, err := Parse("f.yaml", data)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if len(ss) == 0 {
			t.Fatal("no scenarios and no error")
		}
		for _, s := range ss {
			if s.Name == "" || s.Line < 1 || s.ExpectLine < 1 {
				t.Errorf("scenario %+v: no name or line", s)
			}
			if err := s.Resource.check(); err != nil {
				t.Errorf("scenario %q: %v", s.Name, err)
			}
			switch s.Expect.Decision {
			case Allow, Challenge, Deny, Blocked:
			default:
				t.Errorf("scenario %q: decision %q", s.Name, s.Expect.Decision)
			}
			if _, err := json.Marshal(s.Facts.Parameters); err != nil {
				t.Errorf("scenario %q: parameters are not JSON: %v", s.Name, err)
			}
			if u := s.Facts.User; u != nil && u.ID == "" {
				t.Errorf("scenario %q: a user without a userId", s.Name)
			}
		}
	})
}

// FuzzParseFacts: no facts file makes ParseFacts panic; what it refuses is an *Error.
func FuzzParseFacts(f *testing.F) {
	f.Add([]byte("app: {id: A, env: e, version: 1}\npassed: [a]\nparameters: [{x: 1}]\nremoteDisable: notify\ndeviceBlocked: false\n"))
	f.Add([]byte(`{"app": {"id": "A"}, "passed": ["a", "a"]}`))
	f.Add([]byte("- a\n"))
	f.Add([]byte("user: {userId: carol, displayName: C, dn: uid=carol, groups: [sales], groupDNs: [cn=sales], attributes: {mail: [c@x]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, err := ParseFacts("f.yaml", data)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if _, err := json.Marshal(facts.Parameters); err != nil {
			t.Errorf("parameters are not JSON: %v", err)
		}
		if facts.User != nil && facts.User.ID == "" {
			t.Errorf("user %+v without a userId", facts.User)
		}
	})
}
