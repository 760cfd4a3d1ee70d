package resource

import (
	"bytes"
	"encoding/json"
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
