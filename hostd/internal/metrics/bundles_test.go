package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBundleAndDecisionLogSeries: the series lint clean, the revision info keeps one series
// (the bundle serving), and the decision log counts read through.
func TestBundleAndDecisionLogSeries(t *testing.T) {
	m := New()
	b := m.Bundles()
	var dropped uint64 = 3
	m.DecisionLogs(func() uint64 { return 10 }, func() uint64 { return dropped }, func() uint64 { return 1 })
	b.Activated("r1", time.Unix(100, 0))
	b.Refused(time.Unix(200, 0))
	b.Activated("r2", time.Unix(300, 0))
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	want := `
# HELP realmgate_bundle_loads_total Policy bundles read and activated (success) or refused, the old policy serving on (error); an unchanged bundle is not counted.
# TYPE realmgate_bundle_loads_total counter
realmgate_bundle_loads_total{result="error"} 1
realmgate_bundle_loads_total{result="success"} 2
# HELP realmgate_bundle_revision_info The revision of the policy bundle serving (value 1).
# TYPE realmgate_bundle_revision_info gauge
realmgate_bundle_revision_info{revision="r2"} 1
# HELP realmgate_bundle_last_success_timestamp_seconds Unix time of the last policy bundle activated.
# TYPE realmgate_bundle_last_success_timestamp_seconds gauge
realmgate_bundle_last_success_timestamp_seconds 300
# HELP realmgate_decision_logs_dropped_total Decision log events dropped: the buffer was full (the oldest go), or a batch failed all its retries.
# TYPE realmgate_decision_logs_dropped_total counter
realmgate_decision_logs_dropped_total 3
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"realmgate_bundle_loads_total", "realmgate_bundle_revision_info",
		"realmgate_bundle_last_success_timestamp_seconds", "realmgate_decision_logs_dropped_total"); err != nil {
		t.Error(err)
	}
}
