package wasm

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

func TestParseInvokeRequest(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     *invokeRequest // nil: refused as bad_request
	}{
		{"positional parameters", `{"adapter": "A", "procedure": "p", "parameters": [1, "x"]}`,
			&invokeRequest{Adapter: "A", Procedure: "p", Parameters: json.RawMessage(`[1, "x"]`)}},
		{"no parameters", `{"adapter": "A", "procedure": "p"}`, &invokeRequest{Adapter: "A", Procedure: "p", Parameters: json.RawMessage(`[]`)}},
		{"null parameters", `{"adapter": "A", "procedure": "p", "parameters": null}`, &invokeRequest{Adapter: "A", Procedure: "p", Parameters: json.RawMessage(`[]`)}},
		{"parameters not an array", `{"adapter": "A", "procedure": "p", "parameters": {"a": 1}}`, nil},
		{"no adapter", `{"procedure": "p"}`, nil},
		{"no procedure", `{"adapter": "A"}`, nil},
		{"an unknown member", `{"adapter": "A", "procedure": "p", "params": []}`, nil},
		{"a member misspelt", `{"Adapter": "A", "procedure": "p"}`, nil},
		{"not an object", `["A", "p"]`, nil},
		{"text after it", `{"adapter": "A", "procedure": "p"} {}`, nil},
		{"too large", `{"adapter": "A", "procedure": "p", "parameters": ["` + string(make([]byte, 200)) + `"]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseInvokeRequest([]byte(tc.in), 128)
			if tc.want == nil {
				var ie *adapters.InvokeError
				if !errors.As(err, &ie) || ie.Code != adapters.InvokeBadRequest {
					t.Fatalf("parseInvokeRequest(%s) = %+v, %v; want a bad_request refusal", tc.in, got, err)
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

// FuzzParseInvokeRequest: any guest bytes give a checked request or a bad_request refusal, and
// the answer built from either is one JSON object with isSuccessful.
func FuzzParseInvokeRequest(f *testing.F) {
	for _, s := range []string{`{"adapter": "A", "procedure": "p", "parameters": [1]}`, `{"adapter": "A"}`, `[]`, `{"adapter": "A", "procedure": "p", "parameters": {}}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseInvokeRequest(b, 1<<16)
		var answer []byte
		if err != nil {
			var ie *adapters.InvokeError
			if !errors.As(err, &ie) || ie.Code != adapters.InvokeBadRequest {
				t.Fatalf("error %v is not a bad_request refusal", err)
			}
			answer = invokeAnswer(nil, err)
		} else {
			if req.Adapter == "" || req.Procedure == "" || len(req.Parameters) == 0 || req.Parameters[0] != '[' {
				t.Fatalf("accepted %+v", req)
			}
			answer = invokeAnswer(req.Parameters, nil)
		}
		var obj map[string]any
		if err := json.Unmarshal(answer, &obj); err != nil || !utf8.Valid(answer) {
			t.Fatalf("answer %q is not a JSON object: %v", answer, err)
		}
		if _, ok := obj["isSuccessful"].(bool); !ok {
			t.Fatalf("answer %s has no isSuccessful", answer)
		}
	})
}
