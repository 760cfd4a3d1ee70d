package daemon

import (
	"context"
	"log/slog"

	"github.com/realmgate/realmgate/engine"
)

// decisionLog is the daemon's engine.DecisionSink: one record in the decision log per
// security-test decision. (realmgate_decisions_total counts them, with the decisions the engine
// could not make, through the engine's Observer: package metrics.)
type decisionLog struct {
	log *slog.Logger
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
}
