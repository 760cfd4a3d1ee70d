package wasm_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tetratelabs/wazero"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// onceDir is a guest that calls realmgate.once through the Go SDK and through the bare import.
const onceDir = "testdata/once"

// openOnce opens the once guest as adapter name on the single-use store su (nil: none).
func openOnce(t *testing.T, name string, su adapters.SingleUse, rec *adaptertest.LogRecorder) adapters.Adapter {
	t.Helper()
	a, err := openModule(t, adaptertest.BuildGoWasm(t, onceDir), func(c *adapters.Config) {
		c.Name = name
		c.SingleUse = su
		c.Limits.Instances = 4
		c.Limits.MemoryPages = 0 // the default: a Go guest declares more than openModule's 16 pages
		c.CacheDir = adaptertest.CompilationCacheDir(t)
		if rec != nil {
			c.Logger = rec.Logger()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// callJSON calls procedure with in encoded as JSON and decodes the output into out.
func callJSON(t *testing.T, a adapters.Adapter, procedure string, in, out any) error {
	t.Helper()
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Call(t.Context(), procedure, raw)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(got, out); err != nil {
		t.Fatalf("%s output %s: %v", procedure, got, err)
	}
	return nil
}

// rawOnce calls realmgate.once with the guest's key bytes, times times, and returns the host's
// answers.
func rawOnce(t *testing.T, a adapters.Adapter, key string, ttl int64, times int) []int32 {
	t.Helper()
	var out struct{ Results []int32 }
	if err := callJSON(t, a, "raw", map[string]any{"key": key, "ttl": ttl, "times": times}, &out); err != nil {
		t.Fatalf("raw once(%d bytes, ttl %d): %v", len(key), ttl, err)
	}
	return out.Results
}

// TestOnceBounds: the host function's answers at and past its bounds, through the bare import:
// 1 the first time, 0 after; -2 for an empty key, a key over 1 KiB, a TTL under 1 second or
// over 400 days (nothing is marked); -3 past 16 calls in one procedure call; and a pointer out
// of the guest's memory traps the call and discards the instance.
func TestOnceBounds(t *testing.T) {
	t.Parallel()
	su := adaptertest.NewSingleUse()
	rec := adaptertest.NewLogRecorder()
	a := openOnce(t, "once", su, rec)
	const day = 24 * 60 * 60
	tests := []struct {
		name  string
		key   string
		ttl   int64
		times int
		want  []int32
	}{
		{"first", "k1", 60, 1, []int32{1}},
		{"used", "k1", 60, 1, []int32{0}},
		{"the longest key, twice", strings.Repeat("k", 1024), 1, 2, []int32{1, 0}},
		{"key over 1 KiB", strings.Repeat("k", 1025), 60, 1, []int32{-2}},
		{"empty key", "", 60, 1, []int32{-2}},
		{"TTL 0", "k2", 0, 1, []int32{-2}},
		{"negative TTL", "k2", -1, 1, []int32{-2}},
		{"TTL over 400 days", "k2", 400*day + 1, 1, []int32{-2}},
		{"TTL of 400 days", "k2", 400 * day, 1, []int32{1}},
		{"16 calls a call, then -3", "k3", 60, 18, append(append([]int32{1}, repeat(0, 15)...), -3, -3)},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, rawOnce(t, a, tc.key, tc.ttl, tc.times)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	// Refused calls marked nothing: k2 was first at 400 days, and only three keys exist.
	if n := len(su.Keys()); n != 4 {
		t.Errorf("the store holds %d keys, want 4 (k1, the long key, k2, k3)", n)
	}
	// The limit counts per call: the next call may mark again.
	if d := cmp.Diff([]int32{1}, rawOnce(t, a, "k4", 60, 1)); d != "" {
		t.Errorf("a call after the limit (-want +got):\n%s", d)
	}

	for _, tc := range []struct {
		name     string
		ptr, len uint32
	}{
		{"pointer past the memory", 0xFFFF0000, 8},
		{"length past the memory", 0, 0xFFFFFFFF},
	} {
		_, err := a.Call(t.Context(), "raw", json.RawMessage(fmt.Sprintf(`{"ptr":%d,"len":%d,"ttl":60}`, tc.ptr, tc.len)))
		if e := adaptertest.CheckError(t, err, adapters.CodeBadOutput, "once", "raw"); e != nil && !strings.Contains(e.Message, "realmgate.once") {
			t.Errorf("%s: message %q does not name realmgate.once", tc.name, e.Message)
		}
	}
	if n := len(rec.Matching(func(e adaptertest.LogEntry) bool { return e.Message == "wasm instance discarded" })); n != 2 {
		t.Errorf("%d instances discarded, want 2 (one per trap)", n)
	}
	// The adapter serves on.
	if d := cmp.Diff([]int32{1}, rawOnce(t, a, "k5", 60, 1)); d != "" {
		t.Errorf("after the traps (-want +got):\n%s", d)
	}
	// Refusals are logged without the key.
	for _, e := range rec.Entries() {
		if strings.Contains(fmt.Sprint(e.Message, e.Attrs), "kkkk") {
			t.Errorf("a log record carries the key: %s %v", e.Message, e.Attrs)
		}
	}
}

func repeat(v int32, n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestOnceSDK: the Go SDK's realmgate.Once turns the host's answers into a bool or an error, the
// store gets the key hashed with its expiry, and a store that fails or is absent is
// ErrOnceUnavailable, never a first use.
func TestOnceSDK(t *testing.T) {
	t.Parallel()
	su := adaptertest.NewSingleUse()
	a := openOnce(t, "once", su, nil)
	once := func(key string, ttl int64) (bool, error) {
		var out struct{ First bool }
		err := callJSON(t, a, "once", map[string]any{"key": key, "ttl": ttl}, &out)
		return out.First, err
	}
	start := time.Now()
	for i, want := range []bool{true, false, false} {
		if first, err := once("MDM-CODE-1", 3600); err != nil || first != want {
			t.Errorf("Once, call %d: %v, %v; want %v", i+1, first, err, want)
		}
	}
	keys := su.Keys()
	if len(keys) != 1 {
		t.Fatalf("the store holds %v, want one key", keys)
	}
	for k, until := range keys {
		if b, err := hex.DecodeString(k); err != nil || len(b) != 32 {
			t.Errorf("stored key %q is not hex of a SHA-256", k)
		}
		if strings.Contains(k, "MDM") {
			t.Errorf("stored key %q carries the guest's key", k)
		}
		if lo, hi := start.Add(time.Hour), time.Now().Add(time.Hour); until.Before(lo.Add(-time.Second)) || until.After(hi.Add(time.Second)) {
			t.Errorf("expiry %v, want an hour from the call", until)
		}
	}
	_, err := once(strings.Repeat("x", 1025), 60)
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "once", "once"); e != nil && !strings.Contains(e.Message, "1 to 1024 bytes") {
		t.Errorf("a long key: %q", e.Message)
	}

	su.Err = errors.New("the database is down")
	_, err = once("MDM-CODE-2", 60)
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "once", "once"); e != nil && !strings.Contains(e.Message, "not available") {
		t.Errorf("a failing store: %q", e.Message)
	}
	none := openOnce(t, "none", nil, nil)
	_, err = none.Call(t.Context(), "once", json.RawMessage(`{"key":"k","ttl":60}`))
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "none", "once"); e != nil && !strings.Contains(e.Message, "not available") {
		t.Errorf("no store: %q", e.Message)
	}
}

// TestOnceNamespaces: keys belong to their adapter. Two adapters on one store marking the same
// key are both first; a second adapter of the same name (another daemon, or the adapter after
// a reload) shares the first's keys; and of 32 concurrent marks across instances exactly one is
// first.
func TestOnceNamespaces(t *testing.T) {
	t.Parallel()
	su := adaptertest.NewSingleUse()
	alpha, beta, alphaAgain := openOnce(t, "Alpha", su, nil), openOnce(t, "Beta", su, nil), openOnce(t, "Alpha", su, nil)
	for _, step := range []struct {
		name string
		a    adapters.Adapter
		want int32
	}{
		{"Alpha", alpha, 1},
		{"Beta, same key", beta, 1},
		{"another Alpha, same key", alphaAgain, 0},
		{"Beta again", beta, 0},
	} {
		if got := rawOnce(t, step.a, "shared-key", 60, 1); len(got) != 1 || got[0] != step.want {
			t.Errorf("%s: %v, want %d", step.name, got, step.want)
		}
	}

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int32]int{}
	)
	for i := range 32 {
		wg.Go(func() {
			a := alpha
			if i%2 == 1 {
				a = alphaAgain
			}
			r := rawOnce(t, a, "race", 60, 1)
			mu.Lock()
			counts[r[0]]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if d := cmp.Diff(map[int32]int{1: 1, 0: 31}, counts); d != "" {
		t.Errorf("32 concurrent marks on two adapters of four instances (-want +got):\n%s", d)
	}
}

// TestOnceImport: a module that imports realmgate.once with another signature is refused at
// load with the signature it should have; and a Go module that never calls realmgate.Once (the
// Go SDK's example bridge) does not import it, so it loads on a host without once (ABI.md,
// Versioning).
func TestOnceImport(t *testing.T) {
	t.Parallel()
	m := echoModule()
	m.imports = []wasmImport{{module: "realmgate", name: "once", params: []byte{tI32, tI32}, results: []byte{tI32}}}
	_, err := openModule(t, writeModule(t, m), nil)
	if err == nil || !strings.Contains(err.Error(), "imports realmgate.once with signature (i32, i32) -> (i32), want (i32, i32, i64) -> (i32)") {
		t.Errorf("a wrong signature: %v", err)
	}

	code, err := os.ReadFile(adaptertest.BuildGoWasm(t, exampleDir))
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(t.Context())
	defer rt.Close(t.Context())
	compiled, err := rt.CompileModule(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range compiled.ImportedFunctions() {
		if mod, name, _ := f.Import(); mod == "realmgate" && name == "once" {
			t.Errorf("the Go example imports realmgate.once without calling realmgate.Once")
		}
	}
}
