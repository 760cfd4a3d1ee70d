package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Bundles counts the loads of the policy bundle (docs/bundles.md). Make it once per daemon
// with Metrics.Bundles.
type Bundles struct {
	loads       *prometheus.CounterVec
	revision    *prometheus.GaugeVec
	lastSuccess prometheus.Gauge
	lastFailure prometheus.Gauge

	mu  sync.Mutex
	rev string
}

// Bundle results.
const (
	BundleSuccess = "success"
	BundleError   = "error"
)

// Bundles registers the bundle collectors.
func (m *Metrics) Bundles() *Bundles {
	b := &Bundles{
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_bundle_loads_total",
			Help: "Policy bundles read and activated (success) or refused, the old policy serving on (error); an unchanged bundle is not counted.",
		}, []string{"result"}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "realmgate_bundle_revision_info",
			Help: "The revision of the policy bundle serving (value 1).",
		}, []string{"revision"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "realmgate_bundle_last_success_timestamp_seconds",
			Help: "Unix time of the last policy bundle activated.",
		}),
		lastFailure: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "realmgate_bundle_last_failure_timestamp_seconds",
			Help: "Unix time of the last policy bundle refused (0: none since the start).",
		}),
	}
	b.loads.WithLabelValues(BundleSuccess)
	b.loads.WithLabelValues(BundleError)
	m.reg.MustRegister(b.loads, b.revision, b.lastSuccess, b.lastFailure)
	return b
}

// Activated records a bundle activated at t.
func (b *Bundles) Activated(revision string, t time.Time) {
	b.loads.WithLabelValues(BundleSuccess).Inc()
	b.lastSuccess.Set(float64(t.UnixNano()) / 1e9)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rev != revision {
		if b.rev != "" {
			b.revision.DeleteLabelValues(b.rev)
		}
		b.rev = revision
		b.revision.WithLabelValues(revision).Set(1)
	}
}

// Refused records a bundle refused at t.
func (b *Bundles) Refused(t time.Time) {
	b.loads.WithLabelValues(BundleError).Inc()
	b.lastFailure.Set(float64(t.UnixNano()) / 1e9)
}

// DecisionLogs publishes the counts of the decision log writers: events delivered, dropped
// (buffer full, given up after retries) and failed writes, each summed over the writers.
func (m *Metrics) DecisionLogs(written, dropped, failed func() uint64) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "realmgate_decision_logs_written_total",
			Help: "Decision log events delivered to their sinks.",
		}, func() float64 { return float64(written()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "realmgate_decision_logs_dropped_total",
			Help: "Decision log events dropped: the buffer was full (the oldest go), or a batch failed all its retries.",
		}, func() float64 { return float64(dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "realmgate_decision_log_write_failures_total",
			Help: "Decision log writes that failed (each is retried with backoff).",
		}, func() float64 { return float64(failed()) }),
	)
}
