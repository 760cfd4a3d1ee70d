package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/hostd/internal/policybundle/bundletest"
)

// docExample returns the first yaml block of docs/bundles.md: the settings example.
func docExample(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/bundles.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("docs/bundles.md has no yaml block")
	}
	return block
}

// TestBundlesDocExample reads the settings of docs/bundles.md as hostd reads hostd.yaml, then
// starts a daemon on them with their files and URL moved to a temporary folder and a collector
// on 127.0.0.1: the signed bundle serves and the decision events reach the file and the
// collector, masked.
func TestBundlesDocExample(t *testing.T) {
	tmp := t.TempDir()
	example := docExample(t)
	settingsFile := filepath.Join(tmp, "hostd.yaml")
	if err := os.WriteFile(settingsFile, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := daemon.LoadSettingsFile(settingsFile)
	if err != nil {
		t.Fatalf("the example of docs/bundles.md: %v", err)
	}
	type read struct {
		Path, Key, Alg, KeyID, Name, File, URL string
		Poll, Flush                            time.Duration
		Batch, Buffer                          int
		Masks                                  []string
	}
	want := read{
		Path: "/etc/realmgate/bundles/user.tar.gz", Key: "/etc/realmgate/bundle-signing.pub", Alg: "ES256", KeyID: "default", Name: "realmgate-user",
		File: "/var/log/realmgate/decisions.jsonl", URL: "http://127.0.0.1:9400/logs",
		Poll: 30 * time.Second, Flush: 5 * time.Second, Batch: 100, Buffer: 10000, Masks: []string{"/input/request/parameters"},
	}
	b, l := s.Policy.Bundle, s.DecisionLogs
	got := read{Path: b.Path, Key: b.VerificationKeyFile, Alg: b.Algorithm, KeyID: b.KeyID, Name: b.Name, File: l.File, URL: l.URL,
		Poll: time.Duration(b.PollInterval), Flush: time.Duration(l.FlushInterval), Batch: l.BatchSize, Buffer: l.BufferSize, Masks: l.MaskPaths}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("settings read from the example (-want +got):\n%s", d)
	}

	// The same settings, on this machine's temporary folder and collector.
	key := bundletest.NewKey(t)
	bundleFile := filepath.Join(tmp, "user.tar.gz")
	bundletest.WriteFile(t, bundleFile, blockBundle("doc-1", "Accounts.transfer"), &key, "")
	var mu sync.Mutex
	var collected []map[string]any
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var batch []map[string]any
		if err := json.NewDecoder(zr).Decode(&batch); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		collected = append(collected, batch...)
		mu.Unlock()
	}))
	defer collector.Close()
	s.Policy.Bundle.Path = bundleFile
	s.Policy.Bundle.VerificationKeyFile = key.PublicFile
	s.DecisionLogs.File = filepath.Join(tmp, "decisions.jsonl")
	s.DecisionLogs.URL = collector.URL + "/logs"
	s.DecisionLogs.FlushInterval = daemon.Duration(50 * time.Millisecond)
	s.Listen, s.Data, s.AdapterCacheDir = "127.0.0.1:0", t.TempDir(), adaptertest.CompilationCacheDir(t)
	s.Development = true // as the banking example's own hostd.yaml: its adapter builds from source
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: exampleDir, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	if _, r := bundleReadyz(t, d); r.Bundle.Revision != "doc-1" || r.Bundle.Name != "realmgate-user" {
		t.Errorf("/readyz bundle %+v, want realmgate-user doc-1", r.Bundle)
	}
	c := newClient(t, d, "android", "2.1.0")
	if err := transfer(c); !isBlocked(err) {
		t.Errorf("transfer: %v, want blocked by the signed bundle", err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(s.DecisionLogs.File)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(file), "\n")
	mu.Lock()
	defer mu.Unlock()
	if lines == 0 || len(collected) != lines {
		t.Fatalf("%d events in the file, %d at the collector: want the same, not 0", lines, len(collected))
	}
	for _, e := range collected {
		in := e["input"].(map[string]any)
		if req, _ := in["request"].(map[string]any); req["parameters"] != nil {
			t.Errorf("event %v: parameters not masked", e["decision_id"])
		}
		if e["bundles"].(map[string]any)["realmgate-user"].(map[string]any)["revision"] != "doc-1" {
			t.Errorf("event %v: bundles %v", e["decision_id"], e["bundles"])
		}
	}
}
