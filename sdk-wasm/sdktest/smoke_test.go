package sdktest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBareSmoke runs the core procedures of every example through the bare host: the check
// that does not need the real host.
func TestBareSmoke(t *testing.T) {
	for _, lang := range languages {
		t.Run(lang.Name, func(t *testing.T) {
			_, wasm := example(t, lang)
			h := newBareHost(t, wasm, map[string]string{"greeting": "hello", "adapter": "ex"})
			in := h.instance(t)
			ctx := context.Background()
			tests := []struct {
				proc, input, want string
			}{
				{"echo", `{"a":[1,2.5e10,"\u00e9\ud83d\ude00",null,true,false,{}],"b":-0.0}`, `{"a":[1,2.5e10,"é😀",null,true,false,{}],"b":-0.0}`},
				{"config", `{}`, `{"adapter":"ex","greeting":"hello"}`},
				{"log", `{"msg":"hi","level":"warn"}`, `{"logged":true}`},
				{"validateCSR", `{"csr":"MIIB","csrInfo":{"cn":"alice"},"userIdentity":{"userName":"alice"}}`, `{"valid":"YES"}`},
				{"validateCSR", `{"csr":"MIIB","csrInfo":{"cn":"alice\u0000x"},"userIdentity":{"userName":"alice"}}`, `{"valid":"NO"}`},
			}
			for _, tt := range tests {
				out, _, err := in.call(ctx, tt.proc, []byte(tt.input))
				if err != nil {
					t.Errorf("%s(%s): %v", tt.proc, tt.input, err)
					continue
				}
				var got, want any
				if err := json.Unmarshal(out, &got); err != nil {
					t.Errorf("%s: output %q: %v", tt.proc, out, err)
					continue
				}
				json.Unmarshal([]byte(tt.want), &want)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("%s(%s) (-want +got):\n%s", tt.proc, tt.input, d)
				}
			}
			_, st, err := in.call(ctx, "fail", []byte(`{"message":"nope"}`))
			if err == nil || st.failMsg != "nope" {
				t.Errorf("fail: err %v, message %q; want the guest's message nope", err, st.failMsg)
			}
			if _, _, err := in.call(ctx, "echo", []byte(`[1]`)); err != nil {
				t.Errorf("call after a failure: %v", err)
			}
		})
	}
}
