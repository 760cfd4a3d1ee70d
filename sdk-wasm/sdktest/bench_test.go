package sdktest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
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

// BenchmarkHostPKISign: each example's sign procedure (the SDK's host PKI call: the guest
// decodes its input, writes the template, and the host verifies the CSR and signs with its key;
// for Go, the example bridge's generateCertificate on the bridge's input)
// against the same work done natively in this process (the CSR parsed and verified, the
// certificate signed), interleaved in blocks so that both see the same machine. The ratio
// wasm/native is what a bridge in that language pays over the host's own signature.
//
//	go test ./sdk-wasm/sdktest -run '^$' -bench HostPKISign -benchtime 1000x
func BenchmarkHostPKISign(b *testing.B) {
	ca := adaptertest.NewCA(b, "Bench CA")
	const n = 512
	inputs, ders := make([][]byte, n), make([][]byte, n)
	for i := range n {
		_, csr := adaptertest.NewCSR(b, pkix.Name{CommonName: "device-1"})
		inputs[i], _ = json.Marshal(map[string]any{"csr": base64.StdEncoding.EncodeToString(csr.Raw), "commonName": "device-1"})
		ders[i] = csr.Raw
	}
	native := func(i int) {
		csr, err := x509.ParseCertificateRequest(ders[i%n])
		if err != nil || csr.CheckSignature() != nil {
			b.Fatal("bad CSR")
		}
		serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		now := time.Now()
		if _, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "device-1"},
			NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(365 * 24 * time.Hour), BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
			ca.Cert, csr.PublicKey, ca.Key); err != nil {
			b.Fatal(err)
		}
	}
	// The Go example signs in generateCertificate, on the PKI bridge's input.
	goInputs := make([][]byte, n)
	for i := range n {
		csr, _ := x509.ParseCertificateRequest(ders[i])
		goInputs[i], _ = json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{DeviceID: "device-1",
			UserIdentity: adapters.UserIdentity{UserName: "device-1"}}, csr))
	}
	type guest struct {
		name, module, procedure string
		inputs                  [][]byte
	}
	guests := []guest{{"go", adaptertest.BuildGoWasm(b, "../go/examples/pkibridge"), "generateCertificate", goInputs}}
	for _, lang := range languages {
		module := ""
		b.Run("build-"+lang.Name, func(b *testing.B) { module, _ = example(b, lang) })
		if module != "" {
			guests = append(guests, guest{lang.Name, module, "sign", inputs})
		}
	}
	for _, g := range guests {
		b.Run(g.name, func(b *testing.B) {
			a, err := adapters.Open(context.Background(), adapters.Config{Kind: "wasm", Name: "bench", Module: g.module,
				CacheDir: adaptertest.CompilationCacheDir(b), PKI: &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "bench"}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.Close(context.Background()) })
			ctx := context.Background()
			wasm := func(i int) {
				if _, err := a.Call(ctx, g.procedure, g.inputs[i%n]); err != nil {
					b.Fatal(err)
				}
			}
			for i := range 50 {
				wasm(i)
				native(i)
			}
			const block = 50
			var tw, tn time.Duration
			b.ResetTimer()
			for done := 0; done < b.N; done += block {
				k := min(block, b.N-done)
				t0 := time.Now()
				for i := range k {
					wasm(done + i)
				}
				t1 := time.Now()
				for i := range k {
					native(done + i)
				}
				tw += t1.Sub(t0)
				tn += time.Since(t1)
			}
			b.ReportMetric(float64(tw.Microseconds())/float64(b.N), "wasm-us/call")
			b.ReportMetric(float64(tn.Microseconds())/float64(b.N), "native-us/call")
			b.ReportMetric(float64(tw)/float64(tn), "wasm/native")
		})
	}
}
