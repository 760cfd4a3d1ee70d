//go:build wasip1

// Command once is a wasm adapter that drives the host function realmgate.once, through the Go
// SDK's realmgate.Once and through the bare import (to hand the host any pointer, length and
// TTL); the tests of adapters/wasm build it from source.
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"runtime"
	"time"
	"unsafe"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

// hostOnce takes the pointer as a number, so that a test can hand the host any address.
//
//go:wasmimport realmgate once
func hostOnce(ptr, size uint32, ttlSeconds int64) int32

// once marks the key used through the SDK: input {"key", "ttl" (seconds)}, output
// {"first": bool}; the SDK's error fails the call.
//
//go:wasmexport realmgate_proc_once
func once(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in struct {
		Key string `json:"key"`
		TTL int64  `json:"ttl"`
	}) (map[string]bool, error) {
		first, err := realmgate.Once([]byte(in.Key), time.Duration(in.TTL)*time.Second)
		if err != nil {
			return nil, err
		}
		return map[string]bool{"first": first}, nil
	})
}

// raw calls the import itself: input {"key", "ttl"} or {"ptr", "len", "ttl"} (a pointer of the
// caller's choice), repeated "times" times (default 1); output {"results": [the host's
// answers]}.
//
//go:wasmexport realmgate_proc_raw
func raw(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in struct {
		Key   *string `json:"key"`
		Ptr   uint32  `json:"ptr"`
		Len   uint32  `json:"len"`
		TTL   int64   `json:"ttl"`
		Times int     `json:"times"`
	}) (map[string][]int32, error) {
		var results []int32
		for range max(in.Times, 1) {
			if in.Key != nil {
				k := []byte(*in.Key)
				results = append(results, hostOnce(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(k)))), uint32(len(k)), in.TTL))
				runtime.KeepAlive(k)
				continue
			}
			results = append(results, hostOnce(in.Ptr, in.Len, in.TTL))
		}
		return map[string][]int32{"results": results}, nil
	})
}
