//go:build wasip1

package realmgate

import "unsafe"

// realmgate.once, an addition to ABI version 1: imported only by a module that calls Once.

//go:wasmimport realmgate once
func hostOnce(ptr unsafe.Pointer, size uint32, ttlSeconds int64) int32

func onceCall(key []byte, ttlSeconds int64) int32 {
	return hostOnce(unsafe.Pointer(unsafe.SliceData(key)), uint32(len(key)), ttlSeconds)
}
