package sdktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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

// BenchmarkOnce measures the C example's once procedure (a fresh key each call, marked in an
// in-memory single-use store: the host function's own cost, hashing included, without a
// database) against echo of the same input on the same adapter, alternating blocks of calls so
// that both see the same machine. It reports both per-call times and their ratio (once/echo).
//
//	go test ./sdk-wasm/sdktest -run '^$' -bench Once -benchtime 5000x
func BenchmarkOnce(b *testing.B) {
	const block = 50
	var c language
	for _, l := range languages {
		if l.Name == "c" {
			c = l
		}
	}
	module, _ := example(b, c)
	a, err := adapters.Open(b.Context(), adapters.Config{Kind: "wasm", Name: "once", Module: module,
		CacheDir: adaptertest.CompilationCacheDir(b), Limits: adapters.Limits{Instances: 1},
		SingleUse: adaptertest.NewSingleUse()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(b.Context()) })
	inputs := make([]json.RawMessage, b.N)
	for i := range inputs {
		inputs[i] = json.RawMessage(fmt.Sprintf(`{"key":"MDM-%012d","ttl":3600}`, i))
	}
	ctx := b.Context()
	var once, echo time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		k := min(block, b.N-done)
		t0 := time.Now()
		for i := range k {
			if _, err := a.Call(ctx, "once", inputs[done+i]); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for i := range k {
			if _, err := a.Call(ctx, "echo", inputs[done+i]); err != nil {
				b.Fatal(err)
			}
		}
		once += t1.Sub(t0)
		echo += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(once.Nanoseconds())/n, "once-ns/call")
	b.ReportMetric(float64(echo.Nanoseconds())/n, "echo-ns/call")
	b.ReportMetric(float64(once)/float64(echo), "once/echo")
}
