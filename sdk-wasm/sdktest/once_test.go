package sdktest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// TestOnce drives each SDK's wrapper of realmgate.once through the examples' once procedure
// and the wasm host: first use, repeated use, keys namespaced per adapter, the bounds (a key over
// 1 KiB, a TTL out of range), and a store that is down or absent, each failing the call with the
// SDK's reason.
func TestOnce(t *testing.T) {
	for _, lang := range languages {
		t.Run(lang.Name, func(t *testing.T) {
			module, _ := example(t, lang)
			su := adaptertest.NewSingleUse()
			a := openWasm(t, module, adapters.Config{Name: "once", SingleUse: su})
			other := openWasm(t, module, adapters.Config{Name: "other", SingleUse: su})
			none := openWasm(t, module, adapters.Config{Name: "none"})
			type step struct {
				name  string
				a     adapters.Adapter
				key   string
				ttl   int64
				first bool
				fail  string // a part of the failure message; "" for success
			}
			steps := []step{
				{"first", a, "code-1", 60, true, ""},
				{"used", a, "code-1", 60, false, ""},
				{"another adapter, same key", other, "code-1", 60, true, ""},
				{"unicode key", a, "ünï-cødé ☃", 60, true, ""},
				{"the longest key", a, strings.Repeat("k", 1024), 400 * 24 * 60 * 60, true, ""},
				{"key over 1 KiB", a, strings.Repeat("k", 1025), 60, false, "1 to 1024 bytes"},
				{"empty key", a, "", 60, false, "1 to 1024 bytes"},
				{"TTL 0", a, "code-2", 0, false, "1 second to 400 days"},
				{"TTL over 400 days", a, "code-2", 400*24*60*60 + 1, false, "1 second to 400 days"},
				{"not refused before: code-2 is new", a, "code-2", 1, true, ""},
				{"no store", none, "code-3", 60, false, "not available"},
			}
			run := func(s step) {
				t.Helper()
				in, _ := json.Marshal(map[string]any{"key": s.key, "ttl": s.ttl})
				out, err := s.a.Call(t.Context(), "once", in)
				if s.fail != "" {
					if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "", "once"); e != nil && !strings.Contains(e.Message, s.fail) {
						t.Errorf("%s: message %q, want it to say %q", s.name, e.Message, s.fail)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				var got struct {
					First bool `json:"first"`
				}
				if err := adaptertest.DecodeStrict(out, &got); err != nil {
					t.Fatalf("%s: output %s: %v", s.name, out, err)
				}
				if got.First != s.first {
					t.Errorf("%s: first = %v, want %v", s.name, got.First, s.first)
				}
			}
			for _, s := range steps {
				run(s)
			}
			su.Err = errors.New("the database is down")
			run(step{"store down", a, "code-4", 60, false, "not available"})
		})
	}
}
