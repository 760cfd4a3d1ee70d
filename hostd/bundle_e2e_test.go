package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/hostd/internal/policybundle/bundletest"
)

// blockRego refuses the procedure that the bundle's data names.
const blockRego = `package realmgate.user.bundled

deny contains "blocked by the bundle" if {
	input.resource.name == data.realmgate.user.bundled.blocked
}
`

const blockTest = `package realmgate.user.bundled_test

test_blocks_what_data_names if {
	"blocked by the bundle" in data.realmgate.user.bundled.deny with input as {"resource": {"name": data.realmgate.user.bundled.blocked}}
}
`

// blockBundle is a bundle that blocks one procedure.
func blockBundle(rev, blocked string) bundletest.Spec {
	return bundletest.Spec{
		Revision: rev,
		Roots:    []string{"realmgate/user/bundled", "realmgate/user/bundled_test"},
		Modules:  map[string]string{"bundled/block.rego": blockRego, "bundled/block_test.rego": blockTest},
		Data:     map[string]any{"realmgate": map[string]any{"user": map[string]any{"bundled": map[string]any{"blocked": blocked}}}},
	}
}

// readyBundle is the "bundle" member of /readyz.
type readyBundle struct {
	Status   string `json:"status"`
	Revision string `json:"revision"`
	Bundle   struct {
		Name     string `json:"name"`
		Revision string `json:"revision"`
		Error    string `json:"error"`
	} `json:"bundle"`
}

func bundleReadyz(t *testing.T, d *daemon.Daemon) (int, readyBundle) {
	t.Helper()
	resp, err := http.Get(baseURL(d) + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readyBundle
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, r
}

// waitReady polls /readyz until cond holds (bounded: a guard against hanging).
func waitReady(t *testing.T, d *daemon.Daemon, what string, cond func(readyBundle) bool) readyBundle {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, r := bundleReadyz(t, d)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: /readyz still says %+v", what, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// transfer tries a small transfer; nil when it was made.
func transfer(c *client.Client) error {
	_, err := c.InvokeProcedure(context.Background(), "Accounts", "transfer", map[string]any{"amount": 5, "to": "bob"})
	return err
}

func isBlocked(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == 403 && strings.Contains(ce.Message, "blocked by the bundle")
}

// TestBundleSwapUnderLoad: a bundle file read at start decides; a new one written under a
// bounded loop of protected requests is swapped in without one failed request; bundles that are
// corrupt, do not compile or fail their own tests are refused, the one serving stays, and
// /readyz and the metrics say so.
func TestBundleSwapUnderLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bundle.tar.gz")
	bundletest.WriteFile(t, file, blockBundle("v1", "Accounts.none"), nil, "")
	d, _ := startTuned(t, func(s *daemon.Settings) {
		s.Policy.Bundle.Path = file
		s.Policy.Bundle.PollInterval = daemon.Duration(100 * time.Millisecond)
	})
	if status, r := bundleReadyz(t, d); status != 200 || r.Bundle.Revision != "v1" || r.Bundle.Error != "" {
		t.Fatalf("/readyz: %d %+v, want ready on bundle v1", status, r)
	}
	c := newClient(t, d, "android", "2.1.0")
	if err := transfer(c); err != nil {
		t.Fatalf("transfer under v1: %v", err)
	}

	// The load: clients signed in, paying small bills in a loop until stopped.
	const workers = 3
	var sent, failed, afterSwap atomic.Int64
	var swapped atomic.Bool
	var firstErr atomic.Pointer[error]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		w := newClient(t, d, "android", "2.1.0")
		if _, err := w.InvokeProcedure(context.Background(), "Accounts", "payBill", map[string]any{"amount": 1, "payee": "warmup"}); err != nil {
			t.Fatalf("worker %d sign-in: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := w.InvokeProcedure(context.Background(), "Accounts", "payBill", map[string]any{"amount": 10, "payee": "power"})
				sent.Add(1)
				if swapped.Load() {
					afterSwap.Add(1)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	start := time.Now()
	time.Sleep(500 * time.Millisecond)
	before, written := sent.Load(), time.Now()
	bundletest.WriteFile(t, file, blockBundle("v2", "Accounts.transfer"), nil, "")
	waitReady(t, d, "bundle v2", func(r readyBundle) bool { return r.Bundle.Revision == "v2" })
	swapped.Store(true)
	served := time.Since(written)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	across := time.Since(written)
	rateBefore := float64(before) / written.Sub(start).Seconds()
	rateAcross := float64(sent.Load()-before) / across.Seconds()
	t.Logf("swap under load: %d requests sent, %d failed; %d before the new bundle was written, %d after it served (%v after the write); "+
		"throughput across the swap %.0f/s against %.0f/s before it: ratio %.2f",
		sent.Load(), failed.Load(), before, afterSwap.Load(), served.Round(time.Millisecond), rateAcross, rateBefore, rateAcross/rateBefore)
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed across the swap; first: %v", failed.Load(), sent.Load(), *firstErr.Load())
	}
	if before == 0 || afterSwap.Load() == 0 {
		t.Errorf("requests before the swap %d, after it %d: the loop did not span the swap", before, afterSwap.Load())
	}
	if err := transfer(c); !isBlocked(err) {
		t.Fatalf("transfer under v2: %v, want blocked by the bundle", err)
	}

	// Bad bundles: each is refused, v2 keeps serving.
	good := bundletest.Tarball(t, blockBundle("v2", "Accounts.transfer"), nil, "")
	badTest := blockBundle("v3-test", "Accounts.transfer")
	badTest.Modules["bundled/block_test.rego"] = "package realmgate.user.bundled_test\n\ntest_wrong if { data.realmgate.user.bundled.blocked == \"something else\" }\n"
	badSyntax := blockBundle("v3-syntax", "Accounts.payBill")
	badSyntax.Modules["bundled/block.rego"] = "package realmgate.user.bundled\n\ndeny contains \"x\" if {\n"
	badRego := blockBundle("v3-rego", "Accounts.payBill")
	badRego.Modules["bundled/block.rego"] = "package realmgate.user.bundled\n\ndeny contains \"x\" if {\n\tno_such_function(input.resource)\n}\n"
	outside := blockBundle("v3-outside", "Accounts.payBill")
	outside.Roots = []string{"realmgate"}
	for i, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"corrupt", good[:len(good)/2], "bundle"},
		{"syntax error", bundletest.Tarball(t, badSyntax, nil, ""), "rego_parse_error"},
		{"compile error", bundletest.Tarball(t, badRego, nil, ""), "bundle/bundled/block.rego"},
		{"failing test", bundletest.Tarball(t, badTest, nil, ""), "test_wrong"},
		{"root outside realmgate/user", bundletest.Tarball(t, outside, nil, ""), "outside realmgate/user"},
	} {
		if err := os.WriteFile(file+".tmp", tc.raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
		r := waitReady(t, d, tc.name+" refused", func(r readyBundle) bool { return strings.Contains(r.Bundle.Error, tc.want) })
		t.Logf("%s: %s", tc.name, r.Bundle.Error)
		if status, _ := bundleReadyz(t, d); status != 200 || r.Status != "ready" || r.Bundle.Revision != "v2" {
			t.Errorf("%s: /readyz %d %+v, want ready on v2 with the error", tc.name, status, r)
		}
		if err := transfer(c); !isBlocked(err) {
			t.Errorf("%s: transfer %v, want still blocked by v2", tc.name, err)
		}
		if _, err := c.InvokeProcedure(context.Background(), "Accounts", "payBill", map[string]any{"amount": 10, "payee": "power"}); err != nil {
			t.Errorf("%s: payBill %v, want v2's allow", tc.name, err)
		}
		s := scrapeMetrics(t, d)
		if got := s.samples[`realmgate_bundle_loads_total{result="error"}`]; got < float64(i+1) {
			t.Errorf("%s: realmgate_bundle_loads_total{result=\"error\"} = %v, want at least %d", tc.name, got, i+1)
		}
		if got := s.samples[`realmgate_bundle_revision_info{revision="v2"}`]; got != 1 {
			t.Errorf("%s: realmgate_bundle_revision_info{revision=\"v2\"} = %v, want 1", tc.name, got)
		}
	}
	if got := scrapeMetrics(t, d).samples[`realmgate_bundle_loads_total{result="success"}`]; got != 2 {
		t.Errorf("realmgate_bundle_loads_total{result=\"success\"} = %v, want 2 (start and v2)", got)
	}
}

// TestSignedBundleFromURL: a bundle served over HTTP on 127.0.0.1 (behind a bearer token) and
// signed is fetched with If-None-Match (a 304 swaps nothing), a new signed one is swapped in, and one signed with
// another key or changed after signing is refused with the old policy serving.
func TestSignedBundleFromURL(t *testing.T) {
	key, other := bundletest.NewKey(t), bundletest.NewKey(t)
	var body atomic.Pointer[[]byte]
	var etag atomic.Int64
	serve := func(raw []byte) { body.Store(&raw); etag.Add(1) }
	serve(bundletest.Tarball(t, blockBundle("s1", "Accounts.none"), &key, "ops"))
	var gets, notModified atomic.Int64
	const bearer = "bundle-service-token-0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+bearer {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		tag := `"` + string(rune('a'+etag.Load())) + `"`
		if r.Header.Get("If-None-Match") == tag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", tag)
		w.Write(*body.Load())
	}))
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "bundle-token")
	if err := os.WriteFile(tokenFile, []byte(bearer+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, _ := startTuned(t, func(s *daemon.Settings) {
		s.Policy.Bundle.URL = srv.URL + "/bundles/realmgate.tar.gz"
		s.Policy.Bundle.PollInterval = daemon.Duration(100 * time.Millisecond)
		s.Policy.Bundle.VerificationKeyFile = key.PublicFile
		s.Policy.Bundle.Algorithm = "ES256"
		s.Policy.Bundle.KeyID = "ops"
		s.Policy.Bundle.BearerTokenFile = tokenFile
	})
	c := newClient(t, d, "android", "2.1.0")
	if err := transfer(c); err != nil {
		t.Fatalf("transfer under s1: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for notModified.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	s := scrapeMetrics(t, d)
	if notModified.Load() < 3 || s.samples[`realmgate_bundle_loads_total{result="success"}`] != 1 {
		t.Fatalf("%d polls answered 304, %v bundles activated; want at least 3 and exactly 1 (no swap for an unchanged bundle)",
			notModified.Load(), s.samples[`realmgate_bundle_loads_total{result="success"}`])
	}

	serve(bundletest.Tarball(t, blockBundle("s2", "Accounts.transfer"), &key, "ops"))
	waitReady(t, d, "bundle s2", func(r readyBundle) bool { return r.Bundle.Revision == "s2" })
	if err := transfer(c); !isBlocked(err) {
		t.Fatalf("transfer under s2: %v, want blocked", err)
	}

	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"signed with another key", bundletest.Tarball(t, blockBundle("s3", "Accounts.none"), &other, "ops"), "verif"},
		{"unsigned", bundletest.Tarball(t, blockBundle("s4", "Accounts.none"), nil, ""), "signature"},
		{"changed after signing", tamperData(t, bundletest.Tarball(t, blockBundle("s5", "Accounts.transfer"), &key, "ops")), "digest"},
	} {
		serve(tc.raw)
		r := waitReady(t, d, tc.name+" refused", func(r readyBundle) bool { return strings.Contains(r.Bundle.Error, tc.want) })
		if r.Bundle.Revision != "s2" {
			t.Errorf("%s: serving %q, want s2", tc.name, r.Bundle.Revision)
		}
		if err := transfer(c); !isBlocked(err) {
			t.Errorf("%s: transfer %v, want still blocked by s2", tc.name, err)
		}
	}
}

// TestBadBundleAtStart: a daemon does not start on a bundle it refuses.
func TestBadBundleAtStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(file, []byte("not a bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := daemon.LoadSettings(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	s.Listen, s.Data = "127.0.0.1:0", t.TempDir()
	s.Policy.Bundle.Path = file
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: exampleDir, Settings: s})
	if err == nil {
		d.Shutdown(context.Background())
		t.Fatal("the daemon started on a corrupt bundle")
	}
	if !strings.Contains(err.Error(), "policy.bundle") {
		t.Errorf("err = %v, want it to name policy.bundle", err)
	}
}

// TestBundleRemoteDisableRules: a bundle's remote-disable rules block as the admin API's do,
// beside them: the admin API shows and changes its own only, and both apply. Rules naming an
// environment the project lacks, or invalid as the admin API would refuse them, refuse the
// bundle.
func TestBundleRemoteDisableRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bundle.tar.gz")
	withRules := func(rev string, rules any) bundletest.Spec {
		s := blockBundle(rev, "Accounts.none")
		s.Roots = append(s.Roots, "realmgate/user/remote_disable")
		s.Data["realmgate"].(map[string]any)["user"].(map[string]any)["remote_disable"] = rules
		return s
	}
	block := map[string]any{"BankApp": map[string]any{"android": []any{
		map[string]any{"versions": "<2.0.0", "action": "block", "message": "Update from the store", "downloadLink": "https://example.com/bank.apk"},
	}}}
	bundletest.WriteFile(t, file, withRules("rd-1", block), nil, "")
	d, _ := startTuned(t, func(s *daemon.Settings) {
		s.Policy.Bundle.Path = file
		s.Policy.Bundle.PollInterval = daemon.Duration(100 * time.Millisecond)
	})
	ctx := context.Background()
	var ce *client.Error
	if _, err := newClient(t, d, "android", "1.4.0").Init(ctx); !errors.Is(err, client.ErrApplicationDisabled) || !errors.As(err, &ce) || ce.DownloadLink != "https://example.com/bank.apk" {
		t.Fatalf("1.4.0 under the bundle's block rule: %v, want application_disabled with the link", err)
	}
	if _, err := newClient(t, d, "android", "2.1.0").Init(ctx); err != nil {
		t.Fatalf("2.1.0: %v", err)
	}
	status, rules := admin(t, d, "GET", "/admin/v1/apps/BankApp/android/remote-disable", "", adminToken)
	if status != 200 || len(rules["rules"].([]any)) != 0 {
		t.Errorf("GET rules: %d %v, want the admin API's own (none)", status, rules)
	}
	if status, _ := admin(t, d, "PUT", "/admin/v1/apps/BankApp/android/remote-disable",
		`{"rules":[{"versions":"<3.0.0","action":"block","message":"Closed for maintenance"}]}`, adminToken); status != 200 {
		t.Fatalf("PUT rules: %d", status)
	}
	if _, err := newClient(t, d, "android", "1.4.0").Init(ctx); !errors.As(err, &ce) || ce.Message != "Update from the store" {
		t.Errorf("1.4.0 under both: %v, want the bundle's rule first", err)
	}
	if _, err := newClient(t, d, "android", "2.1.0").Init(ctx); !errors.As(err, &ce) || ce.Message != "Closed for maintenance" {
		t.Errorf("2.1.0 under both: %v, want the admin API's rule", err)
	}

	for _, tc := range []struct {
		name  string
		rules any
		want  string
	}{
		{"unknown environment", map[string]any{"BankApp": map[string]any{"blackberry": []any{}}}, "no application environment BankApp/blackberry"},
		{"invalid rule", map[string]any{"BankApp": map[string]any{"android": []any{map[string]any{"action": "erase", "message": "x"}}}}, "action must be"},
		{"unknown member", map[string]any{"BankApp": map[string]any{"android": []any{map[string]any{"action": "block", "message": "x", "version": "<1"}}}}, "unknown field"},
	} {
		bundletest.WriteFile(t, file, withRules("rd-bad", tc.rules), nil, "")
		r := waitReady(t, d, tc.name+" refused", func(r readyBundle) bool { return strings.Contains(r.Bundle.Error, tc.want) })
		if r.Bundle.Revision != "rd-1" {
			t.Errorf("%s: serving %q, want rd-1", tc.name, r.Bundle.Revision)
		}
	}
}

// TestBundleDirectory: a bundle directory serves, and an edit of its data is picked up at the
// next poll.
func TestBundleDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".tmp", []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
	write(".manifest", `{"roots": ["realmgate/user"]}`)
	write("bundled/block.rego", blockRego)
	write("realmgate/user/bundled/data.json", `{"blocked": "Accounts.none"}`)
	d, _ := startTuned(t, func(s *daemon.Settings) {
		s.Policy.Bundle.Path = dir
		s.Policy.Bundle.PollInterval = daemon.Duration(100 * time.Millisecond)
	})
	_, first := bundleReadyz(t, d)
	if len(first.Bundle.Revision) != 16 {
		t.Errorf("revision %q, want the content's digest (the manifest has none)", first.Bundle.Revision)
	}
	c := newClient(t, d, "android", "2.1.0")
	if err := transfer(c); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	write("realmgate/user/bundled/data.json", `{"blocked": "Accounts.transfer"}`)
	waitReady(t, d, "the edited data", func(r readyBundle) bool { return r.Bundle.Revision != first.Bundle.Revision })
	if err := transfer(c); !isBlocked(err) {
		t.Errorf("transfer after the edit: %v, want blocked", err)
	}
}
