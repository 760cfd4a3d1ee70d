package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/realmgate/realmgate/adapters"
)

// instance is one instantiated module, used by one call at a time.
type instance struct {
	a      *adapter
	mod    api.Module
	mem    *cappedMemory
	alloc  api.Function
	free   api.Function
	procs  map[string]api.Function
	stack  []uint64
	state  callState
	output *guestOutput
	// cctx is the context of the current call (see callContext); a guest asleep in WASI's
	// poll_oneoff wakes up when it ends, so that the call's deadline holds.
	cctx *callContext
	// broken is set when a call left the instance in doubt; it is then closed, not pooled.
	broken bool
	// The last init the instance ran (adapters.Init): its procedure, and its digest once it
	// succeeded.
	initProc   string
	initDigest [sha256.Size]byte
	initDone   bool
}

// initialised reports whether the instance ran the init of this digest and no other since.
func (inst *instance) initialised(digest [sha256.Size]byte) bool {
	return inst.initDone && inst.initDigest == digest
}

// callState is what the host functions of one call share. It lives in the call's context so
// that the host functions, which wazero shares between instances, find their call.
type callState struct {
	procedure string
	failed    bool
	failMsg   string
	pending   []byte // the result the guest collects with the result host function
	logs      int
	dropped   int
	aborted   bool
	abortMsg  string
	onces     int // realmgate.once calls made
	invokes   int // realmgate.invoke calls made (invoke.go)
	sqls      int // realmgate.sql calls made
}

func (s *callState) reset(procedure string) { *s = callState{procedure: procedure} }

type stateKey struct{}

func stateOf(ctx context.Context) *callState {
	if s, ok := ctx.Value(stateKey{}).(*callState); ok {
		return s
	}
	return &callState{} // a host function called outside a call: record into the void
}

// newInstance instantiates the module (running its _initialize) for a call of procedure ("" at
// load). Failures are classified like a call's.
func (a *adapter) newInstance(ctx context.Context, deadline time.Time, procedure string) (*instance, *adapters.Error) {
	inst := &instance{a: a, stack: make([]uint64, 2), cctx: newCallContext()}
	inst.output = newGuestOutput(a.logger)
	// Instantiation is rare: an ordinary context bounds it (the module to close does not
	// exist until it returns).
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	inst.cctx.deadline = deadline
	ctx = context.WithValue(ctx, stateKey{}, &inst.state)
	inst.state.reset(exportInitialize)
	limit := uint64(a.limits.MemoryPages) * 65536
	ctx = experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(capacity, _ uint64) experimental.LinearMemory {
		inst.mem = newCappedMemory(capacity, limit)
		return inst.mem
	}))
	// No filesystem, arguments or environment: wazero gives none unless asked. Clocks and
	// random numbers are real ones (wazero's defaults are deterministic fakes).
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(exportInitialize).
		WithStdout(inst.output.stream("stdout")).
		WithStderr(inst.output.stream("stderr")).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(inst.sleep).
		WithRandSource(rand.Reader)
	mod, err := a.rt.InstantiateModule(ctx, a.compiled, mc)
	if err != nil {
		return nil, inst.classify(ctx, procedure, err, "instantiating the module")
	}
	inst.mod = mod
	inst.alloc = mod.ExportedFunction(exportAlloc)
	inst.free = mod.ExportedFunction(exportFree)
	inst.procs = make(map[string]api.Function, len(a.procedures))
	for _, p := range a.procedures {
		inst.procs[p] = mod.ExportedFunction(procPrefix + p)
	}
	if inst.mem == nil || mod.Memory() == nil {
		mod.Close(context.Background())
		return nil, a.errorf(adapters.CodeUnavailable, procedure, nil, "the module has no memory of its own")
	}
	return inst, nil
}

// sleep is WASI's sleep (wazero's own ignores the call's context): it ends at the call's
// deadline, or earlier when the call ends.
func (inst *instance) sleep(ns int64) {
	d := min(time.Duration(ns), time.Until(inst.cctx.deadline))
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-inst.cctx.done:
	}
}

func (inst *instance) abiVersion(ctx context.Context) (uint32, error) {
	res, err := inst.mod.ExportedFunction(exportABIVersion).Call(ctx)
	if err != nil {
		return 0, err
	}
	return uint32(res[0]), nil
}

func (inst *instance) close() {
	if inst.mod != nil {
		_ = inst.mod.Close(context.Background())
	}
}

// call runs one procedure: alloc and write the input, call realmgate_proc_<procedure>, check
// and copy the result, free both buffers.
func (inst *instance) call(parent context.Context, deadline time.Time, procedure string, input []byte) (_ []byte, cerr *adapters.Error) {
	a := inst.a
	st := &inst.state
	st.reset(procedure)
	inst.mem.refused = false
	inst.output.startCall()
	ctx := inst.cctx
	start := time.Now()
	disarm := ctx.arm(parent, deadline, st)
	defer func() {
		if disarm() {
			// The deadline or the caller's end came, maybe just after the guest finished:
			// wazero closes the module, so the instance must not serve again.
			inst.broken = true
		}
		inst.output.flush()
		if st.dropped > 0 {
			a.logger.Warn("adapter log records dropped", "procedure", procedure, "dropped", st.dropped, "limit", maxLogRecords)
		}
		var code adapters.Code
		if cerr != nil {
			code = cerr.Code
		}
		adapters.LogGuestCall(parent, a.logger, procedure, time.Since(start), code)
	}()

	n := uint32(len(input))
	stack := inst.stack[:1]
	stack[0] = api.EncodeU32(n)
	if err := inst.alloc.CallWithStack(ctx, stack); err != nil {
		return nil, inst.classify(ctx, procedure, err, exportAlloc)
	}
	inPtr := api.DecodeU32(stack[0])
	if inPtr == 0 {
		inst.broken = true
		return nil, a.errorf(adapters.CodeOutOfMemory, procedure, nil, "%s(%d) returned 0: the guest is out of memory", exportAlloc, n)
	}
	if !inst.mod.Memory().Write(inPtr, input) {
		inst.broken = true
		return nil, a.errorf(adapters.CodeBadOutput, procedure, nil, "%s(%d) returned %d, %v", exportAlloc, n, inPtr, errOutOfRange)
	}

	stack = inst.stack[:2]
	stack[0], stack[1] = api.EncodeU32(inPtr), api.EncodeU32(n)
	if err := inst.procs[procedure].CallWithStack(ctx, stack); err != nil {
		return nil, inst.classify(ctx, procedure, err, procPrefix+procedure)
	}
	packed := stack[0]
	if st.failed {
		if err := inst.freeBuf(ctx, inPtr, n); err != nil {
			return nil, inst.classify(ctx, procedure, err, exportFree)
		}
		return nil, a.errorf(adapters.CodeFailed, procedure, nil, "%s", st.failMsg)
	}
	mem := inst.mod.Memory()
	outPtr, outLen, err := unpackResult(packed, mem.Size(), a.limits.MaxOutput)
	if err != nil {
		inst.broken = true
		return nil, a.errorf(adapters.CodeBadOutput, procedure, err, "%v", err)
	}
	view, _ := mem.Read(outPtr, outLen)
	if err := checkOutput(view); err != nil {
		inst.broken = true
		return nil, a.errorf(adapters.CodeBadOutput, procedure, err, "%v", err)
	}
	out := make([]byte, len(view))
	copy(out, view)
	// A guest that hands back its input buffer (an echo) gets it freed once, with the size it
	// was allocated with.
	if outPtr != inPtr {
		if err := inst.freeBuf(ctx, outPtr, outLen); err != nil {
			return nil, inst.classify(ctx, procedure, err, exportFree)
		}
	}
	if err := inst.freeBuf(ctx, inPtr, n); err != nil {
		return nil, inst.classify(ctx, procedure, err, exportFree)
	}
	return out, nil
}

func (inst *instance) freeBuf(ctx context.Context, ptr, n uint32) error {
	stack := inst.stack[:2]
	stack[0], stack[1] = api.EncodeU32(ptr), api.EncodeU32(n)
	return inst.free.CallWithStack(ctx, stack)
}

// hostTrap is what a host function panics with when the guest broke the ABI; the call fails
// with CodeBadOutput.
type hostTrap struct{ msg string }

func (e *hostTrap) Error() string { return e.msg }

// guestAbort is what env.abort panics with; the call fails with the guest's message.
type guestAbort struct{ msg string }

func (e *guestAbort) Error() string { return "abort: " + e.msg }

// classify turns the error of a guest function into the call's error. Any such error leaves
// the instance in doubt, so it is marked broken.
func (inst *instance) classify(ctx context.Context, procedure string, err error, fn string) *adapters.Error {
	a := inst.a
	inst.broken = true
	var (
		exit  *sys.ExitError
		trap  *hostTrap
		abort *guestAbort
	)
	cause := err
	if excerpt := inst.output.stderrExcerpt(); excerpt != "" {
		cause = fmt.Errorf("%w; guest stderr: %s", err, excerpt)
	}
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		return a.errorf(adapters.CodeTimeout, procedure, cause, "the call ran past its deadline (call timeout %s) and was stopped", a.limits.CallTimeout)
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		return a.errorf(adapters.CodeTimeout, procedure, cause, "the call was canceled and stopped")
	case inst.mem != nil && inst.mem.refused:
		return a.errorf(adapters.CodeOutOfMemory, procedure, cause, "the guest tried to grow its memory past the limit of %d pages (%d MiB)",
			a.limits.MemoryPages, uint64(a.limits.MemoryPages)*64/1024)
	case errors.As(err, &trap):
		return a.errorf(adapters.CodeBadOutput, procedure, cause, "%s", trap.msg)
	case errors.As(err, &abort):
		return a.errorf(adapters.CodeFailed, procedure, cause, "%s", abort.msg)
	case errors.As(err, &exit):
		return a.errorf(adapters.CodeFailed, procedure, cause, "the guest exited with code %d in %s", exit.ExitCode(), fn)
	case ctx.Err() != nil:
		return a.ctxError(ctx.Err(), procedure, "in "+fn)
	}
	return a.errorf(adapters.CodeFailed, procedure, cause, "the guest trapped in %s: %s", fn, firstLine(err.Error()))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return cutUTF8(line, 256)
}

// guestOutput sends a guest's stdout and stderr to the adapter's log at debug level, a line a
// record, at most maxOutputLines lines a call, and keeps the start and the end of the call's
// stderr for the error of a call that crashes (a Go guest prints its panic or fatal error
// first, then its goroutines).
type guestOutput struct {
	logger  *slog.Logger
	lines   int
	dropped int
	head    []byte
	tail    []byte
	partial map[string][]byte
}

const (
	maxOutputLines = 256
	maxStderrHead  = 1 << 10
	maxStderrTail  = 512
)

func newGuestOutput(logger *slog.Logger) *guestOutput {
	return &guestOutput{logger: logger, partial: map[string][]byte{}}
}

func (o *guestOutput) startCall() {
	o.lines, o.dropped, o.head, o.tail = 0, 0, o.head[:0], o.tail[:0]
}

// stderrExcerpt returns the start and the end of the call's stderr.
func (o *guestOutput) stderrExcerpt() string {
	s := string(o.head)
	if len(o.tail) > 0 {
		s += " … " + string(o.tail)
	}
	return strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
}

type streamWriter struct {
	o    *guestOutput
	name string
}

func (o *guestOutput) stream(name string) *streamWriter { return &streamWriter{o: o, name: name} }

func (w *streamWriter) Write(p []byte) (int, error) {
	o := w.o
	if w.name == "stderr" {
		rest := p
		if n := min(maxStderrHead-len(o.head), len(rest)); n > 0 {
			o.head = append(o.head, rest[:n]...)
			rest = rest[n:]
		}
		o.tail = append(o.tail, rest...)
		if len(o.tail) > maxStderrTail {
			o.tail = append(o.tail[:0], o.tail[len(o.tail)-maxStderrTail:]...)
		}
	}
	buf := append(o.partial[w.name], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		o.line(w.name, buf[:i])
		buf = buf[i+1:]
	}
	if len(buf) > maxOutputLine {
		o.line(w.name, buf)
		buf = nil
	}
	o.partial[w.name] = append([]byte(nil), buf...)
	return len(p), nil
}

func (o *guestOutput) line(stream string, b []byte) {
	if o.lines >= maxOutputLines {
		o.dropped++
		return
	}
	o.lines++
	o.logger.Debug("guest output", "stream", stream, "line", strings.ToValidUTF8(string(truncate(b, maxOutputLine)), "\uFFFD"))
}

func (o *guestOutput) flush() {
	for name, b := range o.partial {
		if len(b) > 0 {
			o.line(name, b)
			o.partial[name] = nil
		}
	}
	if o.dropped > 0 {
		o.logger.Debug("guest output lines dropped", "dropped", o.dropped, "limit", maxOutputLines)
	}
}
