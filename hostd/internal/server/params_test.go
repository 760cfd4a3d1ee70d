package server

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeProcedureCall(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []any
		err        string // part of the 400 message; "" for success
	}{
		{"empty object", `{}`, []any{}, ""},
		{"null parameters", `{"parameters":null}`, []any{}, ""},
		{"positional", `{"parameters":[1,"two",true,null,[3]]}`, []any{json.Number("1"), "two", true, nil, []any{json.Number("3")}}, ""},
		{"record", `{"parameters":[{"amount":5000,"payee":"rent"}]}`, []any{map[string]any{"amount": json.Number("5000"), "payee": "rent"}}, ""},
		{"digits kept", `{"parameters":[12345678901234567890.10]}`, []any{json.Number("12345678901234567890.10")}, ""},
		{"lone other case is its own member", `{"parameters":[{"Amount":5000}]}`, []any{map[string]any{"Amount": json.Number("5000")}}, ""},
		{"lone full-width is its own member", `{"parameters":[{"ａｍｏｕｎｔ":1}]}`, []any{map[string]any{"ａｍｏｕｎｔ": json.Number("1")}}, ""},
		{"same name in different objects", `{"parameters":[{"a":1},{"A":2,"b":{"a":3}}]}`,
			[]any{map[string]any{"a": json.Number("1")}, map[string]any{"A": json.Number("2"), "b": map[string]any{"a": json.Number("3")}}}, ""},
		{"lone surrogate escape", `{"parameters":["\ud800"]}`, []any{"\ufffd"}, ""},

		{"case pair", `{"parameters":[{"amount":1,"Amount":5000}]}`, nil, `parameters[0]: members "amount" and "Amount" differ only in case`},
		{"repeated", `{"parameters":[{"amount":5000,"amount":1}]}`, nil, `parameters[0]: member "amount" is repeated`},
		{"kelvin", `{"parameters":[{"key":1,"\u212Aey":2}]}`, nil, "differ only in case or Unicode form"},
		{"long s", `{"parameters":[{"pass":1,"pa\u017fs":2}]}`, nil, "differ only in case or Unicode form"},
		{"sharp s", `{"parameters":[{"strasse":1,"straße":2}]}`, nil, "differ only in case or Unicode form"},
		{"composed and decomposed", `{"parameters":[{"caf\u00e9":1,"cafe\u0301":2}]}`, nil, "differ only in case or Unicode form"},
		{"full-width pair", `{"parameters":[{"amount":1,"ａｍｏｕｎｔ":2}]}`, nil, "differ only in case or Unicode form"},
		{"ligature", `{"parameters":[{"file":1,"\ufb01le":2}]}`, nil, "differ only in case or Unicode form"},
		{"nested pair", `{"parameters":[{"to":{"iban":"x","IBAN":"y"}}]}`, nil, `parameters[0].to: members "iban" and "IBAN"`},
		{"escaped repeat", `{"parameters":[{"amount":1,"\u0061mount":2}]}`, nil, `member "amount" is repeated`},
		{"surrogates repeat", `{"parameters":[{"\ud800":1,"\udc00":2}]}`, nil, "is repeated"},
		{"invalid UTF-8", "{\"parameters\":[{\"amount\xff\":1}]}", nil, "not UTF-8"},
		{"invalid UTF-8 in a value", "{\"parameters\":[\"\xc3\"]}", nil, "not UTF-8"},
		{"envelope case", `{"parameters":[],"Parameters":[]}`, nil, "differ only in case"},
		{"envelope repeated", `{"parameters":[],"parameters":[1]}`, nil, "is repeated"},
		{"envelope unknown", `{"parameters":[],"extra":1}`, nil, `unknown member "extra"`},
		{"envelope other case alone", `{"Parameters":[1]}`, nil, `unknown member "Parameters"`},
		{"not an object", `[1]`, nil, `the body must be {"parameters": [...]}`},
		{"parameters not an array", `{"parameters":{"amount":1}}`, nil, `"parameters" must be an array`},
		{"too deep", `{"parameters":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, nil, "nested more than 64 levels"},
		{"two values", `{} {}`, nil, "more than one JSON value"},
		{"truncated", `{"parameters":[`, nil, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeProcedureCall([]byte(tc.body))
			if tc.err != "" {
				var ae *apiError
				if !errors.As(err, &ae) || ae.Code != codeBadRequest || !strings.Contains(ae.Message, tc.err) {
					t.Fatalf("err = %v, want bad_request containing %q", err, tc.err)
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

// FuzzDecodeProcedureCall: a body either is refused with a 400 or decodes to parameters whose
// JSON encoding (what the adapter gets) decodes back to the same value (what the policy
// reads), holding no object with two members any reader could confuse.
func FuzzDecodeProcedureCall(f *testing.F) {
	for _, s := range []string{
		`{"parameters":[{"amount":5000,"payee":"rent"}]}`,
		`{"parameters":[{"amount":1,"Amount":5000}]}`,
		`{"parameters":[{"key":1,"\u212Aey":2}]}`,
		`{"parameters":[1,"x",null,true,[{"a":{"b":[]}}]]}`,
		`{"parameters":[12345678901234567890.10e-3]}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		params, err := decodeProcedureCall(body)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code != codeBadRequest {
				t.Fatalf("%q: %v, want a bad_request", body, err)
			}
			return
		}
		if params == nil {
			t.Fatalf("%q: nil parameters", body)
		}
		enc, err := json.Marshal(map[string]any{"parameters": params})
		if err != nil {
			t.Fatalf("%q: parameters do not encode: %v", body, err)
		}
		again, err := decodeProcedureCall(enc)
		if err != nil {
			t.Fatalf("%q: the adapter's copy %s is refused: %v", body, enc, err)
		}
		if diff := cmp.Diff(params, again); diff != "" {
			t.Fatalf("%q: the adapter's copy differs from the policy's (-policy +adapter):\n%s", body, diff)
		}
	})
}

// BenchmarkDecodeProcedureCall: the cost the canonical form adds to a procedure call, next to
// the plain decoding it replaced.
func BenchmarkDecodeProcedureCall(b *testing.B) {
	body := []byte(`{"parameters":[{"amount":50,"payee":"power","to":{"iban":"DE89370400440532013000","name":"Stadtwerke München"}},"memo",3]}`)
	b.Run("canonical", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeProcedureCall(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var call struct {
				Parameters []any `json:"parameters"`
			}
			if err := json.Unmarshal(body, &call); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestFoldASCIIShortcut: the ASCII shortcuts of the fold keys give what the Unicode paths give.
func TestFoldASCIIShortcut(t *testing.T) {
	var d paramDecoder
	var all []byte
	for c := 0; c < utf8.RuneSelf; c++ {
		all = append(all, byte(c))
	}
	for _, s := range []string{string(all), "amount", "AmOuNt", "payee_ID-2", "key", "pass", ""} {
		// The Unicode paths, forced by a non-ASCII rune that both leave alone.
		const tail = "\u00b7"
		if got, want := simpleFold(s)+tail, simpleFold(s+tail); got != want {
			t.Errorf("simpleFold(%q) = %q, the Unicode path gives %q", s, got, want)
		}
		if got, want := d.fullFold(s)+tail, d.fullFold(s+tail); got != want {
			t.Errorf("fullFold(%q) = %q, the Unicode path gives %q", s, got, want)
		}
	}
}
