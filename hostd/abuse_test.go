package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// startTuned starts the banking example with its settings changed by tune, in a fresh data
// folder it returns.
func startTuned(t *testing.T, tune func(*daemon.Settings)) (*daemon.Daemon, string) {
	t.Helper()
	s, err := daemon.LoadSettings(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	s.Listen, s.Data, s.AdapterCacheDir = "127.0.0.1:0", t.TempDir(), adaptertest.CompilationCacheDir(t)
	tune(&s)
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: exampleDir, Settings: s, AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d, s.Data
}

// behind is a raw client of the web environment whose requests a balancer on 127.0.0.1
// forwards for addr.
func behind(t *testing.T, d *daemon.Daemon, addr string) *raw {
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	r.headers["X-Forwarded-For"] = addr
	return r
}

// loginChallenge walks r to the BankLogin challenge and returns the anti-XSRF header.
func loginChallenge(t *testing.T, r *raw) []string {
	t.Helper()
	status, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}")
	if status != 401 {
		t.Fatalf("init: %d %v, want the anti-XSRF challenge", status, body)
	}
	x := xsrf(t, body)
	if status, body, _ = r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", x...); status != 401 || challenges(body)["BankLogin"] == nil {
		t.Fatalf("init: %d %v, want the BankLogin challenge", status, body)
	}
	return x
}

// outcome is the status and error code of a response ("401", "429 rate_limited").
func outcome(status int, body map[string]any) string {
	if code, _ := body["error"].(string); code != "" {
		return fmt.Sprintf("%d %s", status, code)
	}
	return fmt.Sprint(status)
}

// TestAnswersAreRateLimitedPerClient: a client answering faster than limits.answersPerClient
// gets 429 rate_limited with Retry-After before its answer is checked; other clients, told
// apart by the X-Forwarded-For of a trusted balancer, keep their own budget. Without
// trustedProxies the header is not read, and every request of the balancer is one client.
func TestAnswersAreRateLimitedPerClient(t *testing.T) {
	d, _ := startTuned(t, func(s *daemon.Settings) {
		s.TrustedProxies = []string{"127.0.0.1"}
		// A token every 100 s: none comes back while the test runs (a bcrypt check under the
		// race detector on a busy machine takes seconds).
		s.Limits.AnswersPerClient, s.Limits.ClientBurst = 0.01, 5
	})
	a := behind(t, d, "198.51.100.1")
	xa := loginChallenge(t, a) // one token: the new session
	var got []string
	for i := range 5 {
		status, body, h := a.do("POST", "/api/v1/auth/BankLogin", fmt.Sprintf(`{"username":"user%d","password":"wrong"}`, i), xa...)
		got = append(got, outcome(status, body)+retryAfter(t, h, 100))
	}
	want := []string{"401", "401", "401", "401", "429 rate_limited, Retry-After 1..100 s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers of one client (-want +got):\n%s", diff)
	}
	b := behind(t, d, "198.51.100.1, 198.51.100.2") // the balancer forwards for .2; .1 is the client's word
	xb := loginChallenge(t, b)
	if status, body, _ := b.do("POST", "/api/v1/auth/BankLogin", `{"username":"user9","password":"wrong"}`, xb...); status != 401 {
		t.Errorf("another client's answer: %s, want 401 (its own budget)", outcome(status, body))
	}

	// No trusted proxy: the header is the client's word, and the peer is the client.
	plain, _ := startTuned(t, func(s *daemon.Settings) {
		s.Limits.AnswersPerClient, s.Limits.ClientBurst = 0.01, 4
	})
	var statuses []string
	for i := range 4 {
		r := behind(t, plain, fmt.Sprintf("203.0.113.%d", i))
		status, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}")
		statuses = append(statuses, outcome(status, body))
		if i == 0 {
			x := xsrf(t, body)
			r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", x...)
			status, body, _ = r.do("POST", "/api/v1/auth/BankLogin", `{"username":"u","password":"wrong"}`, x...)
			statuses = append(statuses, outcome(status, body))
		}
	}
	// Four clients by their header, one by their peer: its fifth token (the fourth client's new
	// session) is refused.
	if diff := cmp.Diff([]string{"401", "401", "401", "401", "429 rate_limited"}, statuses); diff != "" {
		t.Errorf("X-Forwarded-For from an untrusted peer (-want +got):\n%s", diff)
	}
}

// TestAnswersAreRateLimitedPerRealm: all clients together answer one realm at most
// limits.answersPerRealm a second.
func TestAnswersAreRateLimitedPerRealm(t *testing.T) {
	d, _ := startTuned(t, func(s *daemon.Settings) {
		s.TrustedProxies = []string{"127.0.0.0/8"}
		s.Limits.AnswersPerClient = 0
		s.Limits.AnswersPerRealm, s.Limits.RealmBurst = 0.01, 3 // a token every 100 s
	})
	var got []string
	for i := range 4 {
		r := behind(t, d, fmt.Sprintf("198.51.100.%d", i+10))
		x := loginChallenge(t, r)
		status, body, h := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"wrong"}`, x...)
		got = append(got, outcome(status, body)+retryAfter(t, h, 100))
	}
	want := []string{"401", "401", "401", "429 rate_limited, Retry-After 1..100 s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers to BankLogin from four clients (-want +got):\n%s", diff)
	}
}

// TestNewSessionsAreRateLimited: each request that makes a session spends a token of its
// client; over the limit it gets 429 and no session cookie, whether it sent no session id or
// one the daemon does not know. A client's existing session keeps being served.
func TestNewSessionsAreRateLimited(t *testing.T) {
	d, _ := startTuned(t, func(s *daemon.Settings) {
		s.TrustedProxies = []string{"127.0.0.1"}
		s.Limits.AnswersPerClient, s.Limits.ClientBurst = 0.01, 3
	})
	const init = "/api/v1/apps/BankApp/mobilewebapp/init"
	kept := behind(t, d, "198.51.100.50")
	x := loginChallenge(t, kept)
	var got []string
	for range 3 { // the first session spent one token of three
		r := behind(t, d, "198.51.100.50")
		status, body, h := r.do("POST", init, "{}")
		got = append(got, fmt.Sprintf("%s cookie=%v", outcome(status, body), strings.Contains(h.Get("Set-Cookie"), "WL_SESSION=")))
	}
	invented := behind(t, d, "198.51.100.50")
	status, body, h := invented.do("POST", init, "{}", "Cookie", "WL_SESSION="+strings.Repeat("A", 43))
	got = append(got, fmt.Sprintf("%s cookie=%v", outcome(status, body), strings.Contains(h.Get("Set-Cookie"), "WL_SESSION=")))
	want := []string{"401 cookie=true", "401 cookie=true", "429 rate_limited cookie=false", "429 rate_limited cookie=false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("new sessions of one client (-want +got):\n%s", diff)
	}
	if status, body, _ := kept.do("POST", init, "{}", x...); status != 401 || challenges(body)["BankLogin"] == nil {
		t.Errorf("the client's existing session: %s, want its BankLogin challenge", outcome(status, body))
	}
}

// TestLoginBackoffBehindTrustedProxy: the per-client login backoff counts the client the
// trusted balancer names, not the balancer.
func TestLoginBackoffBehindTrustedProxy(t *testing.T) {
	d, _ := startTuned(t, func(s *daemon.Settings) { s.TrustedProxies = []string{"127.0.0.1"} })
	answer := func(addr string, i int) string {
		r := behind(t, d, addr)
		x := loginChallenge(t, r)
		status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", fmt.Sprintf(`{"username":"user%d","password":"guess"}`, i), x...)
		return outcome(status, body)
	}
	var got []string
	for i := range 21 {
		got = append(got, answer("198.51.100.77", i))
	}
	got = append(got, answer("198.51.100.78", 99))
	want := append(append(strings.Split(strings.Repeat("401,", 20), ",")[:20], "429 login_backoff"), "401")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrong passwords from one forwarded client, then another (-want +got):\n%s", diff)
	}
}

// storeStats are the figures of the embedded store.
type storeStats struct {
	Rows                map[string]int
	Pages, Free         int // page_count, freelist_count
	FileBytes, WALBytes int64
	HeapBytes           uint64
}

func (s storeStats) String() string {
	return fmt.Sprintf("rows %v, pages %d (free %d), file %d KiB, WAL %d KiB, heap %.1f MiB",
		s.Rows, s.Pages, s.Free, s.FileBytes>>10, s.WALBytes>>10, float64(s.HeapBytes)/(1<<20))
}

// measure reads the store's tables and size through its own read-only connection, and the
// process's live heap after a collection.
func measure(t *testing.T, data string) storeStats {
	t.Helper()
	path := filepath.Join(data, "realmgate.db")
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := storeStats{Rows: map[string]int{}}
	for _, table := range []string{"sessions", "nonces", "login_failures", "token_revocations", "users", "audit"} {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		st.Rows[table] = n
	}
	if err := db.QueryRow("PRAGMA page_count").Scan(&st.Pages); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA freelist_count").Scan(&st.Free); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err == nil {
		st.FileBytes = fi.Size()
	}
	if fi, err := os.Stat(path + "-wal"); err == nil {
		st.WALBytes = fi.Size()
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapBytes = ms.HeapAlloc
	return st
}

// flood sends sessions new-session requests (init without a cookie) from clients addresses
// behind the trusted balancer, several workers at once; every tenth session goes on to the
// BankLogin challenge and answers it with a wrong password, every tenth is the Android app's,
// and with offers every tenth calls getOffers (a wasm procedure) as an anonymous user. It
// returns the responses by outcome.
func flood(t *testing.T, base string, first, sessions, clients int, offers bool) map[string]int {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer hc.CloseIdleConnections()
	var mu sync.Mutex
	counts := map[string]int{}
	count := func(what string, resp *http.Response, err error) *http.Response {
		key := what + " error"
		if err == nil {
			key = fmt.Sprint(what, " ", resp.StatusCode)
		}
		mu.Lock()
		counts[key]++
		mu.Unlock()
		return resp
	}
	post := func(path, addr, cookie, instance, body string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("WL-App-Id", app)
		env := "mobilewebapp"
		if strings.Contains(path, "/android/") {
			env = "android"
		}
		req.Header.Set("WL-App-Environment", env)
		req.Header.Set("WL-App-Version", "2.1.0")
		req.Header.Set("X-Forwarded-For", addr)
		if cookie != "" {
			req.Header.Set("Cookie", "WL_SESSION="+cookie)
		}
		if instance != "" {
			req.Header.Set("WL-Instance-Id", instance)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
	read := func(resp *http.Response) map[string]any {
		if resp == nil {
			return nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	var next atomic.Int64
	next.Store(int64(first))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= first+sessions {
					return
				}
				n := i % clients
				addr := fmt.Sprintf("198.18.%d.%d", n/250, n%250+1)
				// Most sessions are the web app's; a tenth are the Android app's, whose device
				// realm stores a challenge nonce, and a tenth call getOffers, whose anonymous
				// realm stores a persistent user once the anti-XSRF token comes back.
				path, what := "/api/v1/apps/BankApp/mobilewebapp/init", "init"
				switch i % 10 {
				case 1:
					path, what = "/api/v1/apps/BankApp/android/init", "android init"
				case 2:
					if offers {
						path, what = "/api/v1/adapters/Accounts/getOffers", "offers"
					}
				}
				resp, err := post(path, addr, "", "", "{}")
				count(what, resp, err)
				var sid string
				if resp != nil {
					for _, c := range resp.Cookies() {
						if c.Name == "WL_SESSION" {
							sid = c.Value
						}
					}
				}
				body := read(resp)
				if i%10 > 2 || sid == "" {
					continue
				}
				ch, _ := challenges(body)["wl_antiXSRFRealm"].(map[string]any)
				tok, _ := ch["WL-Instance-Id"].(string)
				if i%10 == 2 && offers {
					resp, err = post(path, addr, sid, tok, `{"parameters":[]}`)
					read(count("offers again", resp, err))
					continue
				}
				if i%10 != 0 {
					continue
				}
				resp, err = post("/api/v1/apps/BankApp/mobilewebapp/init", addr, sid, tok, "{}")
				read(count("challenge", resp, err))
				resp, err = post("/api/v1/auth/BankLogin", addr, sid, tok, `{"username":"alice","password":"wrong"}`)
				code, _ := read(resp)["error"].(string)
				count(strings.TrimSpace("answer "+code), resp, err)
			}
		}()
	}
	wg.Wait()
	return counts
}

// TestFloodOfNewSessionsIsBounded: a real daemon on the embedded store receives two floods of
// 10,000 new sessions each (2,500 under the race detector) from 2,000 addresses behind a
// trusted balancer, a tenth of them
// answering the login with a wrong password. Sessions that never pass a realm needing a
// credential live session.pendingTimeout; the janitor removes them. After each flood is
// reaped, no flooded session is left, and the second flood reuses the pages the first one
// freed: the file does not keep growing. The figures are logged.
func TestFloodOfNewSessionsIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of 20,000 sessions")
	}
	const (
		pending = 5 * time.Second
		sweep   = 500 * time.Millisecond
		clients = 2000
	)
	perWave := 10000
	if floodUnderRace {
		perWave = 2500 // the race detector makes each request ten times slower
	}
	d, data := startTuned(t, func(s *daemon.Settings) {
		s.TrustedProxies = []string{"127.0.0.1"}
		s.Session.PendingTimeout = daemon.Duration(pending)
		s.Limits.NonceTTL = daemon.Duration(pending)
		s.JanitorInterval = daemon.Duration(sweep)
	})
	base := baseURL(d)
	// One real user, logged in: her session outlives the floods.
	alice := newRaw(t, d, "mobilewebapp", "2.1.0")
	x := loginChallenge(t, alice)
	if status, body, _ := alice.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"alice-password"}`, x...); status != 200 {
		t.Fatalf("alice's login: %d %v", status, body)
	}
	// A small flood first, with adapter calls, warms what any traffic grows to a size of its
	// own and keeps: the adapter's pooled wasm instances (4, each up to its 64 MiB cap), the
	// policy memo, the connection pools. It is reaped before the measures begin; the two
	// floods measured make no adapter call, so that the heap they leave is theirs.
	warm := flood(t, base, 1_000_000, perWave/5, clients, true)
	t.Logf("warm-up: %v", warm)
	before := measure(t, data)
	deadline := time.Now().Add(pending + 30*time.Second)
	for before.Rows["sessions"] > 1 && time.Now().Before(deadline) {
		time.Sleep(sweep)
		before = measure(t, data)
	}
	t.Logf("before (after a warm-up flood of %d, reaped): %v", perWave/5, before)

	reaped := func(wave int) storeStats {
		t.Helper()
		deadline := time.Now().Add(pending + 30*time.Second)
		for {
			st := measure(t, data)
			if st.Rows["sessions"] <= before.Rows["sessions"] || time.Now().After(deadline) {
				return st
			}
			time.Sleep(sweep)
		}
	}
	var after [2]storeStats
	for wave := range 2 {
		start := time.Now()
		counts := flood(t, base, wave*perWave, perWave, clients, false)
		took := time.Since(start)
		flooded := measure(t, data)
		t.Logf("wave %d: %d new sessions in %v (%.0f/s), responses %v", wave+1, perWave, took.Round(time.Millisecond), float64(perWave)/took.Seconds(), counts)
		t.Logf("wave %d, right after: %v", wave+1, flooded)
		if counts["init 401"] != perWave*9/10 || counts["android init 401"] != perWave/10 || counts["challenge 401"] != perWave/10 {
			t.Errorf("wave %d: responses %v, want every new session challenged and %d login challenges", wave+1, counts, perWave/10)
		}
		for k, n := range counts {
			if strings.Contains(k, "error") || strings.Contains(k, " 5") || strings.Contains(k, "rate_limited") {
				t.Errorf("wave %d: %d responses %q", wave+1, n, k)
			}
		}
		after[wave] = reaped(wave)
		t.Logf("wave %d, reaped: %v", wave+1, after[wave])
		if got := after[wave].Rows["sessions"]; got > before.Rows["sessions"] {
			t.Errorf("wave %d: %d sessions left after reaping, want the %d of before", wave+1, got, before.Rows["sessions"])
		}
		if got := after[wave].Rows["nonces"]; got > 0 {
			t.Errorf("wave %d: %d nonces left after reaping", wave+1, got)
		}
	}
	// What the store keeps after reaping is what it held before, plus the records that have a
	// long life of their own (below): the file's other pages are free, and the next flood
	// reuses them. The file's size is the high-water mark of the sessions live at once, the
	// flood's rate times the pending timeout.
	for wave, st := range after {
		// The persistent users a wave adds take a page per few dozen.
		allowed := before.Pages - before.Free + 32 + (st.Rows["users"]-before.Rows["users"])/20
		if live := st.Pages - st.Free; live > allowed {
			t.Errorf("wave %d: %d pages in use after reaping, %d before; want at most %d", wave+1, live, before.Pages-before.Free, allowed)
		}
	}
	// Failed-login counters live for the failure window (an hour), one per client that failed:
	// bounded by the clients, not by the requests.
	if got := after[1].Rows["login_failures"]; got > clients+1 {
		t.Errorf("%d failed-login counters for %d clients", got, clients)
	}
	// The heap goes back near where it was: what the floods left in memory is bounded (the
	// rate limits' client table, the decoded-state cache, the wasm instances' memories).
	if grew := int64(after[1].HeapBytes) - int64(before.HeapBytes); grew > 16<<20 {
		t.Errorf("the heap grew by %d MiB over two reaped floods", grew>>20)
	}
	// Persistent users are kept (the cookie lasts a year): one per anonymous client of the
	// warm-up that came back with its anti-XSRF token (and at most one more: alice's), however
	// many requests they sent. A client whose second request a loaded machine answered late may
	// still have passed the anonymous realm, so those count as a bound, not an exact figure.
	came := warm["offers again 200"] + warm["offers again 401"]
	if got := before.Rows["users"]; got < warm["offers again 200"] || got > came+1 {
		t.Errorf("%d persistent users for %d anonymous clients (%d answered)", got, came, warm["offers again 200"])
	}
	// The peer: a daemon whose unused sessions live the idle timeout (30 minutes), as all
	// sessions did before the pending timeout. The same janitor, the same wait: the sessions
	// stay.
	peer, peerData := startTuned(t, func(s *daemon.Settings) {
		s.TrustedProxies = []string{"127.0.0.1"}
		s.Session.PendingTimeout = s.Session.IdleTimeout
		s.JanitorInterval = daemon.Duration(sweep)
	})
	flood(t, baseURL(peer), 0, perWave/5, clients, false)
	time.Sleep(pending + 4*sweep)
	kept := measure(t, peerData)
	t.Logf("peer without the pending timeout, %v after a flood of %d: %v", pending+4*sweep, perWave/5, kept)
	if kept.Rows["sessions"] != perWave/5 {
		t.Errorf("without the pending timeout %d sessions are stored after the wait, want all %d", kept.Rows["sessions"], perWave/5)
	}
	// Alice is still logged in.
	if status, body, _ := alice.do("GET", "/api/v1/session", "", x...); status != 200 || body["user"] == nil {
		t.Errorf("alice's session after the floods: %d %v", status, body)
	}
}

// retryAfter describes a response's Retry-After: "" when there is none, else whether it is a
// whole number of seconds from 1 to most (a token comes back within the refill time).
func retryAfter(t *testing.T, h http.Header, most int) string {
	v := h.Get("Retry-After")
	if v == "" {
		return ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return ", Retry-After " + v
	}
	return fmt.Sprintf(", Retry-After 1..%d s", most)
}
