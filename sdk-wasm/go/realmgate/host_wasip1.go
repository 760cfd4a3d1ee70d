//go:build wasip1

package realmgate

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import "unsafe"

// The host functions of ABI.md, module "realmgate".

//go:wasmimport realmgate fail
func hostFail(ptr unsafe.Pointer, size uint32)

//go:wasmimport realmgate log
func hostLog(level int32, ptr unsafe.Pointer, size uint32)

//go:wasmimport realmgate config
func hostConfig() uint32

//go:wasmimport realmgate http
func hostHTTP(ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport realmgate result
func hostResult(ptr unsafe.Pointer, size uint32) uint32

// pinned keeps the buffers the host holds (inputs from realmgate_alloc, outputs of
// procedures) alive until the host frees them. Go's garbage collector does not move objects,
// so their addresses stay valid.
var pinned = map[uint32][]byte{}

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

//go:wasmexport realmgate_alloc
func alloc(size uint32) uint32 {
	b := make([]byte, max(size, 1))
	p := addr(b)
	pinned[p] = b
	return p
}

//go:wasmexport realmgate_free
func free(ptr, size uint32) {
	delete(pinned, ptr)
}

//go:wasmexport realmgate_abi_version
func abiVersion() int32 { return ABIVersion }

// input returns the input buffer the host wrote at ptr.
func input(ptr, size uint32) []byte {
	b, ok := pinned[ptr]
	if !ok || uint64(size) > uint64(len(b)) {
		return nil
	}
	return b[:size]
}

// packResult pins out until the host frees it and returns (ptr << 32) | len.
func packResult(out []byte) uint64 {
	if len(out) == 0 {
		return 0
	}
	p := addr(out)
	pinned[p] = out
	return uint64(p)<<32 | uint64(len(out))
}

func fail(msg string) {
	hostFail(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func writeLog(level int32, record []byte) {
	hostLog(level, unsafe.Pointer(unsafe.SliceData(record)), uint32(len(record)))
}

// takeResult collects the pending result of n bytes.
func takeResult(n uint32) []byte {
	if n == 0 {
		return nil
	}
	buf := make([]byte, n)
	got := hostResult(unsafe.Pointer(&buf[0]), n)
	return buf[:min(got, n)]
}

func config() []byte { return takeResult(hostConfig()) }

func httpCall(req []byte) []byte {
	return takeResult(hostHTTP(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req))))
}
