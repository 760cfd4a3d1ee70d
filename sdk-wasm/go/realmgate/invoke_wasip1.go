//go:build wasip1

package realmgate

import "unsafe"

// realmgate.invoke, an addition to ABI version 1: imported only by a module that calls
// InvokeProcedure.

//go:wasmimport realmgate invoke
func hostInvoke(ptr unsafe.Pointer, size uint32) int32

// invokeCall returns the host's answer, or ok false when the host gives the call no invoker.
func invokeCall(req []byte) (answer []byte, ok bool) {
	n := hostInvoke(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)))
	if n < 0 {
		return nil, false
	}
	return takeResult(uint32(n)), true
}
