package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/jsonvalid"
	"github.com/realmgate/realmgate/plugins/internal/pluginpb"
	"github.com/realmgate/realmgate/plugins/internal/wire"
)

// Kind is the adapter kind this backend registers.
const Kind = "plugin"

func init() {
	adapters.Register(Kind, adapters.BackendFunc(Open))
}

// Load errors callers may branch on; Open wraps them with the details.
var (
	// ErrChecksumMismatch: the binary is not the one Config.SHA256 pins.
	ErrChecksumMismatch = errors.New("plugin binary does not match its pinned SHA-256")
	// ErrHandshake: the binary ran but did not start as a Realmgate plugin.
	ErrHandshake = errors.New("plugin did not complete the go-plugin handshake")
	// ErrMissingProcedures: the plugin lacks procedures the configuration declares.
	ErrMissingProcedures = errors.New("plugin lacks declared procedures")
)

const (
	// startTimeout bounds a launch: the process start, the handshake and the Start call.
	startTimeout = 10 * time.Second
	// The backoff between failed launches doubles from minBackoff to maxBackoff.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
	// A process that dies (a crash, or a kill for a call it kept running) within stableAfter of
	// its launch, after freeRelaunches that did the same, is relaunched only after a backoff
	// that doubles from minBackoff to maxBackoff, so that a plugin crashing on every call does
	// not spin the CPU relaunching it.
	stableAfter    = 10 * time.Second
	freeRelaunches = 2
	// probeTimeout bounds the Running call that asks a plugin whether a call it was given up
	// on still runs; a plugin that does not answer within it is killed.
	probeTimeout = time.Second
	// concurrency is the number of calls a plugin process runs at once by default
	// (adapters.Concurrency): calls run in goroutines of the process.
	concurrency = 16
)

// errCrashLoop is the launch error of a plugin whose processes keep dying soon after launch.
var errCrashLoop = errors.New("plugin process keeps dying soon after its launch")

// Open launches the plugin cfg describes and returns it as an adapter. It is the backend
// registered under Kind; adapters.Open is the usual way in.
func Open(ctx context.Context, cfg adapters.Config) (adapters.Adapter, error) {
	cfg.Limits = cfg.Limits.WithDefaults()
	// Every load error is an *adapters.Error, as the wasm backend's are: the daemon reports both
	// the same way. The sentinels above stay reachable through errors.Is.
	loadErr := func(msg string, cause error) error {
		return &adapters.Error{Code: adapters.CodeUnavailable, Adapter: cfg.Name, Message: msg, Err: cause}
	}
	if cfg.Name == "" {
		return nil, loadErr("the adapter has no name", nil)
	}
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, loadErr("no command: set the plugin's executable", nil)
	}
	var sum []byte
	if cfg.SHA256 != "" {
		var err error
		sum, err = hex.DecodeString(cfg.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, loadErr(fmt.Sprintf("SHA256 %q is not 64 hex digits", cfg.SHA256), nil)
		}
	}
	// The settings and name cross the boundary as protobuf strings, which must be UTF-8.
	if !utf8.ValidString(cfg.Name) {
		return nil, loadErr(fmt.Sprintf("adapter name %q is not valid UTF-8", cfg.Name), nil)
	}
	for k, v := range cfg.Settings {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, loadErr(fmt.Sprintf("setting %q is not valid UTF-8", strings.ToValidUTF8(k, "\uFFFD")), nil)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &adapter{
		cfg:      cfg,
		checksum: sum,
		log:      log.With("adapter", cfg.Name),
		maxRecv:  cfg.Limits.MaxOutput + wire.ResponseOverhead,
	}
	in, err := a.launch(ctx)
	if err != nil {
		return nil, loadErr("the plugin could not be started", err)
	}
	a.procs = in.procs
	a.procSet = make(map[string]bool, len(in.procs))
	for _, p := range in.procs {
		a.procSet[p] = true
	}
	a.cur.Store(in)
	return a, nil
}

// adapter is an adapters.Adapter backed by a plugin process, relaunched when it dies.
type adapter struct {
	cfg      adapters.Config
	checksum []byte
	log      *slog.Logger
	maxRecv  int
	procs    []string
	procSet  map[string]bool

	cur    atomic.Pointer[instance] // the running process; nil or broken: launch on next call
	closed atomic.Bool

	mu      sync.Mutex // serialises launches and Close
	lastErr error      // the last launch failure, returned until retryAt
	retryAt time.Time
	backoff time.Duration
	// quickDeaths counts the processes in a row that died within stableAfter of their launch.
	quickDeaths int
	stopped     sync.WaitGroup // processes being stopped

	nextID atomic.Uint64 // numbers calls (CallRequest.id)
}

var (
	_ adapters.Adapter     = (*adapter)(nil)
	_ adapters.Initializer = (*adapter)(nil)
	_ adapters.Concurrency = (*adapter)(nil)
)

// Concurrency is the number of calls a plugin runs at once by default (adapters.Concurrency).
func (a *adapter) Concurrency() int { return concurrency }

// instance is one plugin process.
type instance struct {
	client  *plugin.Client
	cmd     *exec.Cmd
	rpc     pluginpb.AdapterClient
	pid     int
	procs   []string
	started time.Time
	broken  atomic.Bool // the connection failed: stop the process and launch another

	// initMu orders inits (adapters.Init) against the calls that rely on them: such a call holds
	// it for reading, an init (or a direct call of the init procedure) for writing. It guards
	// the fields below: the procedure of the process's last init, and its digest once it
	// succeeded.
	initMu     sync.RWMutex
	initProc   string
	initDigest [sha256.Size]byte
	initDone   bool
}

// initialised reports whether the process ran the init of this digest and no other since. The
// caller holds initMu.
func (in *instance) initialised(digest [sha256.Size]byte) bool {
	return in.initDone && in.initDigest == digest
}

// exited reports whether the instance can no longer take calls.
func (in *instance) exited() bool { return in.broken.Load() || in.client.Exited() }

// launch starts a plugin process, checks it and hands it the adapter's configuration.
func (a *adapter) launch(ctx context.Context) (*instance, error) {
	cmd := exec.Command(a.cfg.Command[0], a.cfg.Command[1:]...)
	if cmd.Err != nil {
		return nil, fmt.Errorf("plugin command: %w", cmd.Err)
	}
	var secure *plugin.SecureConfig
	if a.checksum != nil {
		secure = &plugin.SecureConfig{Checksum: a.checksum, Hash: sha256.New()}
	}
	stderr := stderrLog(a.log)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		Plugins:          plugin.PluginSet{wire.PluginName: &wire.Plugin{}},
		Cmd:              cmd,
		SecureConfig:     secure,
		AutoMTLS:         true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogBridge(a.log, filepath.Base(cmd.Path)),
		Stderr:           stderr,
		SyncStdout:       stdioLog(a.log, "stdout"),
		SyncStderr:       stdioLog(a.log, "stderr"),
		// The daemon's environment holds its own secrets; a plugin gets its settings instead.
		SkipHostEnv:  true,
		StartTimeout: startTimeout,
	})
	in, err := a.handshake(ctx, client, cmd)
	if err != nil {
		client.Kill()
		switch {
		case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
			return nil, fmt.Errorf("%w: %s has SHA-256 %s, configuration pins %s", ErrChecksumMismatch, cmd.Path, fileSHA256(cmd.Path), a.cfg.SHA256)
		case errors.Is(err, ErrMissingProcedures):
			return nil, err
		}
		if tail := stderr.Tail(); len(tail) > 0 {
			err = fmt.Errorf("%w (stderr: %s)", err, cut(strings.Join(tail, " | "), 1024))
		}
		return nil, err
	}
	return in, nil
}

func (a *adapter) handshake(ctx context.Context, client *plugin.Client, cmd *exec.Cmd) (*instance, error) {
	proto, err := client.Client()
	if err != nil {
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s %s (is it a plugin built with plugins/sdk?)", ErrHandshake, cmd.Path, handshakeFailure(err))
	}
	raw, err := proto.Dispense(wire.PluginName)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrHandshake, cmd.Path, err)
	}
	rpc := raw.(pluginpb.AdapterClient)
	sctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	resp, err := rpc.Start(sctx, &pluginpb.StartRequest{Adapter: a.cfg.Name, Settings: a.cfg.Settings}, grpc.MaxCallRecvMsgSize(a.maxRecv))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: start: %v", ErrHandshake, cmd.Path, err)
	}
	procs := slices.Sorted(slices.Values(resp.GetProcedures()))
	procs = slices.Compact(procs)
	var missing []string
	for _, p := range a.cfg.Procedures {
		if _, ok := slices.BinarySearch(procs, p); !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s does not implement %s (it implements %s)", ErrMissingProcedures, cmd.Path,
			strings.Join(missing, ", "), strings.Join(procs, ", "))
	}
	pid, _ := strconv.Atoi(client.ID())
	a.log.Debug("plugin started", "pid", pid, "procedures", len(procs))
	return &instance{client: client, cmd: cmd, rpc: rpc, pid: pid, procs: procs, started: time.Now()}, nil
}

// instance returns the running process, launching one if there is none or it died.
func (a *adapter) instance(ctx context.Context) (*instance, error) {
	if in := a.cur.Load(); in != nil && !in.exited() {
		return in, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed.Load() {
		return nil, errClosed
	}
	in := a.cur.Load()
	if in != nil && !in.exited() {
		return in, nil // another call relaunched it
	}
	if in != nil {
		a.cur.Store(nil)
		a.died(in)
		a.stop(in)
	}
	if time.Now().Before(a.retryAt) {
		return nil, a.lastErr
	}
	in, err := a.launch(ctx)
	if err != nil {
		a.backoff = min(max(2*a.backoff, minBackoff), maxBackoff)
		a.lastErr, a.retryAt = err, time.Now().Add(a.backoff)
		a.log.Error("plugin relaunch failed", "error", err, "retry_in", a.backoff)
		return nil, err
	}
	a.backoff, a.lastErr = 0, nil
	a.log.Info("plugin relaunched", "pid", in.pid)
	a.cur.Store(in)
	return in, nil
}

// died records that the process in is gone (it crashed, or was killed for a call it kept
// running), and holds the next launch back when processes keep dying soon after their launch.
// The caller holds a.mu.
func (a *adapter) died(in *instance) {
	lived := time.Since(in.started)
	if lived >= stableAfter {
		a.quickDeaths = 0
		return
	}
	a.quickDeaths++
	if a.quickDeaths <= freeRelaunches {
		return // a crash or two: relaunch at once
	}
	wait := min(minBackoff<<min(a.quickDeaths-freeRelaunches-1, 16), maxBackoff)
	a.lastErr = fmt.Errorf("%w: %d processes in a row died within %s of their launch; the next launch waits %s", errCrashLoop, a.quickDeaths, stableAfter, wait)
	a.retryAt = time.Now().Add(wait)
	a.log.Warn("plugin keeps dying; relaunch backing off", "pid", in.pid, "lived", lived, "in_a_row", a.quickDeaths, "retry_in", wait)
}

// retire kills the process in, which the daemon gave up on (a call it kept running past its
// grace period, or a probe it did not answer): the calls in flight in it fail as unavailable
// and the next call launches a new process.
func (a *adapter) retire(in *instance, why string) {
	in.broken.Store(true)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed.Load() {
		return // Close stops it
	}
	a.log.Error("killing plugin process: "+why, "pid", in.pid)
	_ = in.cmd.Process.Kill() // it does not behave: no graceful shutdown (safe after its exit)
	if a.cur.Load() == in {
		a.cur.Store(nil)
		a.died(in)
		a.stop(in) // otherwise the call that replaced it stopped it
	}
}

// stop ends a process in the background; Close waits for every stop.
func (a *adapter) stop(in *instance) {
	a.stopped.Add(1)
	go func() {
		defer a.stopped.Done()
		in.client.Kill()
	}()
}

var errClosed = errors.New("adapter is closed")

// Call runs one procedure in the plugin process.
func (a *adapter) Call(ctx context.Context, procedure string, input json.RawMessage) (json.RawMessage, error) {
	if err := a.checkCall(procedure, input); err != nil {
		return nil, err
	}
	in, err := a.running(ctx, procedure)
	if err != nil {
		return nil, err
	}
	in.initMu.RLock()
	if procedure != in.initProc {
		defer in.initMu.RUnlock()
		return a.call(ctx, in, procedure, input)
	}
	in.initMu.RUnlock()
	// Whoever calls init directly may configure the process otherwise: the next CallInit runs
	// its init again. The calls that rely on the process's init are not running meanwhile.
	in.initMu.Lock()
	defer in.initMu.Unlock()
	in.initDone = false
	return a.call(ctx, in, procedure, input)
}

// CallInit runs procedure in a plugin process that ran init, running init first (within a call
// timeout of its own) when the process is new, was relaunched, ran another init since or its
// last init failed. Calls that rely on the same init run concurrently; an init waits for the
// calls that rely on another one to end, and the process runs nothing else that relies on an init
// while it runs.
func (a *adapter) CallInit(ctx context.Context, init adapters.Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	if err := a.checkCall(procedure, input); err != nil {
		return nil, err
	}
	if err := a.checkCall(init.Procedure, init.Input); err != nil {
		return nil, err
	}
	digest := init.Digest()
	in, err := a.running(ctx, procedure)
	if err != nil {
		return nil, err
	}
	in.initMu.RLock()
	if in.initialised(digest) && procedure != in.initProc {
		defer in.initMu.RUnlock()
		return a.call(ctx, in, procedure, input)
	}
	in.initMu.RUnlock()
	in.initMu.Lock()
	defer in.initMu.Unlock()
	if !in.initialised(digest) {
		// Until init succeeds the process holds no init: a failed or partial one is redone.
		in.initProc, in.initDone = init.Procedure, false
		if _, err := a.call(ctx, in, init.Procedure, init.Input); err != nil {
			return nil, err
		}
		in.initDigest, in.initDone = digest, true
	}
	if procedure == in.initProc {
		in.initDone = false
	}
	return a.call(ctx, in, procedure, input)
}

// checkCall checks a call before it reaches the process: the adapter is open, the procedure
// exists, the input is within the limit and is JSON.
func (a *adapter) checkCall(procedure string, input json.RawMessage) error {
	fail := func(code adapters.Code, msg string) error {
		return &adapters.Error{Code: code, Adapter: a.cfg.Name, Procedure: procedure, Message: msg}
	}
	if a.closed.Load() {
		return fail(adapters.CodeUnavailable, "adapter is closed")
	}
	if !a.procSet[procedure] {
		return fail(adapters.CodeUnknownProcedure, fmt.Sprintf("no procedure %q", procedure))
	}
	if len(input) > a.cfg.Limits.MaxInput {
		return fail(adapters.CodeBadInput, fmt.Sprintf("input is %d bytes; the limit is %d", len(input), a.cfg.Limits.MaxInput))
	}
	if !jsonvalid.Valid(input) {
		return fail(adapters.CodeBadInput, "input is not valid JSON")
	}
	return nil
}

// running returns the running process for a call of procedure, launching one if needed.
func (a *adapter) running(ctx context.Context, procedure string) (*instance, error) {
	in, err := a.instance(ctx)
	if err == nil {
		return in, nil
	}
	e := &adapters.Error{Code: adapters.CodeUnavailable, Adapter: a.cfg.Name, Procedure: procedure, Message: "plugin is not running and could not be launched", Err: err}
	switch {
	case errors.Is(err, errClosed):
		e.Message, e.Err = "adapter is closed", nil
	case errors.Is(err, errCrashLoop):
		e.Message = "plugin keeps dying soon after its launch; it is relaunched after a backoff"
	}
	return nil, e
}

// call runs one procedure in the process in, within the adapter's call timeout.
func (a *adapter) call(ctx context.Context, in *instance, procedure string, input json.RawMessage) (_ json.RawMessage, err error) {
	fail := func(code adapters.Code, msg string, err error) error {
		return &adapters.Error{Code: code, Adapter: a.cfg.Name, Procedure: procedure, Message: msg, Err: err}
	}
	start := time.Now()
	defer func() {
		var code adapters.Code
		if err != nil {
			code = adapters.CodeOf(err)
		}
		adapters.LogGuestCall(ctx, a.log, procedure, time.Since(start), code)
	}()
	cctx, cancel := context.WithTimeout(ctx, a.cfg.Limits.CallTimeout)
	defer cancel()
	id := a.nextID.Add(1)
	resp, err := in.rpc.Call(cctx, &pluginpb.CallRequest{Procedure: procedure, Input: input, Id: id}, grpc.MaxCallRecvMsgSize(a.maxRecv))
	if err != nil {
		code, msg := a.callFailure(ctx, cctx, in, err)
		if (code == adapters.CodeTimeout || ctx.Err() != nil) && !in.broken.Load() {
			// The call was given up on (the plugin may see its deadline before this side
			// does): the plugin has its grace period to end it.
			a.watch(in, id, procedure)
		}
		return nil, fail(code, msg, err)
	}
	if recs, dropped := decodeLogs(resp); len(recs) > 0 || dropped > 0 {
		a.writeLogs(ctx, procedure, recs, dropped)
	}
	out, perr := decodeResponse(resp, a.cfg.Limits.MaxOutput)
	if perr != nil {
		if d, _ := cctx.Deadline(); !time.Now().Before(d) {
			// A failure that arrives after the deadline is the deadline's doing (the plugin's
			// context expired first), even if this side's timer has not fired yet.
			return nil, fail(adapters.CodeTimeout, a.timeoutMessage(ctx, cctx), perr)
		}
		perr.Adapter, perr.Procedure = a.cfg.Name, procedure
		return nil, perr
	}
	return out, nil
}

// watch checks, once the grace period has passed, that the plugin no longer runs the call id it
// was given up on, and kills the process if it does or cannot say.
func (a *adapter) watch(in *instance, id uint64, procedure string) {
	time.AfterFunc(a.cfg.Limits.CancelGrace, func() {
		if a.closed.Load() || in.exited() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		resp, err := in.rpc.Running(ctx, &pluginpb.RunningRequest{Ids: []uint64{id}})
		switch {
		case err != nil && status.Code(err) == codes.Unimplemented:
			a.retire(in, fmt.Sprintf("a call of %s was given up on and the plugin cannot say whether it ended (its SDK predates the Running call)", procedure))
		case err != nil:
			a.retire(in, fmt.Sprintf("a call of %s was given up on and the plugin did not answer whether it ended: %v", procedure, err))
		case len(resp.GetIds()) > 0:
			a.retire(in, fmt.Sprintf("it kept running a call of %s %s after the call was given up on", procedure, a.cfg.Limits.CancelGrace))
		}
	})
}

// callFailure classifies a failed RPC. A failure of the connection or the process marks the
// instance broken, so that the next call launches a new process.
func (a *adapter) callFailure(ctx, cctx context.Context, in *instance, err error) (adapters.Code, string) {
	st := status.Convert(err)
	switch {
	case a.closed.Load():
		return adapters.CodeUnavailable, "adapter is closed"
	case errors.Is(ctx.Err(), context.Canceled):
		return adapters.CodeUnavailable, "call cancelled by its caller"
	case errors.Is(cctx.Err(), context.DeadlineExceeded), st.Code() == codes.DeadlineExceeded:
		// The plugin's side of the stream may see the deadline a moment before this side does,
		// so the status counts as much as the context.
		return adapters.CodeTimeout, a.timeoutMessage(ctx, cctx)
	}
	switch st.Code() {
	case codes.ResourceExhausted:
		return adapters.CodeBadOutput, fmt.Sprintf("response exceeds the %d-byte output limit", a.cfg.Limits.MaxOutput)
	case codes.Unavailable, codes.Canceled, codes.Aborted:
		in.broken.Store(true)
		a.log.Warn("plugin connection lost; relaunching on next call", "pid", in.pid, "error", err)
		return adapters.CodeUnavailable, "plugin process died or closed its connection during the call; it is relaunched on the next call"
	}
	if in.client.Exited() {
		in.broken.Store(true)
		return adapters.CodeUnavailable, "plugin process exited during the call; it is relaunched on the next call"
	}
	return adapters.CodeBadOutput, "plugin broke the protocol: " + cut(st.Message(), 256)
}

// timeoutMessage says which deadline a call ran past: the caller's or the adapter's limit.
func (a *adapter) timeoutMessage(ctx, cctx context.Context) string {
	if d, ok := ctx.Deadline(); ok {
		if cd, _ := cctx.Deadline(); !cd.Before(d) {
			return "call ran past its caller's deadline"
		}
	}
	return fmt.Sprintf("call ran past its %s limit", a.cfg.Limits.CallTimeout)
}

// writeLogs writes the records a plugin sent back with a call.
func (a *adapter) writeLogs(ctx context.Context, procedure string, recs []logRecord, dropped int) {
	for _, r := range recs {
		a.log.LogAttrs(ctx, r.level, r.msg, append([]slog.Attr{slog.String("procedure", procedure)}, r.attrs...)...)
	}
	if dropped > 0 {
		a.log.LogAttrs(ctx, slog.LevelWarn, "plugin log records dropped", slog.String("procedure", procedure), slog.Int("dropped", dropped))
	}
}

// Procedures lists the procedures the plugin reported at launch.
func (a *adapter) Procedures() []string { return slices.Clone(a.procs) }

// Close stops the plugin process and waits until it is gone. If ctx ends first the process is
// killed outright.
func (a *adapter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed.Swap(true) {
		a.mu.Unlock()
		return nil
	}
	in := a.cur.Swap(nil)
	if in != nil {
		a.stop(in)
	}
	a.mu.Unlock()
	done := make(chan struct{})
	go func() {
		a.stopped.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if in != nil {
			_ = in.cmd.Process.Kill() // safe after exit: os.Process does not signal a reaped pid
		}
		<-done
		return fmt.Errorf("plugins: adapter %q: close: %w", a.cfg.Name, ctx.Err())
	}
}

// fileSHA256 returns the hex SHA-256 of a file, for error messages.
func fileSHA256(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return hex.EncodeToString(h.Sum(nil))
}

// handshakeFailure says briefly what went wrong in go-plugin's handshake; its own errors run
// to several lines of diagnostics.
func handshakeFailure(err error) string {
	const unrecognized = "Unrecognized remote plugin message: "
	msg := err.Error()
	switch first, _, _ := strings.Cut(msg, "\n"); {
	case strings.Contains(msg, "Failed to read any lines from plugin's stdout"),
		strings.Contains(msg, "plugin exited before we could connect"):
		return "exited before the handshake"
	case strings.HasPrefix(first, unrecognized):
		return fmt.Sprintf("printed %q instead of the handshake", cut(strings.TrimPrefix(first, unrecognized), 200))
	default:
		return "failed the handshake: " + strings.Join(strings.Fields(msg), " ")
	}
}

// pid returns the process id of the running plugin, or 0.
func (a *adapter) pid() int {
	if in := a.cur.Load(); in != nil {
		return in.pid
	}
	return 0
}
