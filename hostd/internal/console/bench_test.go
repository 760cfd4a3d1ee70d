package console

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/realmgate/realmgate/engine"
)

var benchDecision = engine.DecisionRecord{
	Time: time.Now(), DecisionID: "d-1", Session: "0123456789abcdef", App: "Wallet", Env: "android", Version: "2.0.0",
	Resource: "Accounts.getBalance", Kind: "procedure", Test: "walletTest",
	Passed: []string{"wl_antiXSRFRealm", "wl_deviceNoProvisioningRealm"}, Outcome: "challenge", Step: 2,
	Realms: []string{"CertRealm"}, Revision: "14b33bf89dc4f994",
}

// BenchmarkFeedRecord is what the console's decision stream adds to each decision, with viewers
// that read and with none; its peer, measured in the same run, is what every decision already
// costs in the decision log (one JSON log record, as daemon.decisionLog writes it).
func BenchmarkFeedRecord(b *testing.B) {
	b.Run("peer=decision-log", func(b *testing.B) {
		log := slog.New(slog.NewJSONHandler(io.Discard, nil))
		d := benchDecision
		b.ReportAllocs()
		for b.Loop() {
			log.LogAttrs(context.Background(), slog.LevelInfo, "decision",
				slog.String("decision_id", d.DecisionID), slog.String("session", d.Session),
				slog.String("app", d.App), slog.String("env", d.Env), slog.String("version", d.Version),
				slog.String("resource_kind", d.Kind), slog.String("resource", d.Resource),
				slog.String("security_test", d.Test), slog.Any("realms_passed", d.Passed),
				slog.String("outcome", d.Outcome), slog.Int("step", d.Step),
				slog.Any("realms_challenged", d.Realms), slog.Any("reasons", d.Reasons),
				slog.String("revision", d.Revision))
		}
	})
	for _, viewers := range []int{0, 1, 16} {
		b.Run("viewers="+strconv.Itoa(viewers), func(b *testing.B) {
			f := NewFeed(256, 16)
			for range viewers {
				v, cancel, err := f.subscribe()
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan struct{})
				go func() {
					for {
						select {
						case <-v.ch:
						case <-done:
							return
						}
					}
				}()
				b.Cleanup(func() { close(done); cancel() })
			}
			b.ReportAllocs()
			for b.Loop() {
				f.Record(benchDecision)
			}
		})
	}
}
