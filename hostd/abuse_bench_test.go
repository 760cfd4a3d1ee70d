package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// BenchmarkNewSessionRateLimits measures what the rate limits cost a request that makes a
// session (the request a flood sends): the same init, without a session, from one of 4096
// clients forwarded by a trusted proxy, on a daemon with the per-client and per-realm limits
// (set too high to be met) and on one with none, interleaved in blocks of ten so that both see
// the same machine; limited/unlimited is the ratio of their times.
func BenchmarkNewSessionRateLimits(b *testing.B) {
	start := func(limited bool) *daemon.Daemon {
		s, err := daemon.LoadSettings(exampleDir)
		if err != nil {
			b.Fatal(err)
		}
		s.Listen, s.Data = "127.0.0.1:0", b.TempDir()
		s.TrustedProxies = []string{"192.0.2.0/24"} // httptest's peer
		if !limited {
			s.Limits.AnswersPerClient, s.Limits.AnswersPerRealm = 0, 0
		} else {
			s.Limits.AnswersPerClient = 1e6 // measured, never met
		}
		d, err := daemon.Start(b.Context(), daemon.Options{ConfigDir: exampleDir, Settings: s})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Shutdown(b.Context()) })
		return d
	}
	limited, unlimited := start(true).Handler(), start(false).Handler()
	var n int
	req := func() *http.Request {
		n++
		r := httptest.NewRequest("POST", "/api/v1/apps/BankApp/mobilewebapp/init", strings.NewReader("{}"))
		r.Header.Set("WL-App-Id", app)
		r.Header.Set("WL-App-Environment", "mobilewebapp")
		r.Header.Set("WL-App-Version", "2.1.0")
		r.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d, 192.0.2.9", n/64%64, n%64))
		return r
	}
	var spent [2]time.Duration
	const block = 10
	for i := 0; b.Loop(); i++ {
		h := limited
		if i/block%2 == 1 {
			h = unlimited
		}
		t0 := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req())
		spent[i/block%2] += time.Since(t0)
		if rec.Code != 401 {
			b.Fatalf("init: %d %s", rec.Code, rec.Body)
		}
	}
	if spent[1] > 0 {
		b.ReportMetric(float64(spent[0])/float64(spent[1]), "limited/unlimited")
	}
}
