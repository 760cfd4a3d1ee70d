package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/jsonvalid"
)

// adapter runs the procedures of one module. Each adapter has its own wazero runtime (the
// memory limit is a runtime setting) and a pool of warm instances: a call takes an idle
// instance or instantiates one, up to Limits.Instances at once, and gives it back unless the
// call left it in doubt (trap, timeout, out of memory, broken result), in which case it is
// closed and the next call instantiates a fresh one.
type adapter struct {
	name       string
	limits     adapters.Limits
	logger     *slog.Logger
	configJSON []byte
	http       *httpClient
	pki        *pkiHost
	procedures []string
	// singleUse backs realmgate.once (once.go); nil when the host gives none.
	singleUse adapters.SingleUse
	// sql backs realmgate.sql (sqlhost.go); nil when the adapter has no data source.
	sql adapters.SQLSource

	rt       wazero.Runtime
	cache    wazero.CompilationCache
	compiled wazero.CompiledModule

	sem  chan struct{} // a slot per instance that may exist; send to take, receive to give back
	done chan struct{} // closed by Close

	mu     sync.Mutex
	idle   []*instance
	closed bool
}

var (
	_ adapters.Adapter     = (*adapter)(nil)
	_ adapters.Initializer = (*adapter)(nil)
	_ adapters.Concurrency = (*adapter)(nil)
)

// Concurrency is the number of calls the adapter runs at once: its instances
// (adapters.Concurrency).
func (a *adapter) Concurrency() int { return a.limits.Instances }

// Procedures lists the module's procedures, sorted.
func (a *adapter) Procedures() []string { return slices.Clone(a.procedures) }

func (a *adapter) errorf(code adapters.Code, procedure string, cause error, format string, args ...any) *adapters.Error {
	return &adapters.Error{Code: code, Adapter: a.name, Procedure: procedure, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Call runs procedure with input on a pooled instance, within Limits.CallTimeout and ctx.
func (a *adapter) Call(ctx context.Context, procedure string, input json.RawMessage) (json.RawMessage, error) {
	return a.call(ctx, nil, procedure, input)
}

// CallInit runs procedure like Call, on a pooled instance that ran init (running init on it
// first, within a call timeout of its own, unless it already ran this init and no other since).
func (a *adapter) CallInit(ctx context.Context, init adapters.Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	return a.call(ctx, &init, procedure, input)
}

func (a *adapter) call(ctx context.Context, init *adapters.Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	if a.isClosed() {
		return nil, a.errorf(adapters.CodeUnavailable, procedure, nil, "the adapter is closed")
	}
	if err := a.checkCall(procedure, input); err != nil {
		return nil, err
	}
	var digest [sha256.Size]byte
	if init != nil {
		if err := a.checkCall(init.Procedure, init.Input); err != nil {
			return nil, err
		}
		digest = init.Digest()
	}

	deadline := a.deadline(ctx)
	if err := a.acquire(ctx, deadline, procedure); err != nil {
		return nil, err
	}
	defer func() { <-a.sem }()

	inst := a.takeIdle()
	if inst == nil {
		var err *adapters.Error
		if inst, err = a.newInstance(ctx, deadline, procedure); err != nil {
			return nil, err
		}
	}
	if init != nil && !inst.initialised(digest) {
		// Until init succeeds the instance holds no init: a failed or partial one is redone.
		inst.initProc, inst.initDone = init.Procedure, false
		if _, err := inst.call(ctx, deadline, init.Procedure, init.Input); err != nil {
			return nil, a.putBack(inst, init.Procedure, err)
		}
		inst.initDigest, inst.initDone = digest, true
		deadline = a.deadline(ctx) // the procedure gets a call timeout of its own
	}
	if procedure == inst.initProc {
		// Whoever calls init directly may configure the instance otherwise: the next CallInit
		// runs its init again.
		inst.initDone = false
	}
	out, err := inst.call(ctx, deadline, procedure, input)
	if err != nil {
		return nil, a.putBack(inst, procedure, err)
	}
	a.putIdle(inst)
	return out, nil
}

// checkCall checks a call before it takes an instance: the procedure exists, the input is
// within the limit and is JSON.
func (a *adapter) checkCall(procedure string, input json.RawMessage) *adapters.Error {
	if _, ok := slices.BinarySearch(a.procedures, procedure); !ok {
		return a.errorf(adapters.CodeUnknownProcedure, procedure, nil, "the adapter has no procedure %q", procedure)
	}
	if len(input) > a.limits.MaxInput {
		return a.errorf(adapters.CodeBadInput, procedure, nil, "the input of %d bytes exceeds the limit of %d bytes", len(input), a.limits.MaxInput)
	}
	if !jsonvalid.Valid(input) {
		return a.errorf(adapters.CodeBadInput, procedure, nil, "the input is not valid JSON")
	}
	return nil
}

// deadline is the deadline of a call starting now: Limits.CallTimeout, or ctx's if earlier.
func (a *adapter) deadline(ctx context.Context) time.Time {
	deadline := time.Now().Add(a.limits.CallTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return deadline
}

// putBack ends a failed call of procedure on inst: the instance goes back to the pool unless
// the call left it in doubt. It returns the call's error.
func (a *adapter) putBack(inst *instance, procedure string, err *adapters.Error) *adapters.Error {
	if a.isClosed() {
		err = a.errorf(adapters.CodeUnavailable, procedure, err, "the adapter was closed during the call")
	}
	if inst.broken {
		inst.close()
		a.logger.Warn("wasm instance discarded", "procedure", procedure, "code", err.Code, "err", err)
	} else {
		a.putIdle(inst)
	}
	return err
}

// acquire takes an instance slot, waiting until deadline, the end of ctx or Close.
func (a *adapter) acquire(ctx context.Context, deadline time.Time, procedure string) *adapters.Error {
	select {
	case a.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-a.done:
		return a.errorf(adapters.CodeUnavailable, procedure, nil, "the adapter is closed")
	case <-ctx.Done():
		return a.ctxError(ctx.Err(), procedure, "while waiting for a free instance")
	case <-t.C:
		return a.ctxError(context.DeadlineExceeded, procedure, "while waiting for a free instance")
	}
}

// ctxError is the error of a call whose context ended (err) before or while the guest ran.
func (a *adapter) ctxError(err error, procedure, when string) *adapters.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return a.errorf(adapters.CodeTimeout, procedure, err, "the call ran past its deadline %s", when)
	}
	return a.errorf(adapters.CodeTimeout, procedure, err, "the call was canceled %s", when)
}

func (a *adapter) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

func (a *adapter) takeIdle() *instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := len(a.idle); n > 0 {
		inst := a.idle[n-1]
		a.idle = a.idle[:n-1]
		return inst
	}
	return nil
}

func (a *adapter) putIdle(inst *instance) {
	a.mu.Lock()
	if !a.closed {
		a.idle = append(a.idle, inst)
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	inst.close()
}

// Close stops taking calls, waits for the calls in flight until ctx is done, then closes the
// instances, the runtime and the compilation cache. Calls after Close fail with
// ErrUnavailable; a call still running when ctx ends is stopped and fails the same way.
func (a *adapter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	close(a.done)
	idle := a.idle
	a.idle = nil
	a.mu.Unlock()
	for _, inst := range idle {
		inst.close()
	}
	// Every slot taken back means every call in flight has finished.
wait:
	for range cap(a.sem) {
		select {
		case a.sem <- struct{}{}:
		case <-ctx.Done():
			break wait
		}
	}
	return a.release(context.Background())
}

// release closes the runtime (and with it every instance left) and the cache.
func (a *adapter) release(ctx context.Context) error {
	var errs []error
	if a.rt != nil {
		errs = append(errs, a.rt.Close(ctx))
	}
	if a.cache != nil {
		errs = append(errs, a.cache.Close(ctx))
	}
	a.http.close()
	return errors.Join(errs...)
}
