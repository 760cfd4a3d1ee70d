package sdktest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
)

// BenchmarkWarmCall measures one call of an example procedure on a warm instance through the
// wasm host (pool, deadline, input and output checks) against a bare wazero call of the same
// module with the same deadline (bareHost: alloc, write, call, read, free), alternating blocks
// of calls in the same loop so that both see the same machine. It reports both per-call times
// and their ratio (host/bare).
//
//	go test ./sdk-wasm/sdktest -run '^$' -bench WarmCall -benchtime 2000x
func BenchmarkWarmCall(b *testing.B) {
	const block = 50
	inputs := []struct{ proc, input string }{
		{"echo", `{"userName":"alice","deviceId":"device-1"}`},
		{"validateCSR", `{"deviceId":"device-1","csr":"MIIB","userIdentity":{"userName":"alice","displayName":"Alice",` +
			`"attributes":{"department":"engineering"}},"appId":"com.example.app","csrInfo":{"dn":"CN=alice,O=Realmgate Example","cn":"alice",` +
			`"publicKey":{"base64":"MFkw","algorithm":"EC"},"signature":{"base64":"MEUC","algorithm":"SHA256withECDSA"}},` +
			`"clientData":{"activationCode":"1234-5678"}}`},
	}
	for _, lang := range languages {
		b.Run(lang.Name, func(b *testing.B) {
			module, wasm := example(b, lang)
			a, err := adapters.Open(context.Background(), adapters.Config{Kind: "wasm", Name: "bench", Module: module})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.Close(context.Background()) })
			bare := newBareHost(b, wasm, map[string]string{"adapter": "bench"}).instance(b)
			ctx := context.Background()
			for _, in := range inputs {
				b.Run(in.proc, func(b *testing.B) {
					raw := json.RawMessage(in.input)
					var host, peer time.Duration
					b.ResetTimer()
					// Blocks of calls, alternating: a call with a deadline leaves wazero's
					// watcher goroutine to finish after it returns, which would otherwise be
					// billed to whichever call comes next.
					for done := 0; done < b.N; done += block {
						k := min(block, b.N-done)
						t0 := time.Now()
						for range k {
							if _, err := a.Call(ctx, in.proc, raw); err != nil {
								b.Fatal(err)
							}
						}
						t1 := time.Now()
						for range k {
							cctx, cancel := context.WithTimeout(ctx, adapters.DefaultLimits.CallTimeout)
							_, _, err := bare.call(cctx, in.proc, raw)
							cancel()
							if err != nil {
								b.Fatal(err)
							}
						}
						host += t1.Sub(t0)
						peer += time.Since(t1)
					}
					n := float64(b.N)
					b.ReportMetric(float64(host.Nanoseconds())/n, "host-ns/call")
					b.ReportMetric(float64(peer.Nanoseconds())/n, "bare-ns/call")
					b.ReportMetric(float64(host)/float64(peer), "host/bare")
				})
			}
		})
	}
}
