package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"
)

// fakeClock is a clock a test advances.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestRateLimitsPerClient(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	l := newLimiter(RateLimits{AnswersPerClient: 0.5, ClientBurst: 3}, clock.now)
	var got []string
	for range 5 {
		if err := l.answer("198.51.100.1", "R"); err != nil {
			got = append(got, fmt.Sprintf("%s %v", err.Code, err.RetryAfter))
		} else {
			got = append(got, "ok")
		}
	}
	// Another client has its own bucket; an IPv6 client is counted by its /64.
	got = append(got, fmt.Sprint(l.answer("198.51.100.2", "R") == nil))
	for range 3 {
		l.answer("2001:db8:1:2::1", "R")
	}
	got = append(got, fmt.Sprint(l.answer("2001:db8:1:2:ffff::9", "R") == nil))
	// One token back after 2 s (0.5/s): Retry-After was rounded up to it.
	clock.advance(2 * time.Second)
	got = append(got, fmt.Sprint(l.answer("198.51.100.1", "R") == nil), fmt.Sprint(l.answer("198.51.100.1", "R") == nil))
	want := []string{"ok", "ok", "ok", "rate_limited 2s", "rate_limited 2s", "true", "false", "true", "false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRateLimitsPerRealm(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	l := newLimiter(RateLimits{AnswersPerClient: 1, ClientBurst: 2, AnswersPerRealm: 0.25, RealmBurst: 4}, clock.now)
	var got []bool
	for i := range 5 { // five clients, one answer each, one realm
		got = append(got, l.answer(fmt.Sprintf("198.51.100.%d", i), "Busy") == nil)
	}
	// The realm refused the fifth: its client's token was not spent.
	got = append(got, l.answer("198.51.100.4", "Other") == nil, l.answer("198.51.100.4", "Other") == nil)
	// Session creation spends no realm's token.
	got = append(got, l.newSession("198.51.100.9") == nil)
	if diff := cmp.Diff([]bool{true, true, true, true, false, true, true, true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := l.answer("198.51.100.8", "Busy"); err == nil || err.RetryAfter != 4*time.Second {
		t.Errorf("realm over its limit: %+v, want Retry-After 4s", err)
	}
}

// TestRateLimitClientTableIsBounded: clients from more addresses than the table holds never
// grow it past its bound; clients whose bucket refilled are forgotten first, and a client that
// is spending its bucket is kept while there are such clients to forget.
func TestRateLimitClientTableIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	l := newLimiter(RateLimits{AnswersPerClient: 1, ClientBurst: 2, MaxClients: 1000}, clock.now)
	l.answer("192.0.2.1", "")
	l.answer("192.0.2.1", "") // its bucket is empty
	maxSeen := 0
	for i := range 20000 {
		if i%500 == 0 {
			clock.advance(time.Second)
			l.answer("192.0.2.1", "") // spends the token that came back: stays empty
		}
		l.answer(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "")
		maxSeen = max(maxSeen, l.trackedClients())
	}
	if maxSeen > 1000 {
		t.Errorf("the table held %d clients, more than its bound of 1000", maxSeen)
	}
	if err := l.answer("192.0.2.1", ""); err == nil {
		t.Error("a client that kept its bucket empty was forgotten (given a fresh bucket) while refilled ones were there to forget")
	}
}

// TestRateLimitedResponse: 429 with Retry-After in whole seconds and the protocol's error body.
func TestRateLimitedResponse(t *testing.T) {
	s := New(Options{})
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest(http.MethodPost, "/api/v1/auth/R", nil), limitedError("too many answers", 1500*time.Millisecond))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Errorf("status %d, Retry-After %q; want 429 and 2", rec.Code, rec.Header().Get("Retry-After"))
	}
	want := `{"error":"rate_limited","message":"too many answers: try again in 2 s","retryAfter":2}` + "\n"
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestRateLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		l  RateLimits
		ok bool
	}{
		{RateLimits{}, true},
		{RateLimits{AnswersPerClient: 20, ClientBurst: 100, AnswersPerRealm: 2000, RealmBurst: 4000}, true},
		{RateLimits{AnswersPerClient: 20}, false},
		{RateLimits{AnswersPerRealm: 1}, false},
		{RateLimits{AnswersPerClient: -1, ClientBurst: 1}, false},
		{RateLimits{MaxClients: -1}, false},
	} {
		if err := tc.l.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.l, err, tc.ok)
		}
	}
}

// BenchmarkLimiterAnswer: what an answer's check costs (the client table, the realm's bucket,
// the lock) against a bare token bucket's Allow, its peer: "limiter" and "bucket" run one after
// the other in the same run.
func BenchmarkLimiterAnswer(b *testing.B) {
	clients := make([]string, 4096)
	for i := range clients {
		clients[i] = fmt.Sprintf("198.18.%d.%d", i/256, i%256)
	}
	b.Run("limiter", func(b *testing.B) {
		l := newLimiter(RateLimits{AnswersPerClient: 1e9, ClientBurst: 1e9, AnswersPerRealm: 1e9, RealmBurst: 1e9}, nil)
		i := 0
		for b.Loop() {
			if l.answer(clients[i%len(clients)], "BankLogin") != nil {
				b.Fatal("limited")
			}
			i++
		}
	})
	b.Run("bucket", func(b *testing.B) {
		r := rate.NewLimiter(1e9, 1e9)
		for b.Loop() {
			if !r.Allow() {
				b.Fatal("limited")
			}
		}
	})
}
