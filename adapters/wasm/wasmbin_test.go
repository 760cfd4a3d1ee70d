package wasm_test

// A tiny encoder of WebAssembly binaries, so that tests can state exactly which ABI rule a
// module breaks (a wrong version, a missing export, a bad pointer) without a toolchain.

import (
	"encoding/binary"
)

// Value types and opcodes the test modules use.
const (
	tI32 = 0x7f
	tI64 = 0x7e

	opUnreachable = 0x00
	opLoop        = 0x03
	opEnd         = 0x0b
	opBr          = 0x0c
	opCall        = 0x10
	opDrop        = 0x1a
	opLocalGet    = 0x20
	opI32Const    = 0x41
	opI64Const    = 0x42
	opMemoryGrow  = 0x40
	opI64Or       = 0x84
	opI64Shl      = 0x86
	opI64ExtendU  = 0xad
	blockVoid     = 0x40
)

type wasmImport struct {
	module, name    string
	params, results []byte
}

type wasmFunc struct {
	export          string // "" keeps it private
	params, results []byte
	body            []byte // instructions, without the final end
}

type wasmModule struct {
	imports []wasmImport
	funcs   []wasmFunc
	memMin  uint32
	memMax  int64 // -1: no maximum
	noMem   bool  // define no memory
	memName string
	data    []dataSegment
}

// dataSegment is bytes placed in memory at offset when the module is instantiated.
type dataSegment struct {
	offset int32
	bytes  []byte
}

func uleb(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func name(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func vec(items ...[]byte) []byte {
	b := uleb(uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func section(id byte, content []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(content)))...), content...)
}

func funcType(params, results []byte) []byte {
	return append(append([]byte{0x60}, vec(splitBytes(params)...)...), vec(splitBytes(results)...)...)
}

func splitBytes(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

func (m wasmModule) bytes() []byte {
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	var types, imports, funcs, exports, codes [][]byte
	for i, im := range m.imports {
		types = append(types, funcType(im.params, im.results))
		imports = append(imports, append(append(name(im.module), name(im.name)...), append([]byte{0x00}, uleb(uint64(i))...)...))
	}
	for i, f := range m.funcs {
		ti := len(types)
		types = append(types, funcType(f.params, f.results))
		funcs = append(funcs, uleb(uint64(ti)))
		if f.export != "" {
			exports = append(exports, append(name(f.export), append([]byte{0x00}, uleb(uint64(len(m.imports)+i))...)...))
		}
		body := append([]byte{0x00}, f.body...) // no locals
		body = append(body, opEnd)
		codes = append(codes, append(uleb(uint64(len(body))), body...))
	}
	out = append(out, section(1, vec(types...))...)
	if len(imports) > 0 {
		out = append(out, section(2, vec(imports...))...)
	}
	out = append(out, section(3, vec(funcs...))...)
	if !m.noMem {
		limits := append([]byte{0x00}, uleb(uint64(m.memMin))...)
		if m.memMax >= 0 {
			limits = append(append([]byte{0x01}, uleb(uint64(m.memMin))...), uleb(uint64(m.memMax))...)
		}
		out = append(out, section(5, vec(limits))...)
		memName := m.memName
		if memName == "" {
			memName = "memory"
		}
		exports = append(exports, append(name(memName), 0x02, 0x00))
	}
	out = append(out, section(7, vec(exports...))...)
	out = append(out, section(10, vec(codes...))...)
	if len(m.data) > 0 {
		var segs [][]byte
		for _, d := range m.data {
			seg := append([]byte{0x00}, i32Const(d.offset)...)
			seg = append(seg, opEnd)
			seg = append(seg, uleb(uint64(len(d.bytes)))...)
			segs = append(segs, append(seg, d.bytes...))
		}
		out = append(out, section(11, vec(segs...))...)
	}
	return out
}

// Instruction helpers.
func i32Const(v int32) []byte     { return append([]byte{opI32Const}, sleb(int64(v))...) }
func i64Const(v int64) []byte     { return append([]byte{opI64Const}, sleb(v)...) }
func localGet(i uint32) []byte    { return append([]byte{opLocalGet}, uleb(uint64(i))...) }
func callFn(i uint32) []byte      { return append([]byte{opCall}, uleb(uint64(i))...) }
func code(parts ...[]byte) []byte { return concat(parts...) }

func concat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// pack returns (ptr << 32) | len from two i32 locals.
func pack(ptrLocal, lenLocal uint32) []byte {
	return code(localGet(ptrLocal), []byte{opI64ExtendU}, i64Const(32), []byte{opI64Shl},
		localGet(lenLocal), []byte{opI64ExtendU}, []byte{opI64Or})
}

// abiFuncs are the ABI's required exports for a module whose alloc hands out a fixed buffer at
// 1024 (one call at a time, inputs up to 63 KiB) and whose free does nothing.
func abiFuncs(version int32) []wasmFunc {
	return []wasmFunc{
		{export: "realmgate_abi_version", results: []byte{tI32}, body: i32Const(version)},
		{export: "realmgate_alloc", params: []byte{tI32}, results: []byte{tI32}, body: i32Const(1024)},
		{export: "realmgate_free", params: []byte{tI32, tI32}},
	}
}

// echoModule is an adapter whose procedure echo returns its input: the smallest module that
// speaks the ABI.
func echoModule() wasmModule {
	return wasmModule{
		memMin: 1, memMax: -1,
		funcs: append(abiFuncs(1), wasmFunc{
			export: "realmgate_proc_echo", params: []byte{tI32, tI32}, results: []byte{tI64}, body: pack(0, 1),
		}),
	}
}

// loopForever is a body that never ends.
func loopForever() []byte { return code([]byte{opLoop, blockVoid, opBr, 0x00, opEnd, opUnreachable}) }

// callImport calls import 0 with the given i32 arguments and drops nothing.
func callImport(idx uint32, args ...int32) []byte {
	var b []byte
	for _, a := range args {
		b = append(b, i32Const(a)...)
	}
	return append(b, callFn(idx)...)
}
