package daemon

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/metrics"
	"github.com/realmgate/realmgate/policies"
)

// BenchmarkDecisionRecord is what a decision costs the request that made it: the log line
// alone (the peer), and the log line with an OPA-shaped event queued for a file (masking and
// writing happen on the writer's goroutine).
func BenchmarkDecisionRecord(b *testing.B) {
	rec := engine.DecisionRecord{
		Time: time.Now(), DecisionID: "0f3a2c1e-0000-4000-8000-000000000000", Session: "s", App: "BankApp", Env: "android",
		Version: "2.1.0", Resource: "Accounts.payBill", Kind: "procedure", Test: "bankTests",
		Passed: []string{"BankLogin", "wl_antiXSRFRealm"}, Outcome: "allow", Revision: "2cd66f9ef2198759",
		Input: &policies.Input{Test: "bankTests", Passed: []string{"BankLogin", "wl_antiXSRFRealm"},
			App:      policies.App{ID: "BankApp", Env: "android", Version: "2.1.0"},
			Resource: policies.Resource{Kind: "procedure", Name: "Accounts.payBill", Attributes: map[string]any{"adapter": "Accounts", "procedure": "payBill"}},
			Request:  map[string]any{"method": "POST", "path": "/api/v1/adapters/Accounts/payBill", "parameters": []any{map[string]any{"amount": 50, "payee": "power"}}}},
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	b.Run("log-line", func(b *testing.B) {
		l := newDecisionLog(log)
		b.ReportAllocs()
		for b.Loop() {
			l.Record(rec)
		}
	})
	b.Run("log-line+decision-log-file", func(b *testing.B) {
		l := newDecisionLog(log)
		st := DecisionLogSettings{File: filepath.Join(b.TempDir(), "d.jsonl"), BufferSize: 1 << 20, BatchSize: 1000}
		if err := l.openWriters(st, DefaultBundleName, metrics.New()); err != nil {
			b.Fatal(err)
		}
		defer l.closeWriters(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			l.Record(rec)
		}
		b.StopTimer()
	})
}
