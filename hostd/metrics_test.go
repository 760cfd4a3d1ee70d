package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/hostd/internal/metrics"
	"github.com/realmgate/realmgate/store/sqlite"
)

// scrape is one GET /metrics, parsed: every sample by its series ("name{label="value",...}",
// labels sorted), and the metric families by name.
type scrape struct {
	samples  map[string]float64
	families map[string]*dto.MetricFamily
}

func scrapeMetrics(t *testing.T, d *daemon.Daemon) scrape {
	t.Helper()
	resp, err := http.Get(baseURL(d) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	s := scrape{samples: map[string]float64{}, families: fams}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			key := seriesKey(name, m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				s.samples[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.samples[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				s.samples[seriesKey(name+"_count", m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
			default:
				s.samples[key] = 0
			}
		}
	}
	return s
}

func seriesKey(name string, labels []*dto.LabelPair) string {
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// realmgateSeries lists the series of Realmgate's own metrics (not the Go runtime's), sorted.
func (s scrape) realmgateSeries() []string {
	var out []string
	for k := range s.samples {
		if strings.HasPrefix(k, "realmgate_") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// metricsLab walks clients of the PKI test project through what an operator watches.
type metricsLab struct {
	*pkiLab
	d *daemon.Daemon
}

// walk is one user on one device: the app's authenticity, device provisioning by the built-in
// CA, a form login (with a wrong answer first when wrongFirst), the protected init, an access
// token minted and validated, and a user certificate from the wasm PKI bridge.
func (l *metricsLab) walk(t *testing.T, user, deviceID string, wrongFirst bool) {
	t.Helper()
	s := newSession(t, l.d, "Wallet", "android")
	st, body := s.init()
	auth := challengeOf(t, st, body, "wl_authenticityRealm")
	if st, body := l.attest(t, s, auth["token"].(string), "com.example.wallet", l.digest); st != 200 {
		t.Fatalf("authenticity: %d %v", st, body)
	}
	st, body = s.init()
	prov := challengeOf(t, st, body, "wl_deviceAutoProvisioningRealm")
	provision(t, s, newDevice(t, deviceID), prov["token"].(string))
	st, body = s.init()
	challengeOf(t, st, body, "Login")
	if wrongFirst {
		if st, body := s.answer("Login", map[string]any{"username": "", "password": "x"}); st != 401 {
			t.Fatalf("login without a user name: %d %v, want the challenge again", st, body)
		}
	}
	if st, body := s.answer("Login", map[string]any{"username": user, "password": "x"}); st != 200 {
		t.Fatalf("login: %d %v", st, body)
	}
	if st, body := s.init(); st != 200 {
		t.Fatalf("init: %d %v", st, body)
	}
	st, body = s.req("POST", "/oauth/token", `{"scope":"walletTests"}`)
	tok, _ := body["access_token"].(string)
	if st != 200 || tok == "" {
		t.Fatalf("token: %d %v", st, body)
	}
	if st, body := postForm(t, l.d, "/oauth/validation", url.Values{"token": {tok}}); st != 200 || body["active"] != true {
		t.Fatalf("validation: %d %v", st, body)
	}
	if st, body := postForm(t, l.d, "/oauth/validation", url.Values{"token": {tok + "x"}}); st != 200 || body["active"] != false {
		t.Fatalf("validation of a tampered token: %d %v", st, body)
	}
	c := newSession(t, l.d, "Plain", "iphone")
	st, body = c.init()
	challengeOf(t, st, body, "BridgeCertRealm")
	enroll(t, c, "BridgeCertRealm", user, pkix.Name{CommonName: user, Organization: []string{"Example Bank"}})
}

// TestMetricsAfterTraffic drives a real daemon through challenges, a failed and a good login,
// device provisioning, token grant and validation, and PKI-bridge adapter calls, then reads
// /metrics over HTTP: the series an operator watches carry the counts of what happened. A
// hundred more users on a hundred more devices add counts, not series. The Grafana dashboard
// queries only series that the daemon serves.
func TestMetricsAfterTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	l := &metricsLab{pkiLab: newPKILab(t)}
	// The cardinality walk signs a hundred users in from 127.0.0.1, which the per-client rate
	// limit of answers counts as one client.
	settings := filepath.Join(l.dir, "hostd.yaml")
	b, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, settings, string(b)+"limits:\n  answersPerClient: 0\n")
	l.d = l.start(t)

	l.walk(t, "wally", "phone-0", true)
	// A repackaged app is refused, and a CSR that misses the bridge's requirements too.
	s := newSession(t, l.d, "Wallet", "android")
	st, body := s.init()
	auth := challengeOf(t, st, body, "wl_authenticityRealm")
	other := sha256.Sum256([]byte("a repackaged app"))
	if st, body := l.attest(t, s, auth["token"].(string), "com.example.wallet", other[:]); st != 403 {
		t.Fatalf("repackaged app: %d %v, want 403", st, body)
	}
	c := newSession(t, l.d, "Plain", "iphone")
	c.init()
	c.answer("BridgeCertRealm", map[string]any{"enroll": true})
	c.answer("Login", map[string]any{"username": "bob", "password": "x"})
	c.answer("BridgeCertRealm", map[string]any{"enroll": true})
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if st, body := c.answer("BridgeCertRealm", map[string]any{"csr": csrFor(t, k, pkix.Name{CommonName: "mallory-as-bob"})}); st != 403 || body["error"] != "csr_rejected" {
		t.Fatalf("CSR missing the requirements: %d %v", st, body)
	}

	// A user certificate from the embedded PKCS#12 PKI.
	e := newSession(t, l.d, "Plain", "android")
	st, body = e.init()
	challengeOf(t, st, body, "wl_userCertificateAuthRealm")
	enroll(t, e, "wl_userCertificateAuthRealm", "erin", pkix.Name{CommonName: "erin"})

	// A reload (the adapters are opened again; their counts go on).
	loadedAt := scrapeMetrics(t, l.d).samples[`realmgate_config_last_reload_success_timestamp_seconds{}`]
	if st, body := admin(t, l.d, "POST", "/admin/v1/reload", "", adminToken); st != 200 {
		t.Fatalf("reload: %d %v", st, body)
	}

	first := scrapeMetrics(t, l.d)
	// What the clients saw: the walk's Wallet session was challenged four times (the anti-XSRF
	// realm first, then authenticity, provisioning and Login, each challenge naming the realms
	// still to pass, Login every time), the repackaged app's twice; the Plain sessions of the
	// PKI bridge three times each (anti-XSRF, then the device realm and BridgeCertRealm, named
	// in each challenge until passed); every session's first request
	// met the anti-XSRF realm. Challenges in answers (the dependent Login of an
	// enrollment, its CSR round) are not decisions.
	want := map[string]float64{
		`realmgate_decisions_total{outcome="allow",security_test="walletTests"}`:                       2, // init, token
		`realmgate_decisions_total{outcome="challenge",security_test="walletTests"}`:                   4 + 2,
		`realmgate_decisions_total{outcome="challenge",security_test="bridgeTests"}`:                   3 + 3,
		`realmgate_challenges_total{realm="wl_antiXSRFRealm"}`:                                         1 + 1 + 1 + 1 + 1,
		`realmgate_challenges_total{realm="wl_authenticityRealm"}`:                                     2 + 2,
		`realmgate_challenges_total{realm="wl_deviceAutoProvisioningRealm"}`:                           3 + 2,
		`realmgate_challenges_total{realm="Login"}`:                                                    4 + 2,
		`realmgate_challenges_total{realm="BridgeCertRealm"}`:                                          3 + 3,
		`realmgate_challenges_total{realm="wl_deviceNoProvisioningRealm"}`:                             3 + 3,
		`realmgate_answers_failed_total{code="wrong_answer",realm="Login"}`:                            1,
		`realmgate_answers_failed_total{code="realm_refused",realm="wl_authenticityRealm"}`:            1,
		`realmgate_answers_failed_total{code="csr_rejected",realm="BridgeCertRealm"}`:                  1,
		`realmgate_certificates_issued_total{bridge="builtin",realm="wl_deviceAutoProvisioningRealm"}`: 1,
		`realmgate_certificates_issued_total{bridge="Bridge",realm="BridgeCertRealm"}`:                 1,
		`realmgate_certificates_issued_total{bridge="embedded",realm="wl_userCertificateAuthRealm"}`:   1,
		`realmgate_certificates_refused_total{bridge="Bridge",realm="BridgeCertRealm"}`:                1,
		`realmgate_tokens_minted_total{scope="walletTests"}`:                                           1,
		`realmgate_tokens_validated_total{outcome="active"}`:                                           1,
		`realmgate_tokens_validated_total{outcome="inactive"}`:                                         1,
		`realmgate_failures_total{code="csr_rejected"}`:                                                1,
		`realmgate_failures_total{code="realm_refused"}`:                                               1,
		`realmgate_config_reloads_total{result="ok"}`:                                                  1,
		// The bridge ran validateIdentity and getCSRRequirements twice (two enrollments),
		// validateCSR once (the other CSR failed the host's checks first) and generated once.
		`realmgate_adapter_calls_total{adapter="Bridge",backend="wasm",outcome="ok",procedure="validateIdentity"}`:       2,
		`realmgate_adapter_calls_total{adapter="Bridge",backend="wasm",outcome="ok",procedure="getCSRRequirements"}`:     2,
		`realmgate_adapter_calls_total{adapter="Bridge",backend="wasm",outcome="ok",procedure="validateCSR"}`:            1,
		`realmgate_adapter_calls_total{adapter="Bridge",backend="wasm",outcome="ok",procedure="generateCertificate"}`:    1,
		`realmgate_adapter_calls_total{adapter="Bridge",backend="wasm",outcome="error",procedure="generateCertificate"}`: 0,
		`realmgate_adapter_call_duration_seconds_count{adapter="Bridge",backend="wasm",procedure="generateCertificate"}`: 1,
		`realmgate_adapter_busy_instances{adapter="Bridge",backend="wasm"}`:                                              0,
		`realmgate_store_operation_duration_seconds_count{operation="put_certificate"}`:                                  3,
	}
	got := map[string]float64{}
	for k := range want {
		v, ok := first.samples[k]
		if !ok {
			v = -1 // absent
		}
		got[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series after the traffic (-want +got, -1: absent):\n%s", diff)
	}
	for _, positive := range []string{
		`realmgate_store_operation_duration_seconds_count{operation="get_session"}`,
		`realmgate_store_operation_duration_seconds_count{operation="put_device"}`,
		`realmgate_http_request_duration_seconds_count{route="init"}`,
		`realmgate_config_last_reload_success_timestamp_seconds{}`,
	} {
		if first.samples[positive] <= 0 {
			t.Errorf("%s = %v, want > 0", positive, first.samples[positive])
		}
	}
	if at := first.samples[`realmgate_config_last_reload_success_timestamp_seconds{}`]; at <= loadedAt {
		t.Errorf("last successful load at %v after the reload, was %v before", at, loadedAt)
	}
	// No label carries a user, a device, a session or a token.
	for _, k := range first.realmgateSeries() {
		for _, secret := range []string{"wally", "phone-0", "bob", "mallory"} {
			if strings.Contains(k, secret) {
				t.Errorf("series %s names %q", k, secret)
			}
		}
	}

	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, first) })

	t.Run("cardinality", func(t *testing.T) {
		// One walk without the wrong answer sets the baseline; a hundred more users on a
		// hundred more devices then add counts and no series.
		l.walk(t, "user-base", "device-base", false)
		before := scrapeMetrics(t, l.d)
		for i := range 100 {
			l.walk(t, fmt.Sprintf("user-%d", i), fmt.Sprintf("device-%d", i), false)
		}
		after := scrapeMetrics(t, l.d)
		if diff := cmp.Diff(before.realmgateSeries(), after.realmgateSeries()); diff != "" {
			t.Errorf("100 users and devices changed the series (-before +after):\n%s", diff)
		}
		issued := `realmgate_certificates_issued_total{bridge="builtin",realm="wl_deviceAutoProvisioningRealm"}`
		if got := after.samples[issued] - before.samples[issued]; got != 100 {
			t.Errorf("%s grew by %v, want 100", issued, got)
		}
		minted := `realmgate_tokens_minted_total{scope="walletTests"}`
		if got := after.samples[minted] - before.samples[minted]; got != 100 {
			t.Errorf("%s grew by %v, want 100", minted, got)
		}
	})
}

// promName matches the metric names in a PromQL expression.
var promName = regexp.MustCompile(`\b(?:realmgate|go|process)_[a-zA-Z0-9_]+`)

// sqliteReportsPools is whether the embedded store reports its connection pools: then the pool
// series must be served like the others.
var _, sqliteReportsPools = any((*sqlite.Store)(nil)).(metrics.PoolReporter)

// checkDashboard reads every PromQL expression of the Grafana dashboard and checks that each
// metric it names is one the daemon served in s (a histogram's _bucket, _sum and _count
// included). Pool series are served only by a store that reports its pools (package metrics
// tests them on a real database/sql pool): until the SQLite store does, they may be absent.
func checkDashboard(t *testing.T, s scrape) {
	b, err := os.ReadFile("../docs/grafana/realmgate.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	served := map[string]bool{}
	for name, f := range s.families {
		served[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				served[name+suffix] = true
			}
		}
	}
	exprs := collectExprs(dash)
	if len(exprs) < 20 {
		t.Fatalf("the dashboard has %d expressions; it lost its panels", len(exprs))
	}
	used := map[string]bool{}
	for _, e := range exprs {
		names := promName.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("expression %q names no metric", e)
		}
		for _, n := range names {
			used[n] = true
			if !served[n] && !(slices.Contains(metrics.PoolSeries, n) && !sqliteReportsPools) {
				t.Errorf("the dashboard queries %s, which the daemon does not serve (in %q)", n, e)
			}
		}
	}
	// Every Realmgate series is on the dashboard.
	for name, f := range s.families {
		if !strings.HasPrefix(name, "realmgate_") {
			continue
		}
		if f.GetType() == dto.MetricType_HISTOGRAM {
			name += "_bucket"
		}
		if !used[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
}

// collectExprs returns the "expr" members of every target, at any depth (panels in rows).
func collectExprs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if e, ok := v["expr"].(string); ok {
			out = append(out, e)
		}
		for _, c := range v {
			out = append(out, collectExprs(c)...)
		}
	case []any:
		for _, c := range v {
			out = append(out, collectExprs(c)...)
		}
	}
	return out
}

// TestAdapterMetrics: procedure calls from a client to a wasm and a plugin adapter, a login
// function, a wrong password and a guest that traps, each counted by adapter, procedure,
// backend and outcome.
func TestAdapterMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm adapter and a plugin")
	}
	d := startDaemon(t, adapterProject(t), "")
	c := shopClient(t, d)
	login := &adapterLogin{user: "carol"} // wrong password first, then the right one
	c.RegisterHandler("AuthRealm", client.HandlerFunc(func(ctx context.Context, ch *client.Challenge) (*client.Answer, error) {
		if len(login.seen) == 1 {
			login.password = "carol-password"
		}
		return login.handler()(ctx, ch)
	}))
	ctx := context.Background()
	if _, err := c.InvokeProcedure(ctx, "AuthAdapter", "getSecret", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InvokeProcedure(ctx, "Bridge", "echo", "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InvokeProcedure(ctx, "AuthAdapter", "explode"); err == nil {
		t.Fatal("explode succeeded")
	}
	s := scrapeMetrics(t, d)
	want := map[string]float64{
		`realmgate_adapter_calls_total{adapter="AuthAdapter",backend="wasm",outcome="ok",procedure="getSecret"}`:  1,
		`realmgate_adapter_calls_total{adapter="AuthAdapter",backend="wasm",outcome="error",procedure="explode"}`: 1,
		`realmgate_adapter_calls_total{adapter="Bridge",backend="plugin",outcome="ok",procedure="echo"}`:          1,
		`realmgate_adapter_call_duration_seconds_count{adapter="Bridge",backend="plugin",procedure="echo"}`:       1,
		`realmgate_adapter_busy_instances{adapter="Bridge",backend="plugin"}`:                                     0,
		`realmgate_adapter_busy_instances{adapter="AuthAdapter",backend="wasm"}`:                                  0,
		`realmgate_answers_failed_total{code="wrong_answer",realm="AuthRealm"}`:                                   1,
		`realmgate_decisions_total{outcome="allow",security_test="AuthTest"}`:                                     1,
		// A procedure's failure is the adapter's, not an error of the engine or the API.
		`realmgate_failures_total{code="adapter_failure"}`:              -1,
		`realmgate_http_requests_total{route="procedure",status="500"}`: 1,
	}
	got := map[string]float64{}
	for k := range want {
		v, ok := s.samples[k]
		if !ok {
			v = -1
		}
		got[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got, -1: absent):\n%s", diff)
	}
	// The login function and the credentials' procedure ran as calls too.
	for _, proc := range []string{"onAuthRequired", "submitAuthentication"} {
		k := `realmgate_adapter_calls_total{adapter="AuthAdapter",backend="wasm",outcome="ok",procedure="` + proc + `"}`
		if s.samples[k] < 1 {
			t.Errorf("%s = %v, want at least 1", k, s.samples[k])
		}
	}
}
