package resource

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzForEachMember holds forEachMember equal to encoding/json: it accepts exactly the JSON
// objects without duplicate names, and gives the same members with the same values.
func FuzzForEachMember(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"alg":"ES256","typ":"at+jwt","kid":"k"}`, `{"a":1,"a":2}`, `{"a":{"b":[1,"}",{"c":null}]},"d":"\"\\"}`,
		`{"\u0061lg":"x","alg":"y"}`, ` { "a" : true , "b" : -1.5e3 } `, `{"a":1}x`, `[1]`, `{"a":"\xff"}`, `{"a":1,}`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := map[string][]byte{}
		n := 0
		err := forEachMember(data, func(name string, v []byte) error {
			got[name] = v
			n++
			return nil
		})
		var want map[string]json.RawMessage
		jerr := json.Unmarshal(data, &want)
		if err == nil {
			if jerr != nil {
				t.Fatalf("forEachMember accepted what encoding/json refuses (%v)", jerr)
			}
			if n != len(want) || len(got) != len(want) {
				t.Fatalf("%d members, encoding/json has %d", n, len(want))
			}
			for name, v := range want {
				var a, b bytes.Buffer
				json.Compact(&a, v)
				json.Compact(&b, got[name])
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Fatalf("member %q: %s, encoding/json has %s", name, got[name], v)
				}
			}
			return
		}
		if jerr == nil && want != nil && countMembers(data) == len(want) {
			t.Fatalf("forEachMember refused an object without duplicates: %v", err)
		}
	})
}

// countMembers counts the top-level members of a valid JSON object with a json.Decoder.
func countMembers(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.Token()
	n := 0
	for dec.More() {
		dec.Token()
		var v json.RawMessage
		dec.Decode(&v)
		n++
	}
	return n
}

// FuzzJSONStrings holds jsonStrings equal to encoding/json: it accepts exactly a JSON string or
// an array of JSON strings (an aud claim), and gives the same strings.
func FuzzJSONStrings(f *testing.F) {
	for _, s := range []string{
		`"BankApp"`, `["a","b"]`, `[]`, `["a",1]`, `[["a"]]`, `"\u00e9\"x"`, `5`, `null`, `{"a":"b"}`, `["a"`, `"a"x`, `[ "a" , "b" ]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The claims reader hands jsonStrings one value that encoding/json accepted.
		if !json.Valid(data) {
			return
		}
		got, ok := jsonStrings(bytes.TrimSpace(data))
		var v any
		json.Unmarshal(data, &v)
		var want []string
		wantOK := true
		switch v := v.(type) {
		case string:
			want = []string{v}
		case []any:
			for _, x := range v {
				s, isString := x.(string)
				wantOK = wantOK && isString
				want = append(want, s)
			}
		default:
			wantOK = false
		}
		if ok != wantOK || ok && !slices.Equal(got, want) {
			t.Fatalf("jsonStrings(%s) = %q, %v; encoding/json reads %q, %v", data, got, ok, want, wantOK)
		}
	})
}
