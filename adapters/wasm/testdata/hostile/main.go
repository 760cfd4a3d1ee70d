//go:build wasip1

// Command hostile is a wasm adapter that misbehaves on purpose, one procedure per way a guest
// can attack or break the host; the sandbox tests of adapters/wasm build it from source.
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"time"
	"unsafe"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

//go:wasmexport realmgate_proc_echo
func echo(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func(in []byte) ([]byte, error) { return in, nil })
}

// loop never returns.
//
//go:wasmexport realmgate_proc_loop
func loop(ptr, size uint32) uint64 {
	n := 0
	for {
		n++
	}
}

// sleep sleeps for an hour.
//
//go:wasmexport realmgate_proc_sleep
func sleep(ptr, size uint32) uint64 {
	time.Sleep(time.Hour)
	return 0
}

var hoard [][]byte

// grow allocates until the memory cap stops it.
//
//go:wasmexport realmgate_proc_grow
func grow(ptr, size uint32) uint64 {
	for {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoard = append(hoard, b)
	}
}

// panicRaw panics outside the SDK, which kills the Go runtime of the instance.
//
//go:wasmexport realmgate_proc_panic
func panicRaw(ptr, size uint32) uint64 {
	panic("hostile guest panics")
}

// panicServed panics inside a procedure served by the SDK, which recovers.
//
//go:wasmexport realmgate_proc_panicServed
func panicServed(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func([]byte) ([]byte, error) {
		var m map[string]int
		m["boom"] = 1 // assignment to a nil map
		return nil, nil
	})
}

// trap reads far outside the guest's memory: a WebAssembly trap, not a Go panic.
//
//go:wasmexport realmgate_proc_trap
func trap(ptr, size uint32) uint64 {
	p := (*uint64)(unsafe.Add(unsafe.Pointer(&anchor), 0xf0000000))
	return *p
}

var anchor uint64

// badJSON returns bytes that are not JSON.
//
//go:wasmexport realmgate_proc_badJSON
func badJSON(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func([]byte) ([]byte, error) { return []byte(`{"unterminated":`), nil })
}

// badPointer returns a result far outside its memory.
//
//go:wasmexport realmgate_proc_badPointer
func badPointer(ptr, size uint32) uint64 { return 0xffffff00<<32 | 16 }

// badLength returns its input's pointer with a length past the end of its memory.
//
//go:wasmexport realmgate_proc_badLength
func badLength(ptr, size uint32) uint64 { return uint64(ptr)<<32 | 0x7fffffff }

// http fetches the URL of its input and returns the status and body.
//
//go:wasmexport realmgate_proc_http
func http(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in realmgate.HTTPRequest) (map[string]any, error) {
		resp, err := realmgate.HTTP(in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"status": resp.Status, "body": string(resp.Body), "location": resp.Headers["Location"]}, nil
	})
}

// logFlood writes more log records than a call may.
//
//go:wasmexport realmgate_proc_logFlood
func logFlood(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func([]byte) ([]byte, error) {
		for i := range 100 {
			realmgate.Log(0, "flood", "i", i)
		}
		println("to stderr")
		return json.Marshal("flooded")
	})
}

// failRaw calls fail and returns a result anyway: the failure wins.
//
//go:wasmexport realmgate_proc_failRaw
func failRaw(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func(in []byte) ([]byte, error) {
		realmgate.Fail("failed, but returned output")
		return in, nil
	})
}

var calls int

// count returns how many times this instance has served count: pooled instances keep counting,
// a fresh instance starts again at 1.
//
//go:wasmexport realmgate_proc_count
func count(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func([]byte) ([]byte, error) {
		calls++
		return json.Marshal(calls)
	})
}

// escape looks for a way out of the sandbox and reports what it found: environment, arguments,
// files, directories; and whether the clock and random numbers are real.
//
//go:wasmexport realmgate_proc_escape
func escape(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func([]byte) ([]byte, error) {
		errText := func(err error) string {
			if err == nil {
				return ""
			}
			return err.Error()
		}
		_, fileErr := os.ReadFile("/etc/hostname")
		_, dirErr := os.ReadDir("/")
		_, cwdErr := os.ReadDir(".")
		_, createErr := os.Create("/tmp/escaped")
		random := make([]byte, 16)
		_, _ = rand.Read(random)
		return json.Marshal(map[string]any{
			"env":    os.Environ(),
			"args":   os.Args,
			"file":   errText(fileErr),
			"root":   errText(dirErr),
			"cwd":    errText(cwdErr),
			"create": errText(createErr),
			"unix":   time.Now().Unix(),
			"random": hex.EncodeToString(random),
		})
	})
}

// The init of this instance, for the tests of CallInit: how many times init ran, and the input
// of the last one.
var (
	inits    int
	initWith json.RawMessage
)

// init is an init procedure (adapters.Init) that records its input. It fails when the input
// has a member "fail", and traps when it has a member "trap".
//
//go:wasmexport realmgate_proc_init
func initProc(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func(in []byte) ([]byte, error) {
		inits++
		initWith = append(json.RawMessage(nil), in...)
		var opts struct {
			Fail string `json:"fail"`
			Trap bool   `json:"trap"`
		}
		_ = json.Unmarshal(in, &opts)
		if opts.Trap {
			anchor = trap(ptr, size) // kept: the load must happen
		}
		if opts.Fail != "" {
			return nil, errors.New(opts.Fail)
		}
		return []byte(`{}`), nil
	})
}

// initState returns what init recorded.
//
//go:wasmexport realmgate_proc_initState
func initState(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func([]byte) ([]byte, error) {
		return json.Marshal(map[string]any{"inits": inits, "input": initWith})
	})
}
