// Package js runs Worklight JavaScript adapters, unchanged, in the wasm sandbox: an adapter's
// <A>-impl.js is data that a JavaScript engine compiled to wasm (QuickJS in a C guest, built from
// ./quickjs) loads and runs under the same wazero backend, limits and allow-list as any other
// adapter module. No JavaScript runs in the host process.
//
// The backend registers as kind "js". The configuration's Script is the -impl.js; Module is the
// engine module (built from ./quickjs: [CachedEngine] in development, hostd adapter
// build-js-engine for production) and SHA256 pins it. The adapter's procedures are the JavaScript functions the
// configuration declares; each call runs the function of that name with the call's positional
// parameters. See docs/javascript-adapters.md for the WL.Server API the engine provides.
package js

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/jsapi"
	"github.com/realmgate/realmgate/adapters/wasm"
)

// Kind is the adapter kind this backend registers.
const Kind = "js"

// The settings through which the engine module receives the adapter (quickjs/prelude.js reads
// them): the file name and source of the -impl.js, the base URL of the adapter's
// <connectivity>, and the names of the XSL files its transformations use that are Worklight's
// stock filtered.xsl (jsapi decides), one a line.
const (
	SettingFile         = "realmgate.js.file"
	SettingSource       = "realmgate.js.source"
	SettingConnectivity = "realmgate.js.connectivity"
	SettingStockXSL     = "realmgate.js.stock-xsl"
	SettingMemoryLimit  = "realmgate.js.memory-limit"
)

// The engine module's own procedures.
const (
	procLoad = "load" // loads the script, lists its functions
	procCall = "call" // {"procedure", "input", "state"}: runs one function, answers {"result", "state"}
	procPing = "ping" // echoes its input without entering JavaScript (benchmarks)
)

// maxXSL bounds the stylesheet the host reads; a larger one is not the stock filter.
const maxXSL = 1 << 20

func init() {
	adapters.Register(Kind, adapters.BackendFunc(Open))
}

// Open checks the adapter's script and loads it into the engine module: the script uses only the
// APIs the engine provides (an unsupported one is an error at file:line), compiles and runs, and
// defines a function for every procedure of cfg.Procedures. The check is jsapi's, the one hostd
// check and the daemon's project loader run, so what loads here is what they accept. Errors are
// *adapters.Error with Code CodeUnavailable.
func Open(ctx context.Context, cfg adapters.Config) (adapters.Adapter, error) {
	loadErr := func(msg string, cause error) error {
		return &adapters.Error{Code: adapters.CodeUnavailable, Adapter: cfg.Name, Message: msg, Err: cause}
	}
	if cfg.Script == "" {
		return nil, loadErr("no script: set the path of the adapter's -impl.js", nil)
	}
	if cfg.Module == "" {
		return nil, loadErr("no JavaScript engine module: build it with hostd adapter build-js-engine and name it in hostd.yaml (jsEngine), or run in development mode", nil)
	}
	settings, err := scriptSettings(cfg.Script, cfg.Procedures)
	if err != nil {
		// The cause (a *jsapi.LoadError or *jsapi.SyntaxError for a script jsapi refuses) says
		// the file and the place.
		return nil, loadErr("the script does not load", err)
	}
	// The JavaScript heap's bound: three quarters of the instance's memory cap, so that a script
	// that allocates without end fails (adapter_out_of_memory) before the engine's own C
	// allocations run out of room.
	settings[SettingMemoryLimit] = strconv.FormatUint(uint64(cfg.Limits.WithDefaults().MemoryPages)*(64<<10)*3/4, 10)
	for k, v := range cfg.Settings {
		if _, reserved := settings[k]; !reserved {
			settings[k] = v
		}
	}
	inner := cfg
	inner.Kind = wasm.Kind
	inner.Script = ""
	inner.Settings = settings
	inner.Procedures = []string{procLoad, procCall, procPing}
	engine, err := wasm.Open(ctx, inner)
	if err != nil {
		return nil, err
	}
	out, err := engine.Call(ctx, procLoad, json.RawMessage(`{}`))
	if err != nil {
		engine.Close(context.Background())
		var ae *adapters.Error
		if errors.As(err, &ae) {
			return nil, loadErr(ae.Message, nil) // the engine's message says it all
		}
		return nil, loadErr("loading "+filepath.Base(cfg.Script), err)
	}
	var loaded struct {
		Functions []string `json:"functions"`
	}
	if err := json.Unmarshal(out, &loaded); err != nil {
		engine.Close(context.Background())
		return nil, loadErr("the engine's answer to load is not valid", err)
	}
	procs := slices.Clone(cfg.Procedures)
	if len(procs) == 0 {
		procs = loaded.Functions
	}
	var missing []string
	for _, p := range procs {
		if !slices.Contains(loaded.Functions, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		engine.Close(context.Background())
		return nil, loadErr(fmt.Sprintf("%s defines no function %s (it defines %s)", filepath.Base(cfg.Script),
			strings.Join(missing, ", "), orNone(loaded.Functions)), nil)
	}
	slices.Sort(procs)
	return &adapter{name: cfg.Name, engine: engine, procs: slices.Compact(procs)}, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// scriptSettings reads the script, checks the APIs it uses and the procedures it defines with
// jsapi (before the sandbox loads it), and returns the engine's settings: the script, and the
// stylesheets of its folder that jsapi found to be the stock filtered.xsl.
func scriptSettings(script string, procedures []string) (map[string]string, error) {
	src, err := readBounded(script, jsapi.MaxSourceBytes)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(script)
	r, err := jsapi.Scan(name, []byte(src))
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(script)
	r.ResolveXSL(func(xsl string) ([]byte, error) {
		b, err := readBounded(filepath.Join(dir, xsl), maxXSL)
		return []byte(b), err
	})
	if err := r.Err(procedures); err != nil {
		return nil, err
	}
	var stock []string
	for _, u := range r.Uses {
		if u.API == jsapi.FamilyStockXSL && !slices.Contains(stock, u.Detail) {
			stock = append(stock, u.Detail)
		}
	}
	return map[string]string{SettingFile: name, SettingSource: src, SettingStockXSL: strings.Join(stock, "\n")}, nil
}

func readBounded(path string, limit int64) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > limit {
		return "", fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	b, err := os.ReadFile(path)
	return string(b), err
}

// ConnectivityURL is the base URL of an adapter's back end as the engine's invokeHttp requests
// it: scheme, host and port of its <connectivity><connectionPolicy>.
func ConnectivityURL(protocol, host string, port int) string {
	scheme := strings.ToLower(protocol)
	if scheme != "https" {
		scheme = "http"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, host, port)
}

// adapter runs the script's functions through the engine module's call procedure.
type adapter struct {
	name   string
	engine adapters.Adapter
	procs  []string
}

var (
	_ adapters.Adapter     = (*adapter)(nil)
	_ adapters.Concurrency = (*adapter)(nil)
)

// Call runs the script's function procedure with input (its parameters, identities, realm).
func (a *adapter) Call(ctx context.Context, procedure string, input json.RawMessage) (json.RawMessage, error) {
	if _, ok := slices.BinarySearch(a.procs, procedure); !ok {
		return nil, &adapters.Error{Code: adapters.CodeUnknownProcedure, Adapter: a.name, Procedure: procedure,
			Message: fmt.Sprintf("the adapter has no procedure %q", procedure)}
	}
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	st := adapters.ScriptStateOf(ctx)
	var state json.RawMessage
	if st != nil && len(st.In) > 0 {
		state = st.In
	}
	in, err := callEnvelope(procedure, input, state)
	if err != nil {
		return nil, &adapters.Error{Code: adapters.CodeBadInput, Adapter: a.name, Procedure: procedure, Message: "the input is not valid JSON", Err: err}
	}
	out, err := a.engine.Call(ctx, procCall, in)
	if err != nil {
		var ae *adapters.Error
		if errors.As(err, &ae) {
			c := *ae
			c.Procedure = procedure
			return nil, &c
		}
		return nil, err
	}
	result, newState, err := a.splitOutput(procedure, out)
	if err != nil {
		return nil, err
	}
	if st != nil {
		st.Out, st.Returned = newState, true
	}
	return result, nil
}

// splitOutput reads the engine's {"result", "state"} (quickjs/prelude.js) and bounds the state.
func (a *adapter) splitOutput(procedure string, out json.RawMessage) (result, state json.RawMessage, err error) {
	var o struct{ Result, State json.RawMessage }
	if o.Result, o.State, err = envelopeMembers(out); err != nil || len(o.Result) == 0 {
		return nil, nil, &adapters.Error{Code: adapters.CodeFailed, Adapter: a.name, Procedure: procedure,
			Message: "the engine's answer has no result", Err: err}
	}
	if len(o.State) > adapters.MaxScriptStateBytes {
		return nil, nil, &adapters.Error{Code: adapters.CodeFailed, Adapter: a.name, Procedure: procedure,
			Message: fmt.Sprintf("adapter %s: the script's session state (its global variables) would be %d bytes of JSON, more than its bound of %d",
				a.name, len(o.State), adapters.MaxScriptStateBytes)}
	}
	if !jsontext.Value(o.State).IsValid() {
		// The session's store reads JSON strictly (RFC 7493): a string with a lone surrogate,
		// which JavaScript allows, would leave the session unreadable.
		return nil, nil, &adapters.Error{Code: adapters.CodeFailed, Adapter: a.name, Procedure: procedure,
			Message: fmt.Sprintf("adapter %s: the script's session state (its global variables) is not strict JSON (a string with a lone surrogate?)", a.name)}
	}
	return o.Result, o.State, nil
}

// Procedures lists the script's procedures, sorted.
func (a *adapter) Procedures() []string { return slices.Clone(a.procs) }

// Concurrency is the engine's: one call per wasm instance.
func (a *adapter) Concurrency() int {
	if c, ok := a.engine.(adapters.Concurrency); ok {
		return c.Concurrency()
	}
	return 1
}

// Close closes the engine's instances.
func (a *adapter) Close(ctx context.Context) error { return a.engine.Close(ctx) }
