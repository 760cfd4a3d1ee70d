package adapterjson

import (
	stdjson "encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type payment struct {
	Payee  string  `json:"payee"`
	To     string  `json:"to,omitempty"`
	Amount float64 `json:"amount"`
	Key    string  `json:"key"`
	Pass   string  `json:"pass"`
}

type Inner struct {
	Deep string `json:"deep"`
}

type envelope struct {
	Inner                         // promoted: "deep"
	Parameters []payment          `json:"parameters"`
	ByName     map[string]Inner   `json:"byName"`
	Ptr        *Inner             `json:"ptr"`
	Raw        stdjson.RawMessage `json:"raw"`
	Any        any                `json:"any"`
	When       time.Time          `json:"when"`
	Untagged   string
	Skipped    string `json:"-"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		strict   bool
		want     envelope
		err      *MemberError
	}{
		{name: "exact", in: `{"parameters":[{"payee":"rent","amount":5000}]}`,
			want: envelope{Parameters: []payment{{Payee: "rent", Amount: 5000}}}},
		{name: "capitalised", in: `{"parameters":[{"Amount":5000}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "Amount", Field: "amount"}},
		{name: "capitalised, strict", in: `{"parameters":[{"Amount":5000}]}`, strict: true,
			err: &MemberError{Path: "parameters[0]", Member: "Amount", Field: "amount"}},
		{name: "upper case", in: `{"parameters":[{"payee":"x","AMOUNT":5000}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "AMOUNT", Field: "amount"}},
		{name: "kelvin sign", in: `{"parameters":[{"\u212Aey":"k"}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "\u212Aey", Field: "key"}},
		{name: "long s", in: `{"parameters":[{"pa\u017fs":"p"}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "pa\u017fs", Field: "pass"}},
		{name: "after an unknown member", in: `{"app":{"id":"A"},"parameters":[{"amount":1},{"payee":"x","Payee":"y"}]}`,
			err: &MemberError{Path: "parameters[1]", Member: "Payee", Field: "payee"}},
		{name: "beside its exact twin", in: `{"parameters":[{"amount":1,"Amount":2}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "Amount", Field: "amount"}},
		{name: "envelope case", in: `{"Parameters":[]}`,
			err: &MemberError{Member: "Parameters", Field: "parameters"}},
		{name: "promoted field case", in: `{"Deep":"x"}`,
			err: &MemberError{Member: "Deep", Field: "deep"}},
		{name: "untagged field needs its own name", in: `{"untagged":"x"}`,
			err: &MemberError{Member: "untagged", Field: "Untagged"}},
		{name: "untagged field exact", in: `{"Untagged":"x","deep":"d"}`,
			want: envelope{Untagged: "x", Inner: Inner{Deep: "d"}}},
		{name: "in a map value", in: `{"byName":{"a":{"DEEP":"x"}}}`,
			err: &MemberError{Path: "byName.a", Member: "DEEP", Field: "deep"}},
		{name: "map keys are free", in: `{"byName":{"A":{"deep":"x"},"a":{"deep":"y"}}}`,
			want: envelope{ByName: map[string]Inner{"A": {Deep: "x"}, "a": {Deep: "y"}}}},
		{name: "through a pointer", in: `{"ptr":{"Deep":"x"}}`,
			err: &MemberError{Path: "ptr", Member: "Deep", Field: "deep"}},
		{name: "raw and any are not checked", in: `{"raw":{"Amount":1},"any":{"Amount":2}}`,
			want: envelope{Raw: stdjson.RawMessage(`{"Amount":1}`), Any: map[string]any{"Amount": 2.0}}},
		{name: "a type that decodes itself", in: `{"when":"2026-01-02T03:04:05Z"}`,
			want: envelope{When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{name: "unknown ignored", in: `{"parameters":[{"amount":1,"memo":"x"}],"app":{"id":"A"}}`,
			want: envelope{Parameters: []payment{{Amount: 1}}}},
		{name: "unknown refused", in: `{"parameters":[{"amount":1,"memo":"x"}]}`, strict: true,
			err: &MemberError{Path: "parameters[0]", Member: "memo"}},
		{name: "skipped field is unknown", in: `{"Skipped":"x"}`, strict: true,
			err: &MemberError{Member: "Skipped"}},
		{name: "skipped field is ignored", in: `{"Skipped":"x","skipped":"y"}`},
		{name: "dashes and underscores are not case", in: `{"parameters":[{"pay_ee":"x","pay-ee":"y","payee":"z"}]}`,
			want: envelope{Parameters: []payment{{Payee: "z"}}}},
		{name: "full-width is just unknown", in: `{"parameters":[{"ａｍｏｕｎｔ":5000}]}`,
			want: envelope{Parameters: []payment{{}}}},
		{name: "null", in: `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decode := Decode[envelope]
			if tc.strict {
				decode = DecodeStrict[envelope]
			}
			got, err := decode([]byte(tc.in))
			if tc.err != nil {
				var me *MemberError
				if !errors.As(err, &me) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if diff := cmp.Diff(tc.err, me); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestLibraryRefusals: what the library refuses by default stays refused, whatever path the
// decoding takes (a known member only, or an unknown one that sends it through the name check).
func TestLibraryRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     any // an error type
	}{
		// Strict decoding refuses the unknown member "app" first; the others hold for both.
		{"repeated member", `{"parameters":[{"amount":1,"amount":2}]}`, &jsontext.SyntacticError{}},
		{"repeated member beside an unknown one", `{"app":1,"parameters":[{"amount":1,"amount":2}]}`, &jsontext.SyntacticError{}},
		{"invalid UTF-8", "{\"parameters\":[{\"payee\":\"\xff\"}]}", &jsontext.SyntacticError{}},
		{"invalid UTF-8 beside an unknown one", "{\"app\":1,\"parameters\":[{\"payee\":\"\xff\"}]}", &jsontext.SyntacticError{}},
		{"truncated", `{"parameters":`, &jsontext.SyntacticError{}},
		{"wrong type", `{"parameters":[{"amount":"5000"}]}`, &json.SemanticError{}},
		{"wrong type beside an unknown one", `{"app":1,"parameters":[{"amount":"5000"}]}`, &json.SemanticError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decoders := []func([]byte) (envelope, error){Decode[envelope]}
			if !strings.Contains(tc.name, "unknown") {
				decoders = append(decoders, DecodeStrict[envelope])
			}
			for _, decode := range decoders {
				_, err := decode([]byte(tc.in))
				if target := reflect.New(reflect.TypeOf(tc.want)); err == nil || !errors.As(err, target.Interface()) {
					t.Errorf("err = %v, want a %T", err, tc.want)
				}
			}
		})
	}
}

func TestTooDeep(t *testing.T) {
	type node struct {
		Next *node `json:"next"`
	}
	const depth = 10001 // the library's nesting limit is 10000
	in := strings.Repeat(`{"next":`, depth) + "null" + strings.Repeat("}", depth)
	if _, err := Decode[node]([]byte(in)); err == nil {
		t.Error("input nested beyond the limit decoded")
	}
	in = `{"x":1,` + in[1:] // an unknown member first: the name check runs too
	if _, err := Decode[node]([]byte(in)); err == nil {
		t.Error("input nested beyond the limit decoded")
	}
}

// selfDecoding decodes itself; its method's error comes back as it is.
type selfDecoding struct{ got string }

var errSelf = errors.New("self: refused")

func (s *selfDecoding) UnmarshalJSON(b []byte) error {
	if string(b) == `"no"` {
		return errSelf
	}
	s.got = string(b)
	return nil
}

func TestTypeThatDecodesItself(t *testing.T) {
	got, err := Decode[selfDecoding]([]byte(`{"Amount":1}`))
	if err != nil || got.got != `{"Amount":1}` {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := Decode[selfDecoding]([]byte(`"no"`)); err != errSelf {
		t.Errorf("err = %v, want the method's own", err)
	}
	if _, err := Decode[selfDecoding]([]byte(`{`)); err == nil {
		t.Error("invalid JSON reached the method")
	}
	// As a field: the library calls the method, whose member names are its own.
	type outer struct {
		S selfDecoding `json:"s"`
	}
	o, err := Decode[outer]([]byte(`{"s":{"Amount":1},"x":1}`))
	if err != nil || o.S.got != `{"Amount":1}` {
		t.Errorf("got %+v, %v", o, err)
	}
}

func TestFieldNamesFollowTheLibrary(t *testing.T) {
	type A struct {
		X string `json:"x"`
		Y string
	}
	type C struct {
		W string `json:"w"`
	}
	type D struct {
		X string `json:"x"`
	}
	type both struct {
		A         // x and Y
		*C        // w
		Y  int    `json:"y"` // y, distinct from A.Y ("Y")
		D  D      `json:"d"` // a tagged embedded struct is a member, not promoted
		V  string `json:"v,omitempty"`
		U  string `json:",omitempty"` // no name in the tag: the field's own
		//lint:ignore U1000 an unexported field is what the test needs
		q string // unexported: no member
	}
	want := names{"x": {}, "Y": {}, "w": {}, "y": {}, "d": {}, "v": {}, "U": {}}
	if diff := cmp.Diff(want, fieldNames(reflect.TypeFor[both]())); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	// Two tagged fields of one name at the same depth: the library fills neither, so neither
	// is a field here (built with reflect: vet refuses the repeated tag in a literal).
	tie := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[A](), Anonymous: true},
		{Name: "D", Type: reflect.TypeFor[D](), Anonymous: true},
	})
	if diff := cmp.Diff(names{"Y": {}}, fieldNames(tie)); diff != "" {
		t.Errorf("tie (-want +got):\n%s", diff)
	}
	// A field tagged case:ignore takes any case: nothing to refuse.
	type loose struct {
		Name string `json:"name,case:ignore"`
	}
	if got, err := Decode[loose]([]byte(`{"NAME":"n","x":1}`)); err != nil || got.Name != "n" {
		t.Errorf("case:ignore: %+v %v", got, err)
	}
}

func TestMemberErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  MemberError
		want string
	}{
		{MemberError{Path: "parameters[0]", Member: "Amount", Field: "amount"},
			`parameters[0]: unknown member "Amount" (member names are case-sensitive: the field is "amount")`},
		{MemberError{Member: "memo"}, `unknown member "memo"`},
		{MemberError{Member: strings.Repeat("m", 100)}, `unknown member "` + strings.Repeat("m", 64) + `"...`},
		{MemberError{Member: strings.Repeat("é", 40)}, `unknown member "` + strings.Repeat("é", 32) + `"...`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

func TestPath(t *testing.T) {
	for p, want := range map[jsontext.Pointer]string{
		"":                    "",
		"/parameters/0":       "parameters[0]",
		"/parameters/10/to":   "parameters[10].to",
		"/byName/a~1b~0c":     "byName.a/b~c",
		"/m/01":               "m.01",
		"/0/1":                "[0][1]",
		"/parameters/0/x/2/y": "parameters[0].x[2].y",
	} {
		if got := path(p); got != want {
			t.Errorf("path(%q) = %q, want %q", p, got, want)
		}
	}
}

// prune keeps only the members of a generic decode of envelope's input whose names are the
// exact names of envelope's fields: the oracle of FuzzDecode, written apart from the library.
func prune(v any) any {
	top, ok := v.(map[string]any)
	if !ok {
		return v
	}
	keep := func(m any, names ...string) any {
		obj, ok := m.(map[string]any)
		if !ok {
			return m
		}
		out := map[string]any{}
		for _, n := range names {
			if x, ok := obj[n]; ok {
				out[n] = x
			}
		}
		return out
	}
	out := keep(top, "deep", "parameters", "byName", "ptr", "raw", "any", "when", "Untagged").(map[string]any)
	if ps, ok := out["parameters"].([]any); ok {
		for i := range ps {
			ps[i] = keep(ps[i], "payee", "to", "amount", "key", "pass")
		}
	}
	if bn, ok := out["byName"].(map[string]any); ok {
		for k := range bn {
			bn[k] = keep(bn[k], "deep")
		}
	}
	out["ptr"] = keep(out["ptr"], "deep")
	if out["ptr"] == nil {
		delete(out, "ptr")
	}
	return out
}

// FuzzDecode: whatever the input, a successful decoding is what encoding/json decodes from the
// input stripped of every member whose name is not exactly a field's (nothing reached a field
// under another spelling); a refused member resembles a field, or, strictly, is unknown; and
// what the library refuses by default (repeated members, invalid UTF-8) is refused.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"parameters":[{"payee":"rent","amount":5000}]}`,
		`{"parameters":[{"Amount":5000}]}`,
		`{"parameters":[{"\u212Aey":"k","pa\u017fs":"p"}],"deep":"x","Untagged":"u"}`,
		`{"byName":{"a":{"deep":"x"}},"ptr":{"deep":"y"},"any":[1,{"A":2}]}`,
		`[1,2]`, `"x"`, `{"parameters":{"amount":1}}`, `{"parameters":[{"amount":1,"amount":2}]}`,
		`{"app":1,"parameters":[{"amount":1,"pay_ee":"x"}]}`, `{"":[]}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, strict bool) {
		decode := Decode[envelope]
		if strict {
			decode = DecodeStrict[envelope]
		}
		got, err := decode([]byte(in))
		var me *MemberError
		switch {
		case errors.As(err, &me):
			if me.Field == "" && !strict {
				t.Fatalf("%q: %v without strict", in, err)
			}
			if me.Field != "" && (me.Field == me.Member || !strings.EqualFold(me.Field, me.Member)) {
				t.Fatalf("%q: %v: the member does not resemble the field", in, err)
			}
		case err != nil:
		default:
			if !jsontext.Value(in).IsValid() {
				t.Fatalf("%q decoded, but the library says it is not valid JSON (repeated member or bad UTF-8)", in)
			}
			var generic any
			if stdjson.Unmarshal([]byte(in), &generic) != nil {
				t.Fatalf("%q decoded, encoding/json cannot read it", in)
			}
			pruned, _ := stdjson.Marshal(prune(generic))
			var want envelope
			if err := stdjson.Unmarshal(pruned, &want); err != nil {
				return // the pruned input no longer decodes (a value of the wrong type went away)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(envelope{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("%q (-exact names only +decoded):\n%s", in, diff)
			}
		}
	})
}

// TestLastName: the member name read back from the input is the one the decoder holds, escapes
// and whitespace included.
func TestLastName(t *testing.T) {
	for _, in := range []string{
		`{"a":1}`,
		`{ "a" : 1 , "b"	:	{"c" :[ {"d":2} ]}}`,
		`{"a\"b":1,"\\":2,"\\\"":3,"x\\\\":4,"\u00e9\n":5,"":6,"\"":7}`,
		"{\"\u212Aey\":1,\"\\u212Ae\":{\"\\\"\":[1]}}",
	} {
		c := &nameCheck{data: []byte(in)}
		var checked int
		visit := func(dec *jsontext.Decoder, _ any) error {
			if d := dec.StackDepth(); d > 0 {
				if kind, _ := dec.StackIndex(d); kind == '{' {
					checked++
					if got, want := c.lastName(dec), dec.StackPointer().LastToken(); got != want {
						t.Errorf("%s: lastName = %q, want %q", in, got, want)
					}
				}
			}
			return errors.ErrUnsupported
		}
		var v any
		if err := json.Unmarshal([]byte(in), &v, json.WithUnmarshalers(json.UnmarshalFromFunc(visit))); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if checked == 0 {
			t.Errorf("%s: no member checked", in)
		}
	}
}

// TestConcurrentDecode: plugins decode calls concurrently; the caches of field names are shared.
func TestConcurrentDecode(t *testing.T) {
	type fresh struct { // a type no other test decodes: its caches start empty
		Amount float64 `json:"amount"`
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			in := `{"x":1,"amount":2}`
			if i%2 == 1 {
				in = `{"x":1,"Amount":2}`
			}
			got, err := Decode[fresh]([]byte(in))
			var me *MemberError
			switch {
			case i%2 == 0 && (err != nil || got.Amount != 2):
				t.Errorf("%s: %+v %v", in, got, err)
			case i%2 == 1 && !errors.As(err, &me):
				t.Errorf("%s: %v, want a *MemberError", in, err)
			}
		})
	}
	wg.Wait()
}
