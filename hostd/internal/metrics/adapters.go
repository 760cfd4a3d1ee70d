package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realmgate/realmgate/adapters"
)

// Outcomes of an adapter call (the outcome label of realmgate_adapter_calls_total).
const (
	CallOK          = "ok"          // the procedure answered
	CallError       = "error"       // the procedure reported a failure, or it was called wrongly
	CallTimeout     = "timeout"     // the call ran past its wall-time limit or was canceled
	CallTrap        = "trap"        // the guest broke its sandbox: memory limit, ABI, malformed output
	CallUnavailable = "unavailable" // the backend could not take the call (a crashed plugin, closed)
	CallBusy        = "busy"        // refused at once: the adapter's calls and queue were full
)

// callOutcome classifies the error of a call by its adapters.Code. A wasm guest that traps in
// its own code fails with adapters.CodeFailed, so it counts as CallError: the code does not tell
// it from a failure the guest reported.
func callOutcome(err error) string {
	if err == nil {
		return CallOK
	}
	var ae *adapters.Error
	if !errors.As(err, &ae) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return CallTimeout
		}
		return CallError
	}
	switch ae.Code {
	case adapters.CodeTimeout:
		return CallTimeout
	case adapters.CodeOutOfMemory, adapters.CodeBadOutput:
		return CallTrap
	case adapters.CodeUnavailable:
		return CallUnavailable
	case adapters.CodeBusy:
		return CallBusy
	}
	return CallError
}

// procedureLabels are the collectors of one procedure, resolved once.
type procedureLabels struct {
	latency  prometheus.Observer
	outcomes map[string]prometheus.Counter
}

// Adapter is an adapters.Adapter that counts and times its calls.
type Adapter struct {
	next  adapters.Adapter
	busy  prometheus.Gauge
	procs map[string]*procedureLabels
	// other is the label set of a procedure the adapter does not declare (its calls fail with
	// unknown_procedure): one set, whatever the name asked.
	other *procedureLabels
}

var (
	_ adapters.Adapter     = (*Adapter)(nil)
	_ adapters.Initializer = (*Adapter)(nil)
)

// Adapter wraps the adapter named name, of backend kind backend ("wasm", "plugin"), with the
// realmgate_adapter_* collectors. Procedures it does not list share the label "unknown".
func (m *Metrics) Adapter(name, backend string, a adapters.Adapter) *Adapter {
	labels := func(proc string) *procedureLabels {
		pl := &procedureLabels{
			latency:  m.adapterLatency.WithLabelValues(name, proc, backend),
			outcomes: map[string]prometheus.Counter{},
		}
		for _, o := range []string{CallOK, CallError, CallTimeout, CallTrap, CallUnavailable, CallBusy} {
			pl.outcomes[o] = m.adapterCalls.WithLabelValues(name, proc, backend, o)
		}
		return pl
	}
	w := &Adapter{next: a, busy: m.adapterBusy.WithLabelValues(name, backend), procs: map[string]*procedureLabels{}}
	for _, p := range a.Procedures() {
		w.procs[p] = labels(p)
	}
	w.other = labels("unknown")
	return w
}

func (a *Adapter) labels(procedure string) *procedureLabels {
	if pl, ok := a.procs[procedure]; ok {
		return pl
	}
	return a.other
}

// observe runs call as one call of procedure.
func (a *Adapter) observe(procedure string, call func() (json.RawMessage, error)) (json.RawMessage, error) {
	pl := a.labels(procedure)
	a.busy.Inc()
	start := time.Now()
	out, err := call()
	pl.latency.Observe(time.Since(start).Seconds())
	a.busy.Dec()
	pl.outcomes[callOutcome(err)].Inc()
	return out, err
}

// Call implements adapters.Adapter.
func (a *Adapter) Call(ctx context.Context, procedure string, input json.RawMessage) (json.RawMessage, error) {
	pl := a.labels(procedure)
	a.busy.Inc()
	start := time.Now()
	out, err := a.next.Call(ctx, procedure, input)
	pl.latency.Observe(time.Since(start).Seconds())
	a.busy.Dec()
	pl.outcomes[callOutcome(err)].Inc()
	return out, err
}

// CallInit implements adapters.Initializer: the wrapped adapter's own, when it has one, so that
// wrapping keeps init once per instance. The call counts as one call of procedure.
func (a *Adapter) CallInit(ctx context.Context, init adapters.Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	return a.observe(procedure, func() (json.RawMessage, error) {
		return adapters.CallInit(ctx, a.next, init, procedure, input)
	})
}

// Procedures implements adapters.Adapter.
func (a *Adapter) Procedures() []string { return a.next.Procedures() }

// Close implements adapters.Adapter.
func (a *Adapter) Close(ctx context.Context) error { return a.next.Close(ctx) }

// Capacity is the wrapped adapter's calls at once and queue (adapters.Limited), (0, 0) when it
// does not say: invokeProcedure reads it through the wrapper.
func (a *Adapter) Capacity() (concurrent, queue int) {
	if c, ok := a.next.(interface{ Capacity() (int, int) }); ok {
		return c.Capacity()
	}
	return 0, 0
}
