package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters"
)

// TestJSONMatchesMemberNamesExactly: a typed procedure reads a member only under its field's
// exact name, as a policy reading input.request.parameters does; a member that differs in case
// or by Unicode case folding is bad input, not the field, and so are a repeated member and
// invalid UTF-8.
func TestJSONMatchesMemberNamesExactly(t *testing.T) {
	type payment struct {
		Amount float64 `json:"amount"`
		Key    string  `json:"key"`
	}
	proc := JSON(func(_ context.Context, in struct {
		Parameters []payment `json:"parameters"`
	}) (payment, error) {
		return in.Parameters[0], nil
	})
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"exact", `{"parameters":[{"amount":50,"key":"k"}],"app":{"id":"A"}}`, `{"amount":50,"key":"k"}`, ""},
		{"capitalised", `{"parameters":[{"Amount":5000}]}`, "", `parameters[0]: unknown member "Amount"`},
		{"kelvin sign", `{"parameters":[{"amount":1,"\u212Aey":"k"}]}`, "", `the field is "key"`},
		{"envelope", `{"PARAMETERS":[{"amount":5000}]}`, "", `unknown member "PARAMETERS"`},
		{"after an unknown member", `{"app":{"id":"A"},"parameters":[{"amount":1},{"AMOUNT":5000}]}`, "", `parameters[1]: unknown member "AMOUNT"`},
		// What one reader or another could read differently is refused.
		{"repeated", `{"parameters":[{"amount":1,"amount":5000}]}`, "", `duplicate object member name "amount"`},
		{"repeated envelope", `{"parameters":[{"amount":1}],"parameters":[{"amount":5000}]}`, "", `duplicate object member name "parameters"`},
		{"invalid UTF-8", "{\"parameters\":[{\"amount\":1,\"key\":\"\xff\"}]}", "", "invalid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := proc(context.Background(), json.RawMessage(tc.in))
			if tc.err != "" {
				var ae *adapters.Error
				if !errors.As(err, &ae) || ae.Code != adapters.CodeBadInput || !strings.Contains(ae.Message, tc.err) {
					t.Fatalf("err = %v, want adapter_bad_input with %q", err, tc.err)
				}
				return
			}
			if err != nil || string(out) != tc.want {
				t.Fatalf("%s %v, want %s", out, err, tc.want)
			}
		})
	}
}
