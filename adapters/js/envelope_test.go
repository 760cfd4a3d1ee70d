package js

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCallEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name             string
		procedure        string
		input, state     string
		want             string
		wantInvalidInput bool
	}{
		{name: "no state", procedure: "echo", input: `{"parameters":[1]}`, want: `{"procedure":"echo","input":{"parameters":[1]}}`},
		{name: "state", procedure: "echo", input: `{}`, state: `{"n":1}`, want: `{"procedure":"echo","input":{},"state":{"n":1}}`},
		{name: "input kept as it is", procedure: "a", input: " {\"x\" : \"<\\u00e9>\"}\n", want: "{\"procedure\":\"a\",\"input\": {\"x\" : \"<\\u00e9>\"}\n}"},
		{name: "name quoted", procedure: `a"b`, input: `1`, want: `{"procedure":"a\"b","input":1}`},
		{name: "invalid input", procedure: "echo", input: `{"a":`, wantInvalidInput: true},
		{name: "two values", procedure: "echo", input: `{} {}`, wantInvalidInput: true},
		{name: "invalid state", procedure: "echo", input: `{}`, state: `{`, wantInvalidInput: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := callEnvelope(tc.procedure, json.RawMessage(tc.input), json.RawMessage(tc.state))
			if tc.wantInvalidInput {
				if !errors.Is(err, errInvalidJSON) {
					t.Fatalf("err = %v, want errInvalidJSON", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("the envelope %s is not JSON", got)
			}
		})
	}
}

func TestEnvelopeMembers(t *testing.T) {
	for _, tc := range []struct {
		name, out          string
		wantResult, wantSt string
		wantErr            bool
	}{
		{name: "both", out: `{"result":{"a":[1,2]},"state":{}}`, wantResult: `{"a":[1,2]}`, wantSt: `{}`},
		{name: "state first", out: `{"state":{"n":1},"result":"x"}`, wantResult: `"x"`, wantSt: `{"n":1}`},
		{name: "no state", out: `{"result":null}`, wantResult: `null`},
		{name: "the last of a name", out: `{"result":1,"result":2,"state":{}}`, wantResult: `2`, wantSt: `{}`},
		{name: "other members", out: `{"x":{"result":3},"result":4}`, wantResult: `4`},
		{name: "a lone surrogate in the result", out: `{"result":"\ud800","state":{}}`, wantResult: `"\ud800"`, wantSt: `{}`},
		{name: "no result", out: `{"state":{}}`, wantSt: `{}`},
		{name: "not an object", out: `[1]`, wantErr: true},
		{name: "cut", out: `{"result":`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, s, err := envelopeMembers([]byte(tc.out))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if diff := cmp.Diff([2]string{tc.wantResult, tc.wantSt}, [2]string{string(r), string(s)}); diff != "" {
				t.Errorf("result, state (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzEnvelopeMembers holds envelopeMembers to what encoding/json decodes from an object the
// wasm backend passed as JSON.
func FuzzEnvelopeMembers(f *testing.F) {
	for _, s := range []string{`{"result":{"a":[1,2]},"state":{}}`, `{"result":"\ud800"}`, `{"result":1,"result":2}`, `{}`, `[]`, `{"Result":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		if !json.Valid(out) {
			return
		}
		var want struct {
			Result json.RawMessage `json:"result"`
			State  json.RawMessage `json:"state"`
		}
		wantErr := json.Unmarshal(out, &want) != nil
		r, s, err := envelopeMembers(out)
		if wantErr {
			if err == nil {
				t.Fatalf("%s: no error, encoding/json gives one", out)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if diff := cmp.Diff([2]string{string(want.Result), string(want.State)}, [2]string{string(r), string(s)}); diff != "" {
			t.Errorf("%s: result, state (-encoding/json +envelopeMembers):\n%s", out, diff)
		}
	})
}
