package plugins

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/plugins/internal/pluginpb"
)

// BenchmarkCall compares a call through the backend with a bare go-plugin gRPC call of the same
// procedure on the same plugin process, interleaved so that both see the same machine load. The
// ratio metric "backend/bare" is the backend's overhead: input and output checks, the deadline,
// the response's decoding.
func BenchmarkCall(b *testing.B) {
	for _, size := range []struct {
		name  string
		input string
	}{
		{"small", `{"userName":"alice","deviceId":"device-1","n":1}`},
		{"10KiB", `{"data":"` + strings.Repeat("0123456789abcdef", 10<<10/16) + `"}`},
	} {
		b.Run(size.name, func(b *testing.B) {
			a, _ := openTest(b, nil)
			in := a.cur.Load()
			ctx := context.Background()
			input := json.RawMessage(size.input)
			req := &pluginpb.CallRequest{Procedure: "echo", Input: input}
			backend := func() {
				if _, err := a.Call(ctx, "echo", input); err != nil {
					b.Fatal(err)
				}
			}
			bare := func() {
				if _, err := in.rpc.Call(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			backend() // warm both paths
			bare()
			var tBackend, tBare time.Duration
			i := 0
			for b.Loop() {
				// Alternate the order so that neither call always follows the other.
				if i%2 == 0 {
					t0 := time.Now()
					backend()
					t1 := time.Now()
					bare()
					tBackend, tBare = tBackend+t1.Sub(t0), tBare+time.Since(t1)
				} else {
					t0 := time.Now()
					bare()
					t1 := time.Now()
					backend()
					tBare, tBackend = tBare+t1.Sub(t0), tBackend+time.Since(t1)
				}
				i++
			}
			b.ReportMetric(float64(tBackend.Nanoseconds())/float64(i), "backend-ns/call")
			b.ReportMetric(float64(tBare.Nanoseconds())/float64(i), "bare-ns/call")
			b.ReportMetric(float64(tBackend)/float64(tBare), "backend/bare")
		})
	}
}
