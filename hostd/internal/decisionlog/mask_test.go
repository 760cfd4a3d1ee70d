package decisionlog

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMaskRules(t *testing.T) {
	t.Parallel()
	input := `{"test":"t","request":{"method":"POST","parameters":[{"amount":5,"pin":"1234"}],"a/b":{"c":1}}}`
	for _, tc := range []struct {
		name  string
		rules [][3]any // op, path, value
		want  string   // the masked event's input, result, erased and masked
	}{
		{"remove a member", [][3]any{{"", "/input/request/parameters", nil}},
			`{"input":{"request":{"a/b":{"c":1},"method":"POST"},"test":"t"},"result":{"outcome":"allow"},"erased":["/input/request/parameters"]}`},
		{"remove an array element's member", [][3]any{{"remove", "/input/request/parameters/0/pin", nil}},
			`{"input":{"request":{"a/b":{"c":1},"method":"POST","parameters":[{"amount":5}]},"test":"t"},"result":{"outcome":"allow"},"erased":["/input/request/parameters/0/pin"]}`},
		{"remove an array element", [][3]any{{"remove", "/input/request/parameters/0", nil}},
			`{"input":{"request":{"a/b":{"c":1},"method":"POST","parameters":[]},"test":"t"},"result":{"outcome":"allow"},"erased":["/input/request/parameters/0"]}`},
		{"escaped segment", [][3]any{{"remove", "/input/request/a%2Fb", nil}},
			`{"input":{"request":{"method":"POST","parameters":[{"amount":5,"pin":"1234"}]},"test":"t"},"result":{"outcome":"allow"},"erased":["/input/request/a/b"]}`},
		{"a path not there does nothing", [][3]any{{"remove", "/input/request/headers/cookie", nil}, {"remove", "/input/request/parameters/7", nil}},
			`{"input":{"request":{"a/b":{"c":1},"method":"POST","parameters":[{"amount":5,"pin":"1234"}]},"test":"t"},"result":{"outcome":"allow"}}`},
		{"upsert replaces and creates", [][3]any{{"upsert", "/input/request/parameters/0/pin", "***"}, {"upsert", "/input/request/new/x", 1}},
			`{"input":{"request":{"a/b":{"c":1},"method":"POST","new":{"x":1},"parameters":[{"amount":5,"pin":"***"}]},"test":"t"},"result":{"outcome":"allow"},"masked":["/input/request/parameters/0/pin","/input/request/new/x"]}`},
		{"whole input and result", [][3]any{{"remove", "/input", nil}, {"upsert", "/result", "hidden"}},
			`{"result":"hidden","erased":["/input"],"masked":["/result"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rules []*MaskRule
			for _, r := range tc.rules {
				mr, err := ParseMaskRule(r[0].(string), r[1].(string), r[2])
				if err != nil {
					t.Fatal(err)
				}
				rules = append(rules, mr)
			}
			raw, err := encode(&Event{DecisionID: "d", Timestamp: time.Unix(0, 0), Input: json.RawMessage(input), Result: json.RawMessage(`{"outcome":"allow"}`)}, rules)
			if err != nil {
				t.Fatal(err)
			}
			var got, want map[string]any
			json.Unmarshal(raw, &got)
			json.Unmarshal([]byte(tc.want), &want)
			for _, k := range []string{"labels", "decision_id", "timestamp"} {
				delete(got, k)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("masked event (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseMaskRuleRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ op, path string }{
		{"", ""},
		{"", "input/password"},
		{"", "/data/x"},
		{"", "/nd_builtin_cache"},
		{"drop", "/input/x"},
		{"", "/input/%zz"},
	} {
		if _, err := ParseMaskRule(tc.op, tc.path, nil); err == nil {
			t.Errorf("ParseMaskRule(%q, %q) accepted", tc.op, tc.path)
		}
	}
}

// FuzzMask parses a rule and applies it to an input: no panic, and a remove rule that erased a
// path leaves no value there.
func FuzzMask(f *testing.F) {
	f.Add("/input/request/parameters/0/pin", `{"request":{"parameters":[{"pin":"1"}]}}`, false)
	f.Add("/input/a%2Fb", `{"a/b":1}`, true)
	f.Add("/result/0", `[1,2]`, false)
	f.Fuzz(func(t *testing.T, path, input string, upsert bool) {
		op := OpRemove
		if upsert {
			op = OpUpsert
		}
		r, err := ParseMaskRule(op, path, "x")
		if err != nil {
			return
		}
		if !json.Valid([]byte(input)) {
			return
		}
		e := &Event{Input: json.RawMessage(input), Result: json.RawMessage(input)}
		raw, err := encode(e, []*MaskRule{r})
		if err != nil {
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("invalid JSON out: %s", raw)
		}
	})
}
