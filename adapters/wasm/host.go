package wasm

import (
	"context"
	"log/slog"

	"github.com/tetratelabs/wazero/api"
)

// The host functions of ABI.md, module "realmgate", and AssemblyScript's env.abort. They find
// the call they serve in their context (see callState). A pointer/length pair outside the
// guest's memory panics with a hostTrap, which wazero turns into the call's error.

func (a *adapter) instantiateHost(ctx context.Context) error {
	fn := func(f api.GoModuleFunc) api.GoModuleFunction { return f }
	b := a.rt.NewHostModuleBuilder(hostModule)
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostFail), []api.ValueType{i32, i32}, nil).
		WithParameterNames("ptr", "len").Export("fail")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostLog), []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").Export("log")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostConfig), nil, []api.ValueType{i32}).
		Export("config")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostHTTP), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").Export("http")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostPKI), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").Export("pki")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostResult), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").Export("result")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostOnce), []api.ValueType{i32, i32, i64}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len", "ttl_seconds").Export("once") // once.go
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostInvoke), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").Export("invoke") // invoke.go
	b.NewFunctionBuilder().WithGoModuleFunction(fn(a.hostSQL), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").Export("sql") // sqlhost.go
	if _, err := b.Instantiate(ctx); err != nil {
		return err
	}
	_, err := a.rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithGoModuleFunction(fn(a.hostAbort), []api.ValueType{i32, i32, i32, i32}, nil).
		WithParameterNames("msg", "file", "line", "column").Export("abort").
		Instantiate(ctx)
	return err
}

// read returns the guest bytes [ptr, ptr+n) or traps the call.
func read(mod api.Module, fn string, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(&hostTrap{msg: "the guest passed realmgate." + fn + " a buffer [" + itoa(ptr) + ", +" + itoa(n) + ") " + errOutOfRange.Error()})
	}
	return b
}

func itoa(v uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// fail(ptr, len): records the failure message of the call.
func (a *adapter) hostFail(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	st := stateOf(ctx)
	st.failed = true
	st.failMsg = failMessage(read(mod, "fail", ptr, n))
}

// log(level, ptr, len): one structured record through the adapter's logger.
func (a *adapter) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	level := int32(api.DecodeU32(stack[0]))
	ptr, n := api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	b := read(mod, "log", ptr, n)
	st := stateOf(ctx)
	if st.logs >= maxLogRecords {
		st.dropped++
		return
	}
	st.logs++
	msg, attrs := parseLogRecord(b)
	attrs = append(attrs, slog.String("procedure", st.procedure))
	a.logger.LogAttrs(ctx, slog.Level(level), msg, attrs...)
}

// config() -> len: the configuration object becomes the pending result.
func (a *adapter) hostConfig(ctx context.Context, _ api.Module, stack []uint64) {
	st := stateOf(ctx)
	st.pending = a.configJSON
	stack[0] = api.EncodeU32(uint32(len(st.pending)))
}

// http(ptr, len) -> len: one outbound request; the response becomes the pending result.
func (a *adapter) hostHTTP(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	st := stateOf(ctx)
	b := read(mod, "http", ptr, n)
	st.pending = a.http.do(ctx, b)
	stack[0] = api.EncodeU32(uint32(len(st.pending)))
}

// pki(ptr, len) -> len: one operation of the host PKI capability (pkicap.go); the answer
// becomes the pending result. An adapter without the grant gets {"error": ...}, never a trap:
// the guest decides what its caller sees.
func (a *adapter) hostPKI(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	st := stateOf(ctx)
	b := read(mod, "pki", ptr, n)
	st.pending = a.pki.do(ctx, st.procedure, b)
	stack[0] = api.EncodeU32(uint32(len(st.pending)))
}

// result(ptr, len) -> copied: copies the pending result into the guest's buffer and clears it.
// A buffer shorter than the result gets its first len bytes; the guest sees the shortfall in
// the count.
func (a *adapter) hostResult(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	st := stateOf(ctx)
	dst := read(mod, "result", ptr, n)
	copied := copy(dst, st.pending)
	st.pending = nil
	stack[0] = api.EncodeU32(uint32(copied))
}

// abort(msg, file, line, column): AssemblyScript's abort; fails the call with its message.
func (a *adapter) hostAbort(ctx context.Context, mod api.Module, stack []uint64) {
	var mem []byte
	if m := mod.Memory(); m != nil {
		mem, _ = m.Read(0, m.Size())
	}
	msg := abortMessage(readASString(mem, api.DecodeU32(stack[0])), readASString(mem, api.DecodeU32(stack[1])),
		api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	st := stateOf(ctx)
	st.aborted, st.abortMsg = true, msg
	panic(&guestAbort{msg: msg})
}
