package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// bareHost runs an adapter module under wazero with the fewest moving parts that satisfy
// ABI.md: no pool, no limits beyond memory, no HTTP. It is the peer of the real host in the
// benchmarks and the driver of the fuzz targets, which must reach the guest's JSON parser
// with bytes the real host would refuse as invalid JSON.
type bareHost struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	// http answers the guest's outbound requests (the request JSON in, the response JSON
	// out); nil refuses them all.
	http func(req []byte) []byte

	// used are the keys marked with realmgate.once (in memory, no expiry).
	onceMu sync.Mutex
	used   map[string]bool
}

type callState struct {
	pending []byte
	failed  bool
	failMsg string
	logs    []bareLog
}

type bareLog struct {
	Level int32
	Text  string
}

type stateKey struct{}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	if st == nil {
		st = &callState{} // calls during _initialize
	}
	return st
}

func read(m api.Module, ptr, n uint32) []byte {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("guest pointer %d+%d out of range", ptr, n))
	}
	return append([]byte(nil), b...)
}

func newBareHost(t testing.TB, wasm []byte, settings map[string]string) *bareHost {
	t.Helper()
	ctx := context.Background()
	h := &bareHost{}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).WithMemoryLimitPages(1024))
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	_, err := rt.NewHostModuleBuilder("realmgate").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) {
		st := stateOf(ctx)
		st.failed, st.failMsg = true, string(read(m, ptr, n))
	}).Export("fail").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, level int32, ptr, n uint32) {
		st := stateOf(ctx)
		st.logs = append(st.logs, bareLog{level, string(read(m, ptr, n))})
	}).Export("log").
		NewFunctionBuilder().WithFunc(func(ctx context.Context) int32 {
		st := stateOf(ctx)
		st.pending = settingsJSON(settings)
		return int32(len(st.pending))
	}).Export("config").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) int32 {
		st := stateOf(ctx)
		st.pending = []byte(`{"error":"outbound HTTP is not available in this host"}`)
		if h.http != nil {
			st.pending = h.http(read(m, ptr, n))
		}
		return int32(len(st.pending))
	}).Export("http").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) int32 {
		st := stateOf(ctx)
		st.pending = []byte(`{"error":"the host PKI capability is not available in this host"}`)
		return int32(len(st.pending))
	}).Export("pki").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) int32 {
		st := stateOf(ctx)
		if int(n) < len(st.pending) {
			panic(fmt.Errorf("result buffer of %d bytes for %d", n, len(st.pending)))
		}
		if !m.Memory().Write(ptr, st.pending) {
			panic(fmt.Errorf("result pointer %d out of range", ptr))
		}
		k := len(st.pending)
		st.pending = nil
		return int32(k)
	}).Export("result").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32, ttl int64) int32 {
		return h.once(string(read(m, ptr, n)), ttl)
	}).Export("once").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, msg, file, line, col uint32) {
		st := stateOf(ctx)
		st.failed, st.failMsg = true, "abort: "+asString(m, msg)
		panic(errors.New(st.failMsg))
	}).Export("abort").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	h.rt, h.compiled = rt, compiled
	return h
}

// resetOnce forgets the keys marked with realmgate.once.
func (h *bareHost) resetOnce() {
	h.onceMu.Lock()
	defer h.onceMu.Unlock()
	h.used = nil
}

// once is realmgate.once in memory: the bounds of ABI.md, then 1 the first time, 0 after.
func (h *bareHost) once(key string, ttl int64) int32 {
	if len(key) == 0 || len(key) > 1024 || ttl < 1 || ttl > 400*24*60*60 {
		return -2
	}
	h.onceMu.Lock()
	defer h.onceMu.Unlock()
	if h.used == nil {
		h.used = map[string]bool{}
	}
	if h.used[key] {
		return 0
	}
	h.used[key] = true
	return 1
}

// asString reads an AssemblyScript string (UTF-16, its byte length in the header before it).
func asString(m api.Module, ptr uint32) string {
	if ptr < 4 {
		return ""
	}
	n, ok := m.Memory().ReadUint32Le(ptr - 4)
	if !ok || n > 4096 {
		return ""
	}
	b, ok := m.Memory().Read(ptr, n&^1)
	if !ok {
		return ""
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

func settingsJSON(settings map[string]string) []byte {
	b, err := json.Marshal(settings)
	if err != nil {
		panic(err)
	}
	return b
}

// bareInstance is one instantiated module.
type bareInstance struct {
	mod         api.Module
	alloc, free api.Function
	procs       map[string]api.Function // looked up once: wazero makes a new handle per lookup
	mu          sync.Mutex
}

func (h *bareHost) instance(t testing.TB) *bareInstance {
	t.Helper()
	ctx := context.Background()
	mod, err := h.rt.InstantiateModule(ctx, h.compiled, wazero.NewModuleConfig().
		WithName("").WithStartFunctions("_initialize").WithSysWalltime().WithSysNanotime())
	if err != nil {
		t.Fatal(err)
	}
	v, err := mod.ExportedFunction("realmgate_abi_version").Call(ctx)
	if err != nil || v[0] != 1 {
		t.Fatalf("realmgate_abi_version = %v, %v; want 1", v, err)
	}
	in := &bareInstance{mod: mod, alloc: mod.ExportedFunction("realmgate_alloc"),
		free: mod.ExportedFunction("realmgate_free"), procs: map[string]api.Function{}}
	for _, p := range h.procedures() {
		in.procs[p] = mod.ExportedFunction("realmgate_proc_" + p)
	}
	return in
}

// guestError is a call the guest failed with realmgate.fail.
type guestError struct{ msg string }

func (e *guestError) Error() string { return "guest failed: " + e.msg }

// call runs one procedure the way ABI.md describes.
func (in *bareInstance) call(ctx context.Context, proc string, input []byte) ([]byte, *callState, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	st := &callState{}
	ctx = context.WithValue(ctx, stateKey{}, st)
	fn := in.procs[proc]
	if fn == nil {
		return nil, st, fmt.Errorf("no procedure %q", proc)
	}
	r, err := in.alloc.Call(ctx, uint64(len(input)))
	if err != nil {
		return nil, st, err
	}
	ptr := uint32(r[0])
	if ptr == 0 {
		return nil, st, errors.New("realmgate_alloc returned 0")
	}
	if !in.mod.Memory().Write(ptr, input) {
		return nil, st, errors.New("input pointer out of range")
	}
	r, err = fn.Call(ctx, uint64(ptr), uint64(len(input)))
	if err != nil {
		return nil, st, err
	}
	var out []byte
	if !st.failed {
		optr, olen := uint32(r[0]>>32), uint32(r[0])
		b, ok := in.mod.Memory().Read(optr, olen)
		if !ok {
			return nil, st, errors.New("output out of range")
		}
		out = append([]byte(nil), b...)
		if _, err := in.free.Call(ctx, uint64(optr), uint64(olen)); err != nil {
			return nil, st, err
		}
	}
	if _, err := in.free.Call(ctx, uint64(ptr), uint64(len(input))); err != nil {
		return nil, st, err
	}
	if st.failed {
		return nil, st, &guestError{st.failMsg}
	}
	return out, st, nil
}

// procedures lists the module's procedures from its exports.
func (h *bareHost) procedures() []string {
	var procs []string
	for name := range h.compiled.ExportedFunctions() {
		if p, ok := strings.CutPrefix(name, "realmgate_proc_"); ok {
			procs = append(procs, p)
		}
	}
	return procs
}
