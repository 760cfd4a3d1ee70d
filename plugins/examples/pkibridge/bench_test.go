package main

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/plugins/internal/plugintest"
)

// BenchmarkGenerateCertificate: where the plugin bridge's issuance goes. Its generateCertificate
// through the plugin backend (gRPC to the process, which parses and verifies the CSR, reads its
// CA from the settings and signs) against the built-in CA's signature of the same kind of CSR in
// this process (pki.CA.Issue: the CSR parsed and verified, then signed, as the engine does),
// interleaved in blocks so that both see the same machine load. The ratio plugin/builtin is what
// the bridge costs over the built-in CA, before the daemon's own work, common to both.
//
//	go test -run '^$' -bench GenerateCertificate -benchtime 2000x ./plugins/examples/pkibridge/
func BenchmarkGenerateCertificate(b *testing.B) {
	ca, settings := caSettings(b)
	bin, sum := plugintest.Build(b, "plugins/examples/pkibridge")
	ctx := context.Background()
	a, err := adapters.Open(ctx, adapters.Config{Name: "bench", Kind: "plugin", Command: []string{bin}, SHA256: sum, Settings: settings})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(ctx) })
	builtin := &pki.CA{Cert: ca.Cert, Key: ca.Key}
	const n = 512
	inputs := make([][]byte, n)
	ders := make([][]byte, n)
	for i := range n {
		_, csr := adaptertest.NewCSR(b, pkix.Name{CommonName: "device-1"})
		in, _ := json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{DeviceID: "device-1", UserIdentity: adapters.UserIdentity{UserName: "device-1"}}, csr))
		inputs[i], ders[i] = in, csr.Raw
	}
	plugin := func(i int) {
		if _, err := a.Call(ctx, "generateCertificate", inputs[i%n]); err != nil {
			b.Fatal(err)
		}
	}
	native := func(i int) {
		csr, err := pki.ParseCSR(ders[i%n])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := builtin.Issue(csr, pki.IssueOptions{Subject: pkix.Name{CommonName: "device-1"}}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 50 {
		plugin(i)
		native(i)
	}
	var tp, tn time.Duration
	b.ResetTimer()
	const block = 50
	for done := 0; done < b.N; done += block {
		k := min(block, b.N-done)
		t0 := time.Now()
		for i := range k {
			plugin(done + i)
		}
		t1 := time.Now()
		for i := range k {
			native(done + i)
		}
		tp += t1.Sub(t0)
		tn += time.Since(t1)
	}
	b.ReportMetric(float64(tp.Microseconds())/float64(b.N), "plugin-us/call")
	b.ReportMetric(float64(tn.Microseconds())/float64(b.N), "builtin-us/call")
	b.ReportMetric(float64(tp)/float64(tn), "plugin/builtin")
}
