// Package adapters is the contract between Realmgate and the code that customers run inside it:
// an adapter is a named set of procedures, each taking and returning JSON.
//
// Two backends implement the contract: sandboxed WebAssembly modules (package adapters/wasm)
// and hashicorp/go-plugin processes (package plugins). Backends register by kind with
// [Register]; the daemon opens an adapter with [Open] from the adapter's configuration, so an
// unknown kind is a load-time error that lists the known ones. Every backend and every example
// adapter passes the conformance suite in package adapters/adaptertest.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// Adapter runs the procedures of one adapter. Implementations are safe for concurrent use.
type Adapter interface {
	// Call runs one procedure with a JSON input and returns its JSON output. Errors are *Error
	// values whose Code says what went wrong; errors.Is matches them against the sentinels below.
	Call(ctx context.Context, procedure string, input json.RawMessage) (json.RawMessage, error)
	// Procedures lists the procedures the adapter implements, sorted.
	Procedures() []string
	// Close releases the adapter's resources (instances, processes). Calls after Close fail with
	// ErrUnavailable.
	Close(ctx context.Context) error
}

// Code classifies a failed call. The codes are stable: they cross process boundaries (plugins)
// and appear in API error bodies.
type Code string

// The codes a call can fail with.
const (
	CodeUnknownProcedure Code = "unknown_procedure" // the adapter has no such procedure
	CodeFailed           Code = "adapter_failure"   // the procedure reported a failure; Message is the guest's
	CodeTimeout          Code = "adapter_timeout"   // the call ran past its wall-time limit
	CodeOutOfMemory      Code = "adapter_out_of_memory"
	CodeUnavailable      Code = "adapter_unavailable" // the backend cannot take calls (crashed, closed, not loaded)
	CodeBadOutput        Code = "adapter_bad_output"  // the guest broke the ABI: malformed JSON, out-of-range pointer
	CodeBadInput         Code = "adapter_bad_input"   // the input is not valid JSON or is too large
	// CodeBusy: the adapter runs as many calls as it may and as many wait as its queue holds,
	// or the call waited its deadline out in the queue; the caller may retry after RetryAfter.
	CodeBusy Code = "adapter_busy"
)

// Sentinels for errors.Is. An *Error matches the sentinel of its Code.
var (
	ErrUnknownProcedure = &Error{Code: CodeUnknownProcedure}
	ErrFailed           = &Error{Code: CodeFailed}
	ErrTimeout          = &Error{Code: CodeTimeout}
	ErrOutOfMemory      = &Error{Code: CodeOutOfMemory}
	ErrUnavailable      = &Error{Code: CodeUnavailable}
	ErrBadOutput        = &Error{Code: CodeBadOutput}
	ErrBadInput         = &Error{Code: CodeBadInput}
	ErrBusy             = &Error{Code: CodeBusy}
)

// Error is the one error type a call returns.
type Error struct {
	Code      Code
	Adapter   string
	Procedure string
	// Message is safe to show to the caller of the procedure; for CodeFailed it is the guest's
	// own message, bounded in size.
	Message string
	// Err is the underlying cause, for logs; it is never shown to API clients.
	Err error
	// RetryAfter, when positive, is how long the caller should wait before calling again
	// (CodeBusy); the HTTP layer sends it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Adapter != "" || e.Procedure != "" {
		fmt.Fprintf(&b, " in %s.%s", e.Adapter, e.Procedure)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so errors.Is(err, ErrTimeout) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Adapter == "" && t.Message == "" && t.Err == nil && t.RetryAfter == 0
}

// CodeOf returns the Code of err, or CodeFailed when err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeFailed
}

// Limits bound what one adapter may use. Zero values take the defaults in DefaultLimits.
type Limits struct {
	// MemoryPages caps a wasm instance's linear memory, in 64 KiB pages.
	MemoryPages uint32
	// CallTimeout is the wall-time limit of one call.
	CallTimeout time.Duration
	// Instances caps the warm instances (wasm) kept per adapter; calls beyond it wait.
	Instances int
	// MaxConcurrent caps the calls of the adapter that run at once, and MaxQueue the calls
	// that wait for one of them to end; a call beyond both fails at once with CodeBusy. Zero
	// takes the defaults of [Limit]: the backend's own concurrency ([Concurrency]; a wasm
	// adapter's Instances) and 4 × MaxConcurrent, at least 16. A negative MaxQueue lets no
	// call wait. Backends do not read them: [Limit] enforces them in front of any backend.
	MaxConcurrent, MaxQueue int
	// CancelGrace is how long a plugin may keep running a call after the daemon gave up on it
	// (its deadline passed or its caller left) before the plugin process is killed and
	// relaunched.
	CancelGrace time.Duration
	// MaxInput and MaxOutput bound the JSON crossing the boundary, in bytes.
	MaxInput, MaxOutput int
	// HTTPTimeout and MaxHTTPBody bound outbound HTTP made through the host function.
	HTTPTimeout time.Duration
	MaxHTTPBody int
}

// DefaultLimits are the limits of an adapter whose configuration sets none.
var DefaultLimits = Limits{
	MemoryPages: 1024, // 64 MiB
	CallTimeout: 5 * time.Second,
	Instances:   4,
	MaxInput:    1 << 20,
	MaxOutput:   1 << 20,
	HTTPTimeout: 10 * time.Second,
	MaxHTTPBody: 1 << 20,
	CancelGrace: 2 * time.Second,
}

// WithDefaults returns l with every zero field set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.MemoryPages == 0 {
		l.MemoryPages = d.MemoryPages
	}
	if l.CallTimeout == 0 {
		l.CallTimeout = d.CallTimeout
	}
	if l.Instances == 0 {
		l.Instances = d.Instances
	}
	if l.MaxInput == 0 {
		l.MaxInput = d.MaxInput
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = d.MaxOutput
	}
	if l.HTTPTimeout == 0 {
		l.HTTPTimeout = d.HTTPTimeout
	}
	if l.MaxHTTPBody == 0 {
		l.MaxHTTPBody = d.MaxHTTPBody
	}
	if l.CancelGrace == 0 {
		l.CancelGrace = d.CancelGrace
	}
	return l
}

// HostPort is one entry of an adapter's outbound HTTP allow-list. Port 0 allows no port: an
// entry always names its port, so that allowing a host never allows every service on it.
type HostPort struct {
	Host string
	Port int
}

func (h HostPort) String() string { return fmt.Sprintf("%s:%d", h.Host, h.Port) }

// Config is everything a backend needs to open one adapter. The daemon builds it from the
// adapter's XML file; tests and `hostd adapter test` build it directly.
type Config struct {
	// Name is the adapter's name, as procedures are addressed: Name.procedure.
	Name string
	// Kind selects the backend: "wasm" or "plugin".
	Kind string
	// Module is the path of the .wasm file (kind wasm); Command is the plugin's argv (kind plugin).
	Module  string
	Command []string
	// Script is the JavaScript of a Worklight JavaScript adapter (kind js): the path of its
	// <A>-impl.js, run by the JavaScript engine module that Module names (package adapters/js).
	Script string
	// SHA256 pins the module or the plugin binary: hex of the SHA-256 of the file. Empty means
	// not pinned, which the daemon allows only in development mode.
	SHA256 string
	// Procedures are the procedures the configuration declares; a backend refuses to open an
	// adapter that lacks one of them. Empty: whatever the adapter exports.
	Procedures []string
	// Settings is the adapter's own configuration, readable by the guest.
	Settings map[string]string
	// AllowHTTP is the outbound HTTP allow-list; empty allows nothing.
	AllowHTTP []HostPort
	// PKI grants the host's PKI capability (wasm): parsing CSRs and signing certificates with a
	// key the host holds. Nil grants nothing: the guest's calls fail with a clear error.
	PKI    *PKIGrant
	Limits Limits
	// CacheDir holds compiled modules between restarts (wasm); empty disables the disk cache.
	CacheDir string
	// Logger receives the adapter's structured logs; nil discards them.
	Logger *slog.Logger

	// SingleUse is the host-side single-use store the guest reaches through realmgate.once
	// (wasm); nil answers every such call "the store cannot answer".
	SingleUse SingleUse

	// SQL is the data source the host opened for the adapter (a Worklight SQL adapter's
	// <dataSourceDefinition>, package adapters/sqlsource), which the guest reaches through
	// realmgate.sql (wasm); nil answers every such call "no data source". The daemon owns it
	// and closes it; the adapter does not.
	SQL SQLSource
}

// SQLSource runs the SQL requests of an adapter's guest against the data source the host owns
// for it: request and answer are the JSON of ABI.md's realmgate.sql. Safe for concurrent use.
type SQLSource interface {
	Do(ctx context.Context, request []byte) []byte
}

// Backend opens adapters of one kind.
type Backend interface {
	Open(ctx context.Context, cfg Config) (Adapter, error)
}

// BackendFunc adapts a function to Backend.
type BackendFunc func(ctx context.Context, cfg Config) (Adapter, error)

// Open calls f.
func (f BackendFunc) Open(ctx context.Context, cfg Config) (Adapter, error) { return f(ctx, cfg) }

var (
	registryMu sync.RWMutex
	registry   = map[string]Backend{}
)

// Register makes a backend available under kind. Backends register from an init function, so a
// blank import switches them on. Registering a kind twice panics: it is a programming error.
func Register(kind string, b Backend) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[kind]; dup {
		panic("adapters: backend registered twice: " + kind)
	}
	registry[kind] = b
}

// Kinds lists the registered backend kinds, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	kinds := make([]string, 0, len(registry))
	for k := range registry {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// UnknownKindError is returned by Open for a kind no backend registered.
type UnknownKindError struct {
	Kind  string
	Known []string
}

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("unknown adapter kind %q (known: %s)", e.Kind, strings.Join(e.Known, ", "))
}

// Open opens the adapter cfg describes with the backend registered for cfg.Kind.
func Open(ctx context.Context, cfg Config) (Adapter, error) {
	registryMu.RLock()
	b, ok := registry[cfg.Kind]
	registryMu.RUnlock()
	if !ok {
		return nil, &UnknownKindError{Kind: cfg.Kind, Known: Kinds()}
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	return b.Open(ctx, cfg)
}
