package wasm_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/sdk-wasm/go/examples/pkibridge/bridge"
	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// The benchmarks measure the backend against peers in the same run and report ratios:
//
//	pool/bare    a warm call through Adapter.Call against the same ABI call made directly with
//	             wazero on an instance already made (alloc, write, call, read, free, free);
//	             the price of the pool, the limits, the checks and the typed errors
//	pool/native  the same call against the procedure's Go code run natively, JSON included
//	cached/cold  Open (compile and first instance) with a warm compilation cache against
//	             Open without one
//
//	go test -run '^$' -bench 'Echo|ValidateCSR|ValidJSON' -benchtime 3000x ./adapters/wasm/
//	go test -run '^$' -bench ColdStart -benchtime 2x ./adapters/wasm/

// bareModule instantiates module directly with wazero, with the runtime settings of the
// backend and host functions that do nothing.
type bareModule struct {
	rt   wazero.Runtime
	mod  api.Module
	fns  map[string]api.Function
	free api.Function
}

func newBareModule(b *testing.B, path string, settings map[string]string) *bareModule {
	b.Helper()
	ctx := context.Background()
	code, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(adaptertest.CompilationCacheDir(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cache.Close(ctx) })
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).
		WithMemoryLimitPages(65536).WithCompilationCache(cache))
	b.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	nop := func(results int) api.GoModuleFunc {
		return func(_ context.Context, _ api.Module, stack []uint64) {
			if results > 0 {
				stack[0] = 0
			}
		}
	}
	// config and result work (a bridge reads its settings); the others do nothing.
	cfg := map[string]string{"adapter": "bench"}
	for k, v := range settings {
		cfg[k] = v
	}
	cfgJSON, _ := json.Marshal(cfg)
	var pending []byte
	config := func(_ context.Context, _ api.Module, stack []uint64) {
		pending = cfgJSON
		stack[0] = uint64(len(pending))
	}
	result := func(_ context.Context, m api.Module, stack []uint64) {
		m.Memory().Write(uint32(stack[0]), pending)
		stack[0], pending = uint64(len(pending)), nil
	}
	i32 := api.ValueTypeI32
	_, err = rt.NewHostModuleBuilder("realmgate").
		NewFunctionBuilder().WithGoModuleFunction(nop(0), []api.ValueType{i32, i32}, nil).Export("fail").
		NewFunctionBuilder().WithGoModuleFunction(nop(0), []api.ValueType{i32, i32, i32}, nil).Export("log").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(config), nil, []api.ValueType{i32}).Export("config").
		NewFunctionBuilder().WithGoModuleFunction(nop(1), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("http").
		NewFunctionBuilder().WithGoModuleFunction(nop(1), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("pki").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(result), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("result").
		Instantiate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, code)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").
		WithStartFunctions("_initialize").WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader))
	if err != nil {
		b.Fatal(err)
	}
	m := &bareModule{rt: rt, mod: mod, fns: map[string]api.Function{}, free: mod.ExportedFunction("realmgate_free")}
	for name := range compiled.ExportedFunctions() {
		m.fns[name] = mod.ExportedFunction(name)
	}
	return m
}

// call is the ABI call of procedure at its barest.
func (m *bareModule) call(ctx context.Context, procedure string, in []byte, stack []uint64) []byte {
	stack[0] = uint64(len(in))
	if err := m.fns["realmgate_alloc"].CallWithStack(ctx, stack[:1]); err != nil {
		panic(err)
	}
	ptr := uint32(stack[0])
	m.mod.Memory().Write(ptr, in)
	stack[0], stack[1] = uint64(ptr), uint64(len(in))
	if err := m.fns["realmgate_proc_"+procedure].CallWithStack(ctx, stack); err != nil {
		panic(err)
	}
	outPtr, outLen := uint32(stack[0]>>32), uint32(stack[0])
	view, _ := m.mod.Memory().Read(outPtr, outLen)
	out := append([]byte(nil), view...)
	stack[0], stack[1] = uint64(outPtr), uint64(outLen)
	_ = m.free.CallWithStack(ctx, stack)
	stack[0], stack[1] = uint64(ptr), uint64(len(in))
	_ = m.free.CallWithStack(ctx, stack)
	return out
}

// compare runs each peer warm times untimed (a Go guest grows its heap over its first
// thousands of calls), then b.N times, in interleaved rounds so that a change of machine load
// weighs on all of them alike, and reports their times per call and the ratios of the first
// to the others.
func compare(b *testing.B, warm int, peers ...struct {
	name string
	run  func()
}) {
	b.Helper()
	for _, p := range peers {
		for range warm {
			p.run()
		}
	}
	b.ResetTimer()
	total := make([]time.Duration, len(peers))
	rounds := min(b.N, 20)
	for r := range rounds {
		n := b.N/rounds + btoi(r < b.N%rounds)
		for i, p := range peers {
			start := time.Now()
			for range n {
				p.run()
			}
			total[i] += time.Since(start)
		}
	}
	b.StopTimer()
	per := make([]float64, len(peers))
	for i := range peers {
		per[i] = float64(total[i].Nanoseconds()) / float64(b.N)
	}
	for i, p := range peers {
		b.ReportMetric(per[i], p.name+"-ns/call")
		if i > 0 {
			b.ReportMetric(per[0]/per[i], peers[0].name+"/"+p.name)
		}
	}
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

type peer = struct {
	name string
	run  func()
}

func benchCall(b *testing.B, procedure string, settings map[string]string, input []byte, warm int, native func([]byte) []byte) {
	module := adaptertest.BuildGoWasm(b, exampleDir)
	ctx := context.Background()
	a, err := adapters.Open(ctx, adapters.Config{Name: "bench", Kind: "wasm", Module: module, Settings: settings,
		CacheDir: adaptertest.CompilationCacheDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(ctx) })
	bare := newBareModule(b, module, settings)
	stack := make([]uint64, 2)
	want, err := a.Call(ctx, procedure, input)
	if err != nil {
		b.Fatal(err)
	}
	if got := bare.call(ctx, procedure, input, stack); string(got) != string(want) || string(native(input)) != string(want) {
		b.Fatalf("the peers disagree: pool %s, bare %s, native %s", want, got, native(input))
	}
	compare(b, warm,
		peer{"pool", func() {
			if _, err := a.Call(ctx, procedure, input); err != nil {
				b.Fatal(err)
			}
		}},
		peer{"bare", func() { bare.call(ctx, procedure, input, stack) }},
		peer{"native", func() { native(input) }},
	)
}

// BenchmarkEcho: the ABI's fixed cost, on a 1 KiB JSON object.
func BenchmarkEcho(b *testing.B) {
	in, _ := json.Marshal(map[string]any{"user": "alice", "roles": []string{"admin", "ops"}, "n": 42,
		"note": strings.Repeat("lorem ipsum ", 80)})
	benchCall(b, "echo", nil, in, 20000, func(in []byte) []byte {
		if !json.Valid(in) {
			b.Fatal("invalid")
		}
		return append([]byte(nil), in...)
	})
}

// BenchmarkValidateCSR: a PKI-bridge procedure (decode, parse the CSR, check its ECDSA
// signature, encode).
func BenchmarkValidateCSR(b *testing.B) {
	ca := adaptertest.NewCA(b, "Bench CA")
	settings := caSettings(b, ca)
	subject, _ := adaptertest.ParseRDNs("CN=alice,O=Example")
	_, csr := adaptertest.NewCSR(b, subject)
	input, _ := json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{UserIdentity: adapters.UserIdentity{UserName: "alice"}}, csr))
	br, err := bridge.New(settings, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchCall(b, "validateCSR", settings, input, 200, func(in []byte) []byte {
		var ci realmgate.CSRInput
		if err := json.Unmarshal(in, &ci); err != nil {
			b.Fatal(err)
		}
		v, err := br.ValidateCSR(ci)
		if err != nil || v.Valid != realmgate.Yes {
			b.Fatalf("native validateCSR = %v, %v", v, err)
		}
		out, _ := json.Marshal(v)
		return out
	})
}

// BenchmarkValidateCSRHostKey: the example bridge's validateCSR with the host PKI grant (it
// reads the csrInfo of the CSR the host verified; host-key/in-module 0.069 in two runs) against the same procedure parsing in the module (its
// settings hold the CA), and against the bridge's in-module logic run natively.
//
//	go test -run '^$' -bench ValidateCSRHostKey -benchtime 400x ./adapters/wasm/
func BenchmarkValidateCSRHostKey(b *testing.B) {
	ca := adaptertest.NewCA(b, "Bench CA")
	settings := caSettings(b, ca)
	subject, _ := adaptertest.ParseRDNs("CN=alice,O=Example")
	_, csr := adaptertest.NewCSR(b, subject)
	input, _ := json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{UserIdentity: adapters.UserIdentity{UserName: "alice"}}, csr))
	module := adaptertest.BuildGoWasm(b, exampleDir)
	ctx := context.Background()
	open := func(cfg adapters.Config) adapters.Adapter {
		cfg.Name, cfg.Kind, cfg.Module, cfg.CacheDir = "bench", "wasm", module, adaptertest.CompilationCacheDir(b)
		a, err := adapters.Open(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { a.Close(ctx) })
		return a
	}
	// The host's cache of verified CSRs would make every call after the first free: each call
	// gets a CSR of its own, made before the loop.
	csrs := make([][]byte, 0, 4096)
	for range cap(csrs) {
		_, c := adaptertest.NewCSR(b, subject)
		in, _ := json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{UserIdentity: adapters.UserIdentity{UserName: "alice"}}, c))
		csrs = append(csrs, in)
	}
	next := 0
	fresh := func() []byte { next = (next + 1) % len(csrs); return csrs[next] }
	host := open(adapters.Config{PKI: &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "bench"}})
	inModule := open(adapters.Config{Settings: settings})
	br, err := bridge.New(settings, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range []adapters.Adapter{host, inModule} {
		if out, err := a.Call(ctx, "validateCSR", input); err != nil || string(out) != `{"valid":"YES"}` {
			b.Fatalf("validateCSR = %s, %v", out, err)
		}
	}
	compare(b, 20,
		peer{"host-key", func() {
			if _, err := host.Call(ctx, "validateCSR", fresh()); err != nil {
				b.Fatal(err)
			}
		}},
		peer{"in-module", func() {
			if _, err := inModule.Call(ctx, "validateCSR", fresh()); err != nil {
				b.Fatal(err)
			}
		}},
		peer{"native", func() {
			var ci realmgate.CSRInput
			if err := json.Unmarshal(fresh(), &ci); err != nil {
				b.Fatal(err)
			}
			if v, err := br.ValidateCSR(ci); err != nil || v.Valid != realmgate.Yes {
				b.Fatalf("native validateCSR = %v, %v", v, err)
			}
		}},
	)
}

// BenchmarkColdStart: opening the Go example adapter (compile and first instance) with a warm
// compilation cache, as after a restart, against opening it with none.
func BenchmarkColdStart(b *testing.B) {
	module := adaptertest.BuildGoWasm(b, exampleDir)
	cacheDir := b.TempDir()
	ctx := context.Background()
	open := func(dir string) {
		a, err := adapters.Open(ctx, adapters.Config{Name: "cold", Kind: "wasm", Module: module, CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		a.Close(ctx)
	}
	compare(b, 1,
		peer{"cached", func() { open(cacheDir) }},
		peer{"cold", func() { open("") }},
	)
}

// BenchmarkBridgeInit: a PKI-bridge procedure (validateIdentity) with the realm's init run once
// per instance (CallInit, as the engine calls a bridge) against init run before every call (as
// Worklight did, and the engine did before CallInit).
//
//	go test -run '^$' -bench BridgeInit -benchtime 3000x ./adapters/wasm/
func BenchmarkBridgeInit(b *testing.B) {
	ca := adaptertest.NewCA(b, "Bench CA")
	settings := caSettings(b, ca)
	module := adaptertest.BuildGoWasm(b, exampleDir)
	ctx := context.Background()
	a, err := adapters.Open(ctx, adapters.Config{Name: "bench", Kind: "wasm", Module: module, Settings: settings,
		CacheDir: adaptertest.CompilationCacheDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(ctx) })
	params := map[string]string{"dependent-user-auth-realm": "Login",
		"pki-bridge-class": "com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI"}
	for _, role := range adapters.PKIRoles {
		params["adapter-pki-bridge-"+role+"-procedure"] = "Bridge." + adaptertest.PKIProcedures[role]
	}
	initInput, _ := json.Marshal(adapters.InitInput(params))
	init := adapters.Init{Procedure: "init", Input: initInput}
	input, _ := json.Marshal(adapters.IdentityInput{DeviceID: "d1", UserIdentity: adapters.UserIdentity{UserName: "alice"}})
	compare(b, 200,
		peer{"once", func() {
			if _, err := adapters.CallInit(ctx, a, init, "validateIdentity", input); err != nil {
				b.Fatal(err)
			}
		}},
		peer{"every", func() {
			if _, err := a.Call(ctx, "init", initInput); err != nil {
				b.Fatal(err)
			}
			if _, err := a.Call(ctx, "validateIdentity", input); err != nil {
				b.Fatal(err)
			}
		}},
	)
}

// BenchmarkGenerateCertificateHostKey: the Go example's generateCertificate signing with the
// host's key, as the engine calls it (the call carries the CSR the engine verified, so the
// capability does not verify it again), against the same call without it (the capability
// verifies the CSR: the cost before the engine handed it over), and against the built-in CA's
// own work for one certificate (x509.CreateCertificate with the same key), the peer of the
// issuance target. In two runs: carried/verified 0.95 and 0.91, carried/builtin 4.5 and 4.9 (the
// guest's JSON work in wasm, not the signature, is most of a call).
//
//	go test -run '^$' -bench GenerateCertificateHostKey -benchtime 2000x ./adapters/wasm/
func BenchmarkGenerateCertificateHostKey(b *testing.B) {
	ca := adaptertest.NewCA(b, "Bench CA")
	subject := pkix.Name{CommonName: "device-1"}
	// The capability's cache of verified CSRs would make every call after the first free of
	// the verify: each call gets a CSR of its own, more than the cache holds.
	const n = 2048
	inputs, csrs := make([][]byte, n), make([]*x509.CertificateRequest, n)
	for i := range n {
		_, csrs[i] = adaptertest.NewCSR(b, subject)
		inputs[i], _ = json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{DeviceID: "device-1",
			UserIdentity: adapters.UserIdentity{UserName: "device-1", DisplayName: "device-1", Attributes: map[string]any{}}}, csrs[i]))
	}
	module := adaptertest.BuildGoWasm(b, exampleDir)
	ctx := context.Background()
	a, err := adapters.Open(ctx, adapters.Config{Name: "bench", Kind: "wasm", Module: module, CacheDir: adaptertest.CompilationCacheDir(b),
		PKI: &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "bench"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(ctx) })
	next := 0
	call := func(carry bool) {
		next = (next + 1) % n
		c := ctx
		if carry {
			c = adapters.WithVerifiedCSR(ctx, csrs[next])
		}
		if _, err := a.Call(c, "generateCertificate", inputs[next]); err != nil {
			b.Fatal(err)
		}
	}
	compare(b, 200,
		peer{"carried", func() { call(true) }},
		peer{"verified", func() { call(false) }},
		peer{"builtin", func() {
			next = (next + 1) % n
			serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
			now := time.Now()
			if _, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: serial, Subject: subject,
				NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(365 * 24 * time.Hour), BasicConstraintsValid: true,
				KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
				ca.Cert, csrs[next].PublicKey, ca.Key); err != nil {
				b.Fatal(err)
			}
		}},
	)
}
