package wasm_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/adapters/wasm"
)

func writeModule(t testing.TB, m wasmModule) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "module.wasm")
	if err := os.WriteFile(p, m.bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openModule(t testing.TB, path string, edit func(*adapters.Config)) (adapters.Adapter, error) {
	t.Helper()
	cfg := adapters.Config{Name: "test", Kind: wasm.Kind, Module: path, Limits: adapters.Limits{MemoryPages: 16, CallTimeout: 10 * time.Second}}
	if edit != nil {
		edit(&cfg)
	}
	a, err := wasm.Open(t.Context(), cfg)
	if err == nil {
		t.Cleanup(func() { _ = a.Close(t.Context()) })
	}
	return a, err
}

func TestOpenRefusesBrokenModules(t *testing.T) {
	t.Parallel()
	echo := echoModule()
	echoPath := writeModule(t, echo)
	sum := sha256.Sum256(echo.bytes())
	good := hex.EncodeToString(sum[:])
	other := strings.Repeat("ab", 32)

	notWasm := filepath.Join(t.TempDir(), "not.wasm")
	if err := os.WriteFile(notWasm, []byte("\x00asm but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	withFuncs := func(edit func(fs []wasmFunc) []wasmFunc) wasmModule {
		m := echoModule()
		m.funcs = edit(append([]wasmFunc(nil), m.funcs...))
		return m
	}
	for _, tc := range []struct {
		name    string
		module  wasmModule
		path    string
		edit    func(*adapters.Config)
		wantErr []string
	}{
		{name: "pinned hash differs", path: echoPath, edit: func(c *adapters.Config) { c.SHA256 = other },
			wantErr: []string{"has SHA-256 " + good, "pins " + other}},
		{name: "no module path", path: "", wantErr: []string{"no module"}},
		{name: "module file missing", path: filepath.Join(t.TempDir(), "missing.wasm"), wantErr: []string{"reading the module", "no such file"}},
		{name: "not wasm", path: notWasm, wantErr: []string{"compiling " + notWasm}},
		{name: "ABI version 2", module: withFuncs(func(fs []wasmFunc) []wasmFunc { fs[0].body = i32Const(2); return fs }),
			wantErr: []string{"speaks ABI version 2; this host speaks version 1"}},
		{name: "no alloc", module: withFuncs(func(fs []wasmFunc) []wasmFunc { fs[1].export = ""; return fs }),
			wantErr: []string{"does not export realmgate_alloc"}},
		{name: "free with a wrong signature", module: withFuncs(func(fs []wasmFunc) []wasmFunc { fs[2].params = []byte{tI32}; return fs }),
			wantErr: []string{"exports realmgate_free with signature (i32) -> (), want (i32, i32) -> ()"}},
		{name: "procedure with a wrong signature", module: withFuncs(func(fs []wasmFunc) []wasmFunc {
			return append(fs, wasmFunc{export: "realmgate_proc_bad", params: []byte{tI32, tI32}, results: []byte{tI32}, body: i32Const(0)})
		}), wantErr: []string{"exports procedure bad with signature (i32, i32) -> (i32), want (i32, i32) -> i64"}},
		{name: "unknown import", module: func() wasmModule {
			m := echoModule()
			m.imports = []wasmImport{{module: "env", name: "system", params: []byte{tI32}}}
			return m
		}(), wantErr: []string{"imports env.system, which the host does not provide"}},
		{name: "host import with a wrong signature", module: func() wasmModule {
			m := echoModule()
			m.imports = []wasmImport{{module: "realmgate", name: "fail", params: []byte{tI32}}}
			return m
		}(), wantErr: []string{"imports realmgate.fail with signature (i32) -> (), want (i32, i32) -> ()"}},
		{name: "memory over the cap", module: func() wasmModule { m := echoModule(); m.memMin = 17; return m }(),
			wantErr: []string{"declares 17 pages of memory at least, more than the limit of 16 pages"}},
		{name: "no memory", module: func() wasmModule { m := echoModule(); m.noMem = true; return m }(),
			wantErr: []string{`does not export its memory as "memory"`}},
		{name: "declared procedure missing", path: echoPath, edit: func(c *adapters.Config) { c.Procedures = []string{"echo", "validateCSR", "init"} },
			wantErr: []string{"lacks the declared procedures validateCSR, init (it exports echo)"}},
		{name: "_initialize loops", module: withFuncs(func(fs []wasmFunc) []wasmFunc {
			return append(fs, wasmFunc{export: "_initialize", body: loopForever()})
		}), edit: func(c *adapters.Config) { c.Limits.CallTimeout = 200 * time.Millisecond },
			wantErr: []string{"instantiating", "ran past its deadline"}},
		{name: "negative limit", path: echoPath, edit: func(c *adapters.Config) { c.Limits.MaxOutput = -1 }, wantErr: []string{"limits must not be negative"}},
		{name: "no name", path: echoPath, edit: func(c *adapters.Config) { c.Name = "" }, wantErr: []string{"no name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := tc.path
			if tc.module.funcs != nil {
				path = writeModule(t, tc.module)
			}
			a, err := openModule(t, path, tc.edit)
			if err == nil {
				t.Fatalf("Open succeeded with procedures %v, want an error", a.Procedures())
			}
			if !errors.Is(err, adapters.ErrUnavailable) {
				t.Errorf("Open error %v is not adapter_unavailable", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestOpenAcceptsPinnedModule(t *testing.T) {
	t.Parallel()
	m := echoModule()
	sum := sha256.Sum256(m.bytes())
	cache := t.TempDir()
	a, err := openModule(t, writeModule(t, m), func(c *adapters.Config) {
		c.SHA256 = strings.ToUpper(hex.EncodeToString(sum[:]))
		c.Procedures = []string{"echo"}
		c.CacheDir = cache
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(cache); len(entries) == 0 {
		t.Errorf("Open left nothing in the compilation cache %s", cache)
	}
	procs := a.Procedures()
	procs[0] = "changed"
	if got := a.Procedures(); got[0] != "echo" {
		t.Errorf("Procedures() shares its slice: %v", got)
	}
	out, err := a.Call(t.Context(), "echo", json.RawMessage(`[1,2,3]`))
	if err != nil || string(out) != `[1,2,3]` {
		t.Fatalf("echo = %s, %v", out, err)
	}
}

// asString lays out an AssemblyScript string at ptr: its byte length at ptr-4, then UTF-16LE.
func asString(ptr int32, s string) dataSegment {
	units := utf16.Encode([]rune(s))
	b := binary.LittleEndian.AppendUint32(nil, uint32(2*len(units)))
	for _, u := range units {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return dataSegment{offset: ptr - 4, bytes: b}
}

// TestABIViolations drives the host side of the ABI with hand-written guests that break one
// rule each, and checks the error of the call and that the next call works.
func TestABIViolations(t *testing.T) {
	t.Parallel()
	proc := func(name string, body ...[]byte) wasmFunc {
		return wasmFunc{export: "realmgate_proc_" + name, params: []byte{tI32, tI32}, results: []byte{tI64}, body: code(body...)}
	}
	// Imports: 0 realmgate.fail, 1 env.abort, 2 realmgate.log, 3 realmgate.result.
	m := echoModule()
	m.imports = []wasmImport{
		{module: "realmgate", name: "fail", params: []byte{tI32, tI32}},
		{module: "env", name: "abort", params: []byte{tI32, tI32, tI32, tI32}},
		{module: "realmgate", name: "log", params: []byte{tI32, tI32, tI32}},
		{module: "realmgate", name: "result", params: []byte{tI32, tI32}, results: []byte{tI32}},
	}
	long := strings.Repeat("é", 3000) // 6000 bytes
	m.data = []dataSegment{
		{offset: 8192, bytes: []byte("the guest's own failure message")},
		{offset: 12288, bytes: []byte(long)},
		{offset: 16384, bytes: []byte(`{"not json"`)},
		asString(20484, "Out of memory"), asString(20740, "assembly/index.ts"),
	}
	m.funcs = append(m.funcs,
		proc("outOfRange", i64Const(0x7fff0000<<32|16)),
		proc("lengthPastEnd", i64Const(65000<<32|1000)),
		proc("empty", i64Const(0)),
		proc("notJSON", i64Const(16384<<32|11)),
		proc("tooLarge", i64Const(1024<<32|60000)),
		proc("fail", callImport(0, 8192, 31), i64Const(0)),
		proc("failLong", callImport(0, 12288, int32(len(long))), i64Const(0)),
		proc("failOutOfRange", callImport(0, 0x7ffffff0, 100), i64Const(0)),
		proc("logOutOfRange", callImport(2, 0, 0x7ffffff0, 100), i64Const(0)),
		proc("resultOutOfRange", callImport(3, 0x7ffffff0, 100), []byte{opDrop}, i64Const(0)),
		proc("abort", callImport(1, 20484, 20740, 12, 7), i64Const(0)),
		proc("unreachable", []byte{opUnreachable}),
		proc("grow", i32Const(100), []byte{opMemoryGrow, 0x00, opDrop, opUnreachable}),
		proc("loop", loopForever()),
	)
	a, err := openModule(t, writeModule(t, m), func(c *adapters.Config) {
		c.Limits.CallTimeout = 300 * time.Millisecond
		c.Limits.MaxOutput = 50000
		c.Limits.Instances = 1
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		procedure string
		code      adapters.Code
		message   string // the error's Message, exactly, or a prefix ending in "..."
	}{
		{"outOfRange", adapters.CodeBadOutput, "the result [2147418112, +16) is out of range of the guest's memory of 65536 bytes"},
		{"lengthPastEnd", adapters.CodeBadOutput, "the result [65000, +1000) is out of range of the guest's memory of 65536 bytes"},
		{"empty", adapters.CodeBadOutput, "the procedure returned an empty result without calling fail"},
		{"notJSON", adapters.CodeBadOutput, `the output is not valid JSON: "{\"not json\""`},
		{"tooLarge", adapters.CodeBadOutput, "the output of 60000 bytes exceeds the limit of 50000 bytes"},
		{"fail", adapters.CodeFailed, "the guest's own failure message"},
		{"failLong", adapters.CodeFailed, strings.Repeat("é", 2048)},
		{"failOutOfRange", adapters.CodeBadOutput, "the guest passed realmgate.fail a buffer [2147483632, +100) out of range of the guest's memory"},
		{"logOutOfRange", adapters.CodeBadOutput, "the guest passed realmgate.log a buffer [2147483632, +100) out of range of the guest's memory"},
		{"resultOutOfRange", adapters.CodeBadOutput, "the guest passed realmgate.result a buffer [2147483632, +100) out of range of the guest's memory"},
		{"abort", adapters.CodeFailed, "Out of memory (assembly/index.ts:12:7)"},
		{"unreachable", adapters.CodeFailed, "the guest trapped in realmgate_proc_unreachable: wasm error: unreachable"},
		{"grow", adapters.CodeOutOfMemory, "the guest tried to grow its memory past the limit of 16 pages (1 MiB)"},
		{"loop", adapters.CodeTimeout, "the call ran past its deadline (call timeout 300ms) and was stopped"},
	} {
		t.Run(tc.procedure, func(t *testing.T) {
			_, err := a.Call(t.Context(), tc.procedure, json.RawMessage(`{"in":1}`))
			e := adaptertest.CheckError(t, err, tc.code, "test", tc.procedure)
			if e != nil && e.Message != tc.message {
				t.Errorf("Message = %q\nwant      %q", e.Message, tc.message)
			}
			out, err := a.Call(t.Context(), "echo", json.RawMessage(`{"next":"call"}`))
			if err != nil || string(out) != `{"next":"call"}` {
				t.Errorf("the call after %s: %s, %v", tc.procedure, out, err)
			}
		})
	}
}

// TestEchoedBufferIsFreedOnce: when a guest returns its input buffer, the host frees it once.
func TestEchoedBufferIsFreedOnce(t *testing.T) {
	t.Parallel()
	const (
		opI32Load8U = 0x2d
		opI32Store8 = 0x3a
		opI32Add    = 0x6a
	)
	// memory[0] is an ASCII digit that free increments; freeCount returns it as its output.
	m := echoModule()
	m.data = []dataSegment{{offset: 0, bytes: []byte("0")}}
	m.funcs[2].body = code(i32Const(0), i32Const(0), []byte{opI32Load8U, 0x00, 0x00}, i32Const(1), []byte{opI32Add},
		[]byte{opI32Store8, 0x00, 0x00})
	m.funcs = append(m.funcs, wasmFunc{export: "realmgate_proc_freeCount", params: []byte{tI32, tI32}, results: []byte{tI64}, body: i64Const(1)})
	a, err := openModule(t, writeModule(t, m), func(c *adapters.Config) { c.Limits.Instances = 1 })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 2 {
		if _, err := a.Call(t.Context(), "echo", json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
		out, err := a.Call(t.Context(), "freeCount", json.RawMessage(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(out))
	}
	// echo: 1 free; freeCount reads, then its output and input are freed: 2 more.
	if want := []string{"1", "4"}; !slices.Equal(got, want) {
		t.Errorf("free counts %v, want %v", got, want)
	}
}
