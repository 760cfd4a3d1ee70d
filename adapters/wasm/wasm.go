package wasm

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/realmgate/realmgate/adapters"
)

// Kind is the adapter kind this backend registers: adapters.Config.Kind "wasm".
const Kind = "wasm"

// maxModuleSize bounds the module file read at load.
const maxModuleSize = 256 << 20

func init() {
	adapters.Register(Kind, adapters.BackendFunc(Open))
}

// Open loads the wasm module of cfg and returns an adapter running its procedures. It checks,
// before the adapter takes a call: the module's SHA-256 against cfg.SHA256 (when set), its
// imports (only the host functions of ABI.md, WASI and AssemblyScript's env.abort), its
// exports and their signatures, its declared memory against cfg.Limits.MemoryPages, that it
// exports every procedure of cfg.Procedures, and (by instantiating the first instance) that it
// speaks ABI version 1. Errors are *adapters.Error with Code CodeUnavailable and a message
// that says what to fix.
//
// The compiled module is kept in cfg.CacheDir when set, so that the next Open of the same
// module, in this process or after a restart, skips compilation.
func Open(ctx context.Context, cfg adapters.Config) (_ adapters.Adapter, err error) {
	cfg.Limits = cfg.Limits.WithDefaults()
	loadErr := func(msg string, cause error) error {
		return &adapters.Error{Code: adapters.CodeUnavailable, Adapter: cfg.Name, Message: msg, Err: cause}
	}
	if cfg.Name == "" {
		return nil, loadErr("the adapter has no name", nil)
	}
	if cfg.Module == "" {
		return nil, loadErr("no module: set the path of the .wasm file", nil)
	}
	if l := cfg.Limits; l.CallTimeout < 0 || l.Instances < 0 || l.MaxInput < 0 || l.MaxOutput < 0 || l.HTTPTimeout < 0 || l.MaxHTTPBody < 0 {
		return nil, loadErr(fmt.Sprintf("limits must not be negative: %+v", l), nil)
	}
	code, err := readModule(cfg.Module)
	if err != nil {
		return nil, loadErr("reading the module", err)
	}
	if err := checkSHA256(cfg.Module, code, cfg.SHA256); err != nil {
		return nil, loadErr(err.Error(), nil)
	}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("adapter", cfg.Name)

	settings := map[string]string{}
	for k, v := range cfg.Settings {
		settings[k] = v
	}
	settings["adapter"] = cfg.Name
	configJSON, err := json.Marshal(settings)
	if err != nil {
		return nil, loadErr("encoding the settings", err)
	}

	a := &adapter{
		name:       cfg.Name,
		limits:     cfg.Limits,
		logger:     logger,
		singleUse:  cfg.SingleUse,
		sql:        cfg.SQL,
		configJSON: configJSON,
		http:       newHTTPClient(slices.Clone(cfg.AllowHTTP), cfg.Limits),
		pki:        newPKIHost(cfg.PKI, logger),
		sem:        make(chan struct{}, cfg.Limits.Instances),
		done:       make(chan struct{}),
	}
	start := time.Now()
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).           // without it a looping guest cannot be stopped
		WithMemoryLimitPages(runtimeLimitPages) // the cap itself is enforced by cappedMemory
	if cfg.CacheDir != "" {
		if a.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, loadErr("opening the compilation cache "+cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(a.cache)
	}
	a.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	defer func() {
		if err != nil {
			a.release(context.Background())
		}
	}()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, a.rt); err != nil {
		return nil, loadErr("instantiating WASI", err)
	}
	if err := a.instantiateHost(ctx); err != nil {
		return nil, loadErr("instantiating the host functions", err)
	}
	if a.compiled, err = a.rt.CompileModule(ctx, code); err != nil {
		return nil, loadErr(fmt.Sprintf("compiling %s", cfg.Module), err)
	}
	if a.procedures, err = checkModule(a.compiled, cfg); err != nil {
		return nil, loadErr(fmt.Sprintf("module %s", cfg.Module), err)
	}
	compiled := time.Since(start)

	// The first instance proves the module instantiates and speaks our ABI; it stays warm.
	ictx, cancel := context.WithTimeout(ctx, cfg.Limits.CallTimeout)
	defer cancel()
	deadline, _ := ictx.Deadline()
	inst, cerr := a.newInstance(ictx, deadline, "")
	if cerr != nil {
		return nil, loadErr(fmt.Sprintf("instantiating %s: %s", cfg.Module, cerr.Message), cerr)
	}
	if v, err := inst.abiVersion(ictx); err != nil || v != ABIVersion {
		inst.close()
		if err != nil {
			return nil, loadErr(fmt.Sprintf("module %s: calling %s", cfg.Module, exportABIVersion), err)
		}
		return nil, loadErr(fmt.Sprintf("module %s speaks ABI version %d; this host speaks version %d", cfg.Module, v, ABIVersion), nil)
	}
	a.idle = append(a.idle, inst)
	logger.Info("wasm adapter loaded", "module", cfg.Module, "procedures", a.procedures,
		"compile", compiled.Round(time.Millisecond), "total", time.Since(start).Round(time.Millisecond),
		"cached", cfg.CacheDir != "", "pinned", cfg.SHA256 != "")
	return a, nil
}

func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxModuleSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxModuleSize)
	}
	// Read exactly the size: modules are megabytes, and growing a buffer to them costs.
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

// checkSHA256 compares the module's SHA-256 with the pinned hex digest; empty pins nothing.
func checkSHA256(path string, code []byte, pinned string) error {
	if pinned == "" {
		return nil
	}
	sum := sha256.Sum256(code)
	got := hex.EncodeToString(sum[:])
	want := strings.ToLower(strings.TrimSpace(pinned))
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("module %s has SHA-256 %s, but the configuration pins %s: rebuild or re-pin it", path, got, want)
	}
	return nil
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostImports are the functions the host provides, with their signatures.
var hostImports = map[string]struct{ params, results []api.ValueType }{
	hostModule + ".fail":   {[]api.ValueType{i32, i32}, nil},
	hostModule + ".once":   {[]api.ValueType{i32, i32, i64}, []api.ValueType{i32}},
	hostModule + ".log":    {[]api.ValueType{i32, i32, i32}, nil},
	hostModule + ".config": {nil, []api.ValueType{i32}},
	hostModule + ".http":   {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	hostModule + ".result": {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	hostModule + ".pki":    {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	hostModule + ".invoke": {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	hostModule + ".sql":    {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"env.abort":            {[]api.ValueType{i32, i32, i32, i32}, nil},
}

// requiredExports are the functions every adapter module exports, with their signatures.
var requiredExports = map[string]struct{ params, results []api.ValueType }{
	exportABIVersion: {nil, []api.ValueType{i32}},
	exportAlloc:      {[]api.ValueType{i32}, []api.ValueType{i32}},
	exportFree:       {[]api.ValueType{i32, i32}, nil},
}

// checkModule checks the compiled module against the ABI and the configuration and returns its
// procedures, sorted.
func checkModule(m wazero.CompiledModule, cfg adapters.Config) ([]string, error) {
	var problems []string
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod == wasi_snapshot_preview1.ModuleName {
			continue
		}
		want, ok := hostImports[mod+"."+name]
		if !ok {
			problems = append(problems, fmt.Sprintf("it imports %s.%s, which the host does not provide (ABI version %d provides %s, WASI and env.abort)",
				mod, name, ABIVersion, strings.Join([]string{"fail", "log", "config", "http", "result", "pki", "once", "invoke", "sql"}, ", ")))
			continue
		}
		if !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results) {
			problems = append(problems, fmt.Sprintf("it imports %s.%s with signature %s, want %s", mod, name, signature(f.ParamTypes(), f.ResultTypes()), signature(want.params, want.results)))
		}
	}
	for _, mem := range m.ImportedMemories() {
		mod, name, _ := mem.Import()
		problems = append(problems, fmt.Sprintf("it imports its memory (%s.%s); it must define and export it as %q", mod, name, exportMemory))
	}
	mems := m.ExportedMemories()
	if mem, ok := mems[exportMemory]; !ok {
		problems = append(problems, fmt.Sprintf("it does not export its memory as %q", exportMemory))
	} else if mem.Min() > cfg.Limits.MemoryPages {
		problems = append(problems, fmt.Sprintf("it declares %d pages of memory at least, more than the limit of %d pages (%d MiB)", mem.Min(), cfg.Limits.MemoryPages, uint64(cfg.Limits.MemoryPages)*64/1024))
	}
	exports := m.ExportedFunctions()
	for name, want := range requiredExports {
		f, ok := exports[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("it does not export %s", name))
			continue
		}
		if !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results) {
			problems = append(problems, fmt.Sprintf("it exports %s with signature %s, want %s", name, signature(f.ParamTypes(), f.ResultTypes()), signature(want.params, want.results)))
		}
	}
	if f, ok := exports[exportInitialize]; ok && (len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0) {
		problems = append(problems, fmt.Sprintf("it exports %s with signature %s, want () -> ()", exportInitialize, signature(f.ParamTypes(), f.ResultTypes())))
	}
	var procs []string
	for name, f := range exports {
		proc, ok := strings.CutPrefix(name, procPrefix)
		if !ok {
			continue
		}
		if proc == "" {
			problems = append(problems, fmt.Sprintf("it exports %s, a procedure without a name", name))
			continue
		}
		if !slices.Equal(f.ParamTypes(), []api.ValueType{i32, i32}) || !slices.Equal(f.ResultTypes(), []api.ValueType{i64}) {
			problems = append(problems, fmt.Sprintf("it exports procedure %s with signature %s, want (i32, i32) -> i64", proc, signature(f.ParamTypes(), f.ResultTypes())))
			continue
		}
		procs = append(procs, proc)
	}
	slices.Sort(procs)
	var missing []string
	for _, p := range cfg.Procedures {
		if !slices.Contains(procs, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("it lacks the declared procedures %s (it exports %s)", strings.Join(missing, ", "), orNone(procs)))
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return procs, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		var s []string
		for _, t := range ts {
			s = append(s, api.ValueTypeName(t))
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}
