package daemon

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realmgate/realmgate/engine"
)

// decisionLog is the daemon's engine.DecisionSink: one record in the decision log and one count
// in realmgate_decisions_total per security-test decision. The engines of every runtime share
// it, so the counts run on across reloads.
type decisionLog struct {
	log   *slog.Logger
	count *prometheus.CounterVec
}

var _ engine.DecisionSink = (*decisionLog)(nil)

// newDecisionLog registers the decision counter on reg and logs to log.
func newDecisionLog(log *slog.Logger, reg prometheus.Registerer) *decisionLog {
	count := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "realmgate_decisions_total", Help: "Security-test decisions by test and outcome.",
	}, []string{"security_test", "outcome"})
	reg.MustRegister(count)
	return &decisionLog{log: log, count: count}
}

// Record logs and counts one decision.
func (l *decisionLog) Record(d engine.DecisionRecord) {
	l.count.WithLabelValues(d.Test, d.Outcome).Inc()
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
}
