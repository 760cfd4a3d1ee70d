package js_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/adapters/js"
)

// The benchmarks measure the JavaScript backend against peers in the same run and report
// ratios:
//
//	js/go        a warm JavaScript echo procedure (Adapter.Call) against the Go guest's echo
//	             (the SDK's example bridge, whose echo returns its input byte for byte) on a 1 KiB
//	             JSON object
//	js/gojson    the same against a Go guest whose echo decodes the JSON and encodes it again
//	             (testdata/gojsonecho), the work a JavaScript echo does
//	js/bare      the same against the bare wazero call of the same module's call export (no
//	             pool, no checks): the price of the backend around the engine
//	js/ping      the same against the engine module's ping (Adapter.Call, no JavaScript): the
//	             price of entering JavaScript
//	cached/go    opening a JavaScript adapter and serving its first call with a warm compilation
//	             cache, against the same for the Go guest
//
//	go test -run '^$' -bench . -benchtime 2000x ./adapters/js/
//	go test -run '^$' -bench ColdStart -benchtime 5x ./adapters/js/

const (
	goGuestDir     = "../../sdk-wasm/go/examples/pkibridge"
	goJSONGuestDir = "testdata/gojsonecho"
)

const benchScript = `function echo(v) { return v; }`

func echoInput() json.RawMessage {
	v, _ := json.Marshal(map[string]any{"user": "alice", "roles": []string{"admin", "ops"}, "n": 42,
		"note": strings.Repeat("lorem ipsum ", 80)})
	return v
}

// bareEngine instantiates the engine module directly with wazero, with host functions that
// serve its configuration and do nothing else.
type bareEngine struct {
	mod     api.Module
	fns     map[string]api.Function
	free    api.Function
	failMsg *string   // the message of the last realmgate.fail
	logs    *[]string // the records of realmgate.log
}

func newBareEngine(b testing.TB, module string, settings map[string]string) *bareEngine {
	b.Helper()
	return newBareEngineWith(b, module, settings, nil)
}

// bareHost answers host functions by name (http, pki, invoke, sql): the answer becomes the
// pending result, or a negative code is returned when the answer is nil.
type bareHost map[string]func(req []byte) []byte

// newBareEngineWith is newBareEngine with host functions that answer as hosts says, and logs
// kept in logs when it is not nil.
func newBareEngineWith(b testing.TB, module string, settings map[string]string, hosts bareHost) *bareEngine {
	b.Helper()
	return newBareEngineChecked(b, module, settings, hosts, true)
}

// newBareEngineChecked is newBareEngineWith in a runtime that compiles the termination check
// into every loop of the module (as adapters/wasm always does) when checked is true, and none
// when it is false: BenchmarkEcho measures what the check costs a JavaScript call.
func newBareEngineChecked(b testing.TB, module string, settings map[string]string, hosts bareHost, checked bool) *bareEngine {
	b.Helper()
	ctx := context.Background()
	code, err := os.ReadFile(module)
	if err != nil {
		b.Fatal(err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(adaptertest.CompilationCacheDir(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cache.Close(ctx) })
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(checked).
		WithMemoryLimitPages(65536).WithCompilationCache(cache))
	b.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cfgJSON, _ := json.Marshal(settings)
	var pending []byte
	nop := func(results int) api.GoModuleFunc {
		return func(_ context.Context, _ api.Module, stack []uint64) {
			if results > 0 {
				stack[0] = 0
			}
		}
	}
	config := func(_ context.Context, _ api.Module, stack []uint64) {
		pending = cfgJSON
		stack[0] = uint64(len(pending))
	}
	result := func(_ context.Context, m api.Module, stack []uint64) {
		m.Memory().Write(uint32(stack[0]), pending)
		stack[0], pending = uint64(len(pending)), nil
	}
	serve := func(name string) api.GoModuleFunc {
		h := hosts[name]
		if h == nil {
			return nop(1)
		}
		return func(_ context.Context, m api.Module, stack []uint64) {
			req, _ := m.Memory().Read(uint32(stack[0]), uint32(stack[1]))
			answer := h(append([]byte(nil), req...))
			if answer == nil {
				stack[0] = api.EncodeI32(-1)
				return
			}
			pending = answer
			stack[0] = uint64(len(pending))
		}
	}
	logs := new([]string)
	logf := func(_ context.Context, m api.Module, stack []uint64) {
		msg, _ := m.Memory().Read(uint32(stack[1]), uint32(stack[2]))
		*logs = append(*logs, string(msg))
	}
	failMsg := new(string)
	fail := func(_ context.Context, m api.Module, stack []uint64) {
		msg, _ := m.Memory().Read(uint32(stack[0]), uint32(stack[1]))
		*failMsg = string(msg)
	}
	i32 := api.ValueTypeI32
	_, err = rt.NewHostModuleBuilder("realmgate").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(fail), []api.ValueType{i32, i32}, nil).Export("fail").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(logf), []api.ValueType{i32, i32, i32}, nil).Export("log").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(config), nil, []api.ValueType{i32}).Export("config").
		NewFunctionBuilder().WithGoModuleFunction(serve("http"), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("http").
		NewFunctionBuilder().WithGoModuleFunction(serve("pki"), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("pki").
		NewFunctionBuilder().WithGoModuleFunction(serve("invoke"), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("invoke").
		NewFunctionBuilder().WithGoModuleFunction(serve("sql"), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("sql").
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
	m := &bareEngine{mod: mod, fns: map[string]api.Function{}, free: mod.ExportedFunction("realmgate_free"), failMsg: failMsg, logs: logs}
	for name := range compiled.ExportedFunctions() {
		m.fns[name] = mod.ExportedFunction(name)
	}
	return m
}

// call is the ABI call of procedure at its barest.
func (m *bareEngine) call(ctx context.Context, procedure string, in []byte, stack []uint64) []byte {
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

type peer struct {
	name string
	run  func()
}

// compare runs each peer warm times untimed, then b.N times in interleaved rounds (so that a
// change of machine load weighs on all alike), and reports each peer's time per call and the
// ratio of the first to each other.
func compare(b *testing.B, warm int, peers ...peer) (nsPerCall []float64) {
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
		n := b.N / rounds
		if r < b.N%rounds {
			n++
		}
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
	return per
}

// BenchmarkEcho: a warm JavaScript echo against the Go guest's echo, the bare wazero call of the
// engine, the same call in a runtime without the termination check in the module's loops
// (unchecked/go says what the echo would cost against the Go guest's without it), and the
// engine's ping.
func BenchmarkEcho(b *testing.B) {
	ctx := context.Background()
	in := echoInput()
	jsA, err := openScript(b, benchScript, adapters.Config{Name: "Bench", Procedures: []string{"echo"}})
	if err != nil {
		b.Fatal(err)
	}
	goA, err := adapters.Open(ctx, adapters.Config{Name: "bench", Kind: "wasm", Module: adaptertest.BuildGoWasm(b, goGuestDir),
		CacheDir: adaptertest.CompilationCacheDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { goA.Close(ctx) })
	goJSONA, err := adapters.Open(ctx, adapters.Config{Name: "benchjson", Kind: "wasm", Module: adaptertest.BuildGoWasm(b, goJSONGuestDir),
		CacheDir: adaptertest.CompilationCacheDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { goJSONA.Close(ctx) })
	pingA, err := adapters.Open(ctx, adapters.Config{Name: "ping", Kind: "wasm", Module: engineModule(b),
		CacheDir: adaptertest.CompilationCacheDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pingA.Close(ctx) })
	jsIn, _ := json.Marshal(map[string]any{"parameters": []json.RawMessage{in}})
	callIn, _ := json.Marshal(map[string]any{"procedure": "echo", "input": json.RawMessage(jsIn)})
	benchSettings := map[string]string{js.SettingFile: "Bench-impl.js", js.SettingSource: benchScript, "adapter": "Bench"}
	bare := newBareEngine(b, engineModule(b), benchSettings)
	unchecked := newBareEngineChecked(b, engineModule(b), benchSettings, nil, false)
	stack := make([]uint64, 2)

	want, err := jsA.Call(ctx, "echo", jsIn)
	if err != nil {
		b.Fatal(err)
	}
	goOut, err := goA.Call(ctx, "echo", in)
	if err != nil {
		b.Fatal(err)
	}
	var bareOut struct {
		Result json.RawMessage `json:"result"`
	}
	got := bare.call(ctx, "call", callIn, stack)
	if err := json.Unmarshal(got, &bareOut); err != nil || string(bareOut.Result) != string(want) || !jsonEqual(want, in) || !jsonEqual(goOut, in) {
		b.Fatalf("the peers disagree: js %s, bare %s, go %s", want, got, goOut)
	}
	per := compare(b, 2000,
		peer{"js", func() {
			if _, err := jsA.Call(ctx, "echo", jsIn); err != nil {
				b.Fatal(err)
			}
		}},
		peer{"go", func() {
			if _, err := goA.Call(ctx, "echo", in); err != nil {
				b.Fatal(err)
			}
		}},
		peer{"gojson", func() {
			if _, err := goJSONA.Call(ctx, "echo", in); err != nil {
				b.Fatal(err)
			}
		}},
		peer{"bare", func() { bare.call(ctx, "call", callIn, stack) }},
		peer{"unchecked", func() { unchecked.call(ctx, "call", callIn, stack) }},
		peer{"ping", func() {
			if _, err := pingA.Call(ctx, "ping", in); err != nil {
				b.Fatal(err)
			}
		}},
	)
	b.ReportMetric(per[4]/per[1], "unchecked/go")
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// BenchmarkColdStart: opening a JavaScript adapter and serving its first call with a warm
// compilation cache (the engine compiled before), against the same for the Go guest.
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	cache := adaptertest.CompilationCacheDir(b)
	engine := engineModule(b)
	goModule := adaptertest.BuildGoWasm(b, goGuestDir)
	script := writeScript(b, "Cold", benchScript, nil)
	in := json.RawMessage(`{"parameters":[{"a":1}]}`)
	openJS := func() {
		a, err := adapters.Open(ctx, adapters.Config{Name: "Cold", Kind: js.Kind, Module: engine, Script: script,
			Procedures: []string{"echo"}, CacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Call(ctx, "echo", in); err != nil {
			b.Fatal(err)
		}
		a.Close(ctx)
	}
	openGo := func() {
		a, err := adapters.Open(ctx, adapters.Config{Name: "cold", Kind: "wasm", Module: goModule, CacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Call(ctx, "echo", json.RawMessage(`{"a":1}`)); err != nil {
			b.Fatal(err)
		}
		a.Close(ctx)
	}
	compare(b, 1, peer{"cached", openJS}, peer{"go", openGo})
}
