package main

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/hostd/internal/policybundle/bundletest"
)

// opaEvent is what OPA's tooling reads of a decision log event.
type opaEvent struct {
	DecisionID string            `json:"decision_id"`
	Timestamp  string            `json:"timestamp"`
	Path       string            `json:"path"`
	Labels     map[string]string `json:"labels"`
	Input      map[string]any    `json:"input"`
	Result     struct {
		Outcome string   `json:"outcome"`
		Realms  []string `json:"realms"`
	} `json:"result"`
	Bundles map[string]struct {
		Revision string `json:"revision"`
	} `json:"bundles"`
	Erased []string `json:"erased"`
}

// TestDecisionLogsEndToEnd: every decision of a session (challenges, a sign-in with password and
// PIN, procedures with a secret among their parameters, a denial by a bundle's rule, an
// anonymous client's cookies) is written to the decision log file in OPA's shape, one event per
// decision, under the decision_id of hostd's own decision line, with the bundle's revision, and
// not one secret of the test (password, PIN, the token parameter, a cookie) is in the file.
func TestDecisionLogsEndToEnd(t *testing.T) {
	tmp := t.TempDir()
	bundleFile := filepath.Join(tmp, "bundle.tar.gz")
	bundletest.WriteFile(t, bundleFile, blockBundle("log-1", "Accounts.transfer"), nil, "")
	logFile := filepath.Join(tmp, "decisions.jsonl")
	s, err := daemon.LoadSettings(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	s.Listen, s.Data, s.AdapterCacheDir = "127.0.0.1:0", t.TempDir(), adaptertest.CompilationCacheDir(t)
	s.Policy.Bundle.Path = bundleFile
	s.DecisionLogs.File = logFile
	s.DecisionLogs.BatchSize = 4
	s.DecisionLogs.FlushInterval = daemon.Duration(50 * time.Millisecond)
	var logs lockedBuffer
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: exampleDir, Settings: s,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			d.Shutdown(context.Background())
		}
	})

	// A secret the caller puts in procedure parameters (here the payee), such as a token.
	const token = "tok-7d1e0c1b-not-for-logs"
	ctx := context.Background()
	c := newClient(t, d, "android", "2.1.0") // alice-password, PIN 1234
	if _, err := c.InvokeProcedure(ctx, "Accounts", "payBill", map[string]any{"amount": 5000, "payee": token}); err != nil {
		t.Fatalf("large bill (password and PIN): %v", err)
	}
	if _, err := c.InvokeProcedure(ctx, "Accounts", "payBill", map[string]any{"amount": 10, "payee": token}); err != nil {
		t.Fatalf("small bill: %v", err)
	}
	if err := transfer(c); !isBlocked(err) {
		t.Fatalf("transfer: %v, want blocked by the bundle", err)
	}
	r := newRaw(t, d, "android", "2.1.0")
	_, body, _ := r.do("POST", "/api/v1/adapters/Accounts/getOffers", "{}")
	x := []string{"WL-Instance-Id", challenges(body)["wl_antiXSRFRealm"].(map[string]any)["WL-Instance-Id"].(string)}
	if status, _, _ := r.do("POST", "/api/v1/adapters/Accounts/getOffers", "{}", x...); status != 200 {
		t.Fatalf("offers: %d", status)
	}
	u, _ := url.Parse(baseURL(d))
	secrets := []string{"alice-password", `"1234"`, token, x[1]}
	for _, ck := range r.hc.Jar.Cookies(u) {
		secrets = append(secrets, ck.Value)
	}
	if len(secrets) < 6 {
		t.Fatalf("secrets %d: want the session and persistent cookies among them", len(secrets))
	}

	// hostd's own decision lines: the ids every event must match.
	var lineIDs []string
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Msg        string `json:"msg"`
			DecisionID string `json:"decision_id"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "decision" {
			lineIDs = append(lineIDs, line.DecisionID)
		}
	}
	if len(lineIDs) < 8 {
		t.Fatalf("%d decision lines, want the walk's (at least 8)", len(lineIDs))
	}
	deadline := time.Now().Add(30 * time.Second)
	for scrapeMetrics(t, d).samples["realmgate_decision_logs_written_total{}"] < float64(len(lineIDs)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	m := scrapeMetrics(t, d)
	if m.samples["realmgate_decision_logs_written_total{}"] != float64(len(lineIDs)) || m.samples["realmgate_decision_logs_dropped_total{}"] != 0 {
		t.Errorf("written %v, dropped %v; want %d and 0", m.samples["realmgate_decision_logs_written_total{}"], m.samples["realmgate_decision_logs_dropped_total{}"], len(lineIDs))
	}
	stopped = true
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(raw), s) {
			t.Errorf("the decision log holds the secret %q", s)
		}
	}
	var eventIDs []string
	outcomes := map[string]int{}
	sc = bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e opaEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("event %d: %v: %s", len(eventIDs)+1, err, sc.Bytes())
		}
		eventIDs = append(eventIDs, e.DecisionID)
		outcomes[e.Result.Outcome]++
		if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil {
			t.Errorf("%s: timestamp %q: %v", e.DecisionID, e.Timestamp, err)
		}
		if e.Path != "realmgate/decision" || e.Labels["id"] == "" || e.Input["test"] == nil ||
			e.Bundles["realmgate-user"].Revision != "log-1" || e.Bundles["realmgate"].Revision == "" {
			t.Errorf("%s: %+v: want OPA's shape with the bundle's revision", e.DecisionID, e)
		}
		req, _ := e.Input["request"].(map[string]any)
		if req["parameters"] != nil || (e.Input["resource"].(map[string]any)["kind"] == "procedure" && e.Input["resource"].(map[string]any)["name"] != "Accounts.getOffers" && !slices.Contains(e.Erased, "/input/request/parameters")) {
			t.Errorf("%s: parameters %v, erased %v: want them masked", e.DecisionID, req["parameters"], e.Erased)
		}
	}
	slices.Sort(lineIDs)
	slices.Sort(eventIDs)
	if !slices.Equal(lineIDs, eventIDs) {
		t.Errorf("event ids %v\nwant the decision lines' %v", eventIDs, lineIDs)
	}
	if outcomes["allow"] == 0 || outcomes["challenge"] == 0 || outcomes["deny"] == 0 {
		t.Errorf("outcomes %v: want allows, challenges and the bundle's deny", outcomes)
	}
	t.Logf("%d decisions, %d events, outcomes %v", len(lineIDs), len(eventIDs), outcomes)
}
