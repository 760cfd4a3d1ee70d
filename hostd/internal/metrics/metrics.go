// Package metrics holds what an operator of hostd watches: the Prometheus collectors of the
// engine's events (it is the daemon's engine.Observer), of adapter calls (an adapters.Adapter
// decorator), of the store (a store.Store decorator and its connection pools) and of reloads, on
// one registry that /metrics serves. The engine knows nothing of Prometheus; this package is
// where it meets it.
//
// The names follow Prometheus conventions: a realmgate_ prefix, _total for counters, _seconds
// for durations. Every label value is bounded by the project (a security test, a realm, an
// adapter and its procedures) or by a list of stable codes: never a user, a session, a device
// or a token, so that traffic does not grow the number of series. docs/metrics.md lists them.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/realmgate/realmgate/engine"
)

// Metrics holds the collectors and their registry. Build one per daemon with New; it outlives
// reloads, so counts run on across them.
type Metrics struct {
	reg *prometheus.Registry

	decisions       *prometheus.CounterVec
	challenges      *prometheus.CounterVec
	answersFailed   *prometheus.CounterVec
	certsIssued     *prometheus.CounterVec
	certsRefused    *prometheus.CounterVec
	tokensMinted    *prometheus.CounterVec
	tokensValidated *prometheus.CounterVec

	adapterCalls   *prometheus.CounterVec
	adapterLatency *prometheus.HistogramVec
	adapterBusy    *prometheus.GaugeVec

	storeLatency *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	// storeContention counts the units of work a store gave up on after conflicts on every run
	// (store.ContentionError).
	storeContention prometheus.Counter
	// storeRetries counts the runs of units of work beyond their first (a store that retries
	// conflicts runs fn again).
	storeRetries prometheus.Counter
	pools        *poolCollector

	lastReload prometheus.Gauge
}

var _ engine.Observer = (*Metrics)(nil)

// latencyBuckets suit calls that take from tens of microseconds (a store read, a warm wasm
// call) to seconds (a slow adapter at its timeout).
var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New makes the collectors on a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_decisions_total",
			Help: "Security-test decisions by test and outcome (allow, challenge, deny, error).",
		}, []string{"security_test", "outcome"}),
		challenges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_challenges_total",
			Help: "Realm challenges issued by decisions, by realm.",
		}, []string{"realm"}),
		answersFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_answers_failed_total",
			Help: "Challenge answers that did not pass their realm, by realm and code (wrong_answer: may be tried again).",
		}, []string{"realm", "code"}),
		certsIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_certificates_issued_total",
			Help: "Certificates issued and recorded, by realm and bridge (builtin CA, embedded PKI or adapter).",
		}, []string{"realm", "bridge"}),
		certsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_certificates_refused_total",
			Help: "Certificate requests refused (CSR or identity rejected), by realm and bridge.",
		}, []string{"realm", "bridge"}),
		tokensMinted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_tokens_minted_total",
			Help: "Access tokens minted, by scope (security test).",
		}, []string{"scope"}),
		tokensValidated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_tokens_validated_total",
			Help: "Online token validations (introspection), by outcome (active, inactive, error).",
		}, []string{"outcome"}),
		adapterCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_adapter_calls_total",
			Help: "Adapter procedure calls by adapter, procedure, backend and outcome (ok, error, timeout, trap, unavailable).",
		}, []string{"adapter", "procedure", "backend", "outcome"}),
		adapterLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "realmgate_adapter_call_duration_seconds",
			Help:    "Adapter procedure call latency, waiting for an instance included, by adapter, procedure and backend.",
			Buckets: latencyBuckets,
		}, []string{"adapter", "procedure", "backend"}),
		adapterBusy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "realmgate_adapter_busy_instances",
			Help: "Adapter calls in progress (instances busy or awaited), by adapter and backend.",
		}, []string{"adapter", "backend"}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "realmgate_store_operation_duration_seconds",
			Help:    "Store operation latency by operation.",
			Buckets: latencyBuckets,
		}, []string{"operation"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realmgate_store_operation_errors_total",
			Help: "Store operations that failed (not found and conflicts excluded), by operation.",
		}, []string{"operation"}),
		storeContention: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "realmgate_store_unit_contention_total",
			Help: "Units of work the store gave up on after each of its runs conflicted with concurrent units (serialization failures, deadlocks).",
		}),
		storeRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "realmgate_store_unit_retries_total",
			Help: "Runs of units of work beyond their first: the store ran the unit again after a conflict with concurrent units.",
		}),
		pools: &poolCollector{},
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "realmgate_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration load (start or reload).",
		}),
	}
	m.reg.MustRegister(m.decisions, m.challenges, m.answersFailed, m.certsIssued, m.certsRefused,
		m.tokensMinted, m.tokensValidated, m.adapterCalls, m.adapterLatency, m.adapterBusy,
		m.storeLatency, m.storeErrors, m.pools, m.lastReload)
	m.reg.MustRegister(m.storeContention, m.storeRetries)
	return m
}

// Registry is the registry /metrics serves; the HTTP server adds its own collectors to it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Loaded records a successful load of the configuration (at start or by a reload) at t.
func (m *Metrics) Loaded(t time.Time) {
	m.lastReload.Set(float64(t.UnixNano()) / 1e9)
}

// Decision implements engine.Observer.
func (m *Metrics) Decision(test, outcome string) {
	m.decisions.WithLabelValues(test, outcome).Inc()
}

// Challenge implements engine.Observer.
func (m *Metrics) Challenge(realm string) { m.challenges.WithLabelValues(realm).Inc() }

// AnswerFailed implements engine.Observer.
func (m *Metrics) AnswerFailed(realm string, code engine.Code) {
	m.answersFailed.WithLabelValues(realm, string(code)).Inc()
}

// CertificateIssued implements engine.Observer.
func (m *Metrics) CertificateIssued(realm, bridge string) {
	m.certsIssued.WithLabelValues(realm, bridge).Inc()
}

// CertificateRefused implements engine.Observer.
func (m *Metrics) CertificateRefused(realm, bridge string) {
	m.certsRefused.WithLabelValues(realm, bridge).Inc()
}

// TokenMinted implements engine.Observer.
func (m *Metrics) TokenMinted(scope string) { m.tokensMinted.WithLabelValues(scope).Inc() }

// TokenValidated implements engine.Observer.
func (m *Metrics) TokenValidated(outcome string) { m.tokensValidated.WithLabelValues(outcome).Inc() }
