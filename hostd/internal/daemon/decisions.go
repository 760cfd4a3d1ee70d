package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/decisionlog"
	"github.com/realmgate/realmgate/hostd/internal/metrics"
	"github.com/realmgate/realmgate/policies"
)

// decisionLog is the daemon's engine.DecisionSink: one record in the decision log per
// security-test decision, the human view in hostd's log, and, when decisionLogs is configured,
// one event in OPA's shape to each of its sinks (package decisionlog). (realmgate_decisions_total
// counts them, with the decisions the engine could not make, through the engine's Observer:
// package metrics.)
type decisionLog struct {
	log *slog.Logger

	// writers are the OPA-shaped decision logs (none when not configured); labels are their
	// events' labels, bundle the name of the policy bundle.
	writers []*decisionlog.Logger
	labels  map[string]string
	bundle  string

	// revs maps a policy revision to the revision of the bundle compiled into it, so that a
	// decision names the bundle of the runtime that made it, not of the one swapped in since.
	mu   sync.Mutex
	revs map[string]string
}

var _ engine.DecisionSink = (*decisionLog)(nil)

// newDecisionLog logs to log.
func newDecisionLog(log *slog.Logger) *decisionLog {
	return &decisionLog{log: log}
}

// Record logs one decision.
func (l *decisionLog) Record(d engine.DecisionRecord) {
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "decision",
		slog.String("decision_id", d.DecisionID),
		slog.String("session", d.Session),
		slog.String("app", d.App), slog.String("env", d.Env), slog.String("version", d.Version),
		slog.String("resource_kind", d.Kind), slog.String("resource", d.Resource),
		slog.String("security_test", d.Test),
		slog.Any("realms_passed", d.Passed),
		slog.String("outcome", d.Outcome),
		slog.Int("step", d.Step),
		slog.Any("realms_challenged", d.Realms),
		slog.Any("reasons", d.Reasons),
		slog.String("revision", d.Revision),
	)
	if len(l.writers) == 0 {
		return
	}
	e, err := l.event(d)
	if err != nil {
		l.log.Warn("decision not written to the decision logs", "decision_id", d.DecisionID, "err", err)
		return
	}
	for _, w := range l.writers {
		w.Log(e)
	}
}

// decisionPath is the decision's path in OPA's terms: the query the evaluator prepares
// (policies.Query) without its data. prefix.
const decisionPath = "realmgate/decision"

// event makes the OPA-shaped event of a decision. The input is encoded here, on the request's
// goroutine, so that nothing the request holds is read after it; masking and writing happen on
// the writers' goroutines.
func (l *decisionLog) event(d engine.DecisionRecord) (decisionlog.Event, error) {
	e := decisionlog.Event{
		Labels:     l.labels,
		DecisionID: d.DecisionID,
		Path:       decisionPath,
		Timestamp:  d.Time,
		Bundles:    map[string]decisionlog.BundleInfo{"realmgate": {Revision: d.Revision}},
	}
	if rev := l.bundleOf(d.Revision); rev != "" {
		e.Bundles[l.bundle] = decisionlog.BundleInfo{Revision: rev}
	}
	if d.Input != nil {
		in, err := json.Marshal(d.Input)
		if err != nil {
			return e, err
		}
		e.Input = in
	}
	res, err := json.Marshal(policies.Decision{Outcome: d.Outcome, Step: d.Step, Realms: d.Realms, Reasons: d.Reasons})
	if err != nil {
		return e, err
	}
	e.Result = res
	return e, nil
}

// bundleRevision records that policy revision rev compiled bundle revision bundleRev in.
func (l *decisionLog) bundleRevision(rev, bundleRev string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.revs == nil || len(l.revs) > 64 {
		l.revs = map[string]string{} // older runtimes have long finished their requests
	}
	l.revs[rev] = bundleRev
}

func (l *decisionLog) bundleOf(rev string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.revs[rev]
}

// openWriters starts the OPA-shaped decision logs of the settings.
func (l *decisionLog) openWriters(st DecisionLogSettings, bundleName string, m *metrics.Metrics) error {
	if !st.Configured() {
		return nil
	}
	masks, err := st.masks()
	if err != nil {
		return fmt.Errorf("decisionLogs.maskPaths: %w", err)
	}
	var id [8]byte
	rand.Read(id[:])
	l.labels = map[string]string{"id": hex.EncodeToString(id[:]), "type": "realmgate-hostd"}
	l.bundle = bundleName
	opts := decisionlog.Options{
		BatchSize: st.BatchSize, BufferSize: st.BufferSize, FlushInterval: time.Duration(st.FlushInterval),
		Masks: masks,
	}
	warn := func(sink string) func(error) {
		var mu sync.Mutex
		var last time.Time
		return func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(last) > time.Minute { // one line a minute, however many batches fail
				last = time.Now()
				l.log.Warn("decision log write failed", "sink", sink, "err", err)
			}
		}
	}
	if st.File != "" {
		f, err := decisionlog.OpenFile(st.File)
		if err != nil {
			return fmt.Errorf("decisionLogs.file: %w", err)
		}
		o := opts
		o.OnError = warn("file")
		l.writers = append(l.writers, decisionlog.New(f, o))
	}
	if st.URL != "" {
		o := opts
		o.OnError = warn("url")
		l.writers = append(l.writers, decisionlog.New(&decisionlog.HTTP{URL: st.URL, Client: newDecisionLogClient()}, o))
	}
	sum := func(f func(*decisionlog.Logger) uint64) func() uint64 {
		return func() uint64 {
			var n uint64
			for _, w := range l.writers {
				n += f(w)
			}
			return n
		}
	}
	m.DecisionLogs(sum((*decisionlog.Logger).Written), sum((*decisionlog.Logger).Dropped), sum((*decisionlog.Logger).Failed))
	return nil
}

// closeWriters writes what the decision logs hold, until ctx is done.
func (l *decisionLog) closeWriters(ctx context.Context) error {
	var errs []error
	for _, w := range l.writers {
		errs = append(errs, w.Close(ctx))
	}
	return errors.Join(errs...)
}

// newDecisionLogClient is the HTTP client of the decision log collector: a bounded wait per
// upload (the logger retries).
func newDecisionLogClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }
