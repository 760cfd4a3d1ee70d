package exactjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

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
	Inner                       // promoted: "deep"
	Parameters []payment        `json:"parameters"`
	ByName     map[string]Inner `json:"byName"`
	Ptr        *Inner           `json:"ptr"`
	Raw        json.RawMessage  `json:"raw"`
	Any        any              `json:"any"`
	When       time.Time        `json:"when"`
	Untagged   string
	Skipped    string `json:"-"`
}

func TestUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		opts     Options
		want     envelope
		err      *MemberError
	}{
		{name: "exact", in: `{"parameters":[{"payee":"rent","amount":5000}]}`,
			want: envelope{Parameters: []payment{{Payee: "rent", Amount: 5000}}}},
		{name: "capitalised", in: `{"parameters":[{"Amount":5000}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "Amount", Field: "amount"}},
		{name: "upper case", in: `{"parameters":[{"payee":"x","AMOUNT":5000}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "AMOUNT", Field: "amount"}},
		{name: "kelvin sign", in: `{"parameters":[{"\u212Aey":"k"}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "\u212Aey", Field: "key"}},
		{name: "long s", in: `{"parameters":[{"pa\u017fs":"p"}]}`,
			err: &MemberError{Path: "parameters[0]", Member: "pa\u017fs", Field: "pass"}},
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
			want: envelope{Raw: json.RawMessage(`{"Amount":1}`), Any: map[string]any{"Amount": 2.0}}},
		{name: "a type that decodes itself", in: `{"when":"2026-01-02T03:04:05Z"}`,
			want: envelope{When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{name: "unknown ignored", in: `{"parameters":[{"amount":1,"memo":"x"}],"app":{"id":"A"}}`,
			want: envelope{Parameters: []payment{{Amount: 1}}}},
		{name: "unknown refused", in: `{"parameters":[{"amount":1,"memo":"x"}]}`, opts: Options{DisallowUnknown: true},
			err: &MemberError{Path: "parameters[0]", Member: "memo"}},
		{name: "skipped field is unknown", in: `{"Skipped":"x"}`, opts: Options{DisallowUnknown: true},
			err: &MemberError{Member: "Skipped"}},
		{name: "full-width is just unknown", in: `{"parameters":[{"ａｍｏｕｎｔ":5000}]}`,
			want: envelope{Parameters: []payment{{}}}},
		{name: "repeated member: the last", in: `{"parameters":[{"amount":1,"amount":2}]}`,
			want: envelope{Parameters: []payment{{Amount: 2}}}},
		{name: "null", in: `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got envelope
			err := tc.opts.Unmarshal([]byte(tc.in), &got)
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
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
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

func TestSyntaxAndTargetErrorsAreEncodingJSONs(t *testing.T) {
	var p payment
	var se *json.SyntaxError
	if err := Unmarshal([]byte(`{"amount":`), &p); !errors.As(err, &se) {
		t.Errorf("truncated input: %v, want a *json.SyntaxError", err)
	}
	var ie *json.InvalidUnmarshalError
	if err := Unmarshal([]byte(`{}`), p); !errors.As(err, &ie) {
		t.Errorf("non-pointer: %v, want a *json.InvalidUnmarshalError", err)
	}
	var te *json.UnmarshalTypeError
	if err := Unmarshal([]byte(`{"amount":"5000"}`), &p); !errors.As(err, &te) {
		t.Errorf("string amount: %v, want a *json.UnmarshalTypeError", err)
	}
}

func TestTooDeep(t *testing.T) {
	type node struct {
		Next *node `json:"next"`
	}
	in := ""
	for range maxDepth + 1 {
		in += `{"next":`
	}
	in += "null"
	for range maxDepth + 1 {
		in += "}"
	}
	var n node
	if err := Unmarshal([]byte(in), &n); err == nil {
		t.Error("input nested beyond the limit decoded")
	}
}

func TestFieldsFollowEncodingJSON(t *testing.T) {
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
	}
	got := map[string]bool{}
	for _, f := range typeFields(reflect.TypeFor[both]()) {
		got[f.name] = true
	}
	want := map[string]bool{"x": true, "Y": true, "w": true, "y": true, "d": true, "v": true, "U": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	// Two tagged fields of one name at the same depth: encoding/json fills neither, so neither is
	// a field here (built with reflect: vet refuses the repeated tag in a literal).
	tie := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[A](), Anonymous: true},
		{Name: "D", Type: reflect.TypeFor[D](), Anonymous: true},
	})
	got = map[string]bool{}
	for _, f := range typeFields(tie) {
		got[f.name] = true
	}
	if diff := cmp.Diff(map[string]bool{"Y": true}, got); diff != "" {
		t.Errorf("tie (-want +got):\n%s", diff)
	}
	v := reflect.New(tie)
	if err := json.Unmarshal([]byte(`{"x":"1"}`), v.Interface()); err != nil || v.Elem().Field(0).Field(0).String() != "" || v.Elem().Field(1).Field(0).String() != "" {
		t.Errorf("encoding/json filled a tied field: %v %+v", err, v.Elem())
	}
}

// prune keeps only the members of a generic decode of envelope's input whose names are the
// exact names of envelope's fields: the oracle of FuzzUnmarshal, written apart from typeFields.
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

// FuzzUnmarshal: whatever the input, a successful decode is what encoding/json decodes from the
// input stripped of every member whose name is not exactly a field's (nothing reached a field
// under another spelling), and a refused member is one encoding/json would have put into a
// field or, with DisallowUnknown, one it would have ignored.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"parameters":[{"payee":"rent","amount":5000}]}`,
		`{"parameters":[{"Amount":5000}]}`,
		`{"parameters":[{"\u212Aey":"k","pa\u017fs":"p"}],"deep":"x","Untagged":"u"}`,
		`{"byName":{"a":{"deep":"x"}},"ptr":{"deep":"y"},"any":[1,{"A":2}]}`,
		`[1,2]`, `"x"`, `{"parameters":{"amount":1}}`, `{"parameters":[{"amount":1,"amount":2}]}`,
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, strict bool) {
		var got envelope
		err := Options{DisallowUnknown: strict}.Unmarshal([]byte(in), &got)
		var plain envelope
		werr := json.Unmarshal([]byte(in), &plain)
		var me *MemberError
		switch {
		case errors.As(err, &me):
			if me.Field == "" && !strict {
				t.Fatalf("%q: %v without DisallowUnknown", in, err)
			}
		case err != nil:
			if werr == nil {
				t.Fatalf("%q: %v, encoding/json decoded it", in, err)
			}
		default:
			if werr != nil {
				t.Fatalf("%q decoded, encoding/json says %v", in, werr)
			}
			var generic any
			if json.Unmarshal([]byte(in), &generic) != nil {
				return
			}
			pruned, _ := json.Marshal(prune(generic))
			var want envelope
			if err := json.Unmarshal(pruned, &want); err != nil {
				return // the pruned input no longer decodes (a value of the wrong type went away)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(envelope{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("%q (-exact names only +exactjson):\n%s", in, diff)
			}
		}
	})
}
