package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/policies"
)

// BenchmarkProtectedRequest measures one full protected request through the HTTP handler (session
// lookup, passive realms, the decision, the response) for a client that has passed the test, and
// a plain OPA Eval of the same compiled policy and input in the same run: each alone (time and
// allocations), then interleaved in blocks for the ratio request/eval (target: at most 1.5).
func BenchmarkProtectedRequest(b *testing.B) {
	s, err := daemon.LoadSettings(exampleDir)
	if err != nil {
		b.Fatal(err)
	}
	s.Listen, s.Data = "127.0.0.1:0", b.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: exampleDir, Settings: s})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(context.Background())

	// Log in over real HTTP, then replay the session's cookies and header on the handler.
	c, err := client.New(client.Config{BaseURL: "http://" + d.Addr(), AppID: app, Environment: "mobilewebapp", AppVersion: "2.1.0"})
	if err != nil {
		b.Fatal(err)
	}
	c.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	tr := &recordingTransport{}
	c2, _ := client.New(client.Config{BaseURL: "http://" + d.Addr(), AppID: app, Environment: "mobilewebapp", AppVersion: "2.1.0",
		HTTPClient: &http.Client{Transport: tr}})
	c2.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	if _, err := c2.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	last := tr.last
	newReq := func() *http.Request {
		r := httptest.NewRequest("POST", "/api/v1/apps/BankApp/mobilewebapp/init", strings.NewReader("{}"))
		for k, v := range last.Header {
			r.Header[k] = v
		}
		return r
	}
	h := d.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newReq())
	if rec.Code != 200 {
		b.Fatalf("replayed request: %d %s", rec.Code, rec.Body)
	}
	_, ev, err := daemon.LoadProject(context.Background(), exampleDir)
	if err != nil {
		b.Fatal(err)
	}
	input := policies.Input{
		Test: "webTests", Passed: []string{"BankLogin", "wl_antiXSRFRealm"},
		App:      policies.App{ID: app, Env: "mobilewebapp", Version: "2.1.0"},
		Resource: policies.Resource{Kind: "app", Name: "BankApp/mobilewebapp", Attributes: map[string]any{"app": app, "env": "mobilewebapp"}},
		Request:  map[string]any{"method": "POST", "path": "/api/v1/apps/BankApp/mobilewebapp/init"},
	}
	ctx := context.Background()

	// The two measured alone, for their allocations, then interleaved for the ratio.
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, newReq())
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
	b.Run("eval", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.Eval(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ratio", func(b *testing.B) {
		var reqTime, evalTime time.Duration
		const block = 100
		for i := 0; i < b.N; i += block {
			n := min(block, b.N-i)
			start := time.Now()
			for j := 0; j < n; j++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, newReq())
			}
			reqTime += time.Since(start)
			start = time.Now()
			for j := 0; j < n; j++ {
				ev.Eval(ctx, input)
			}
			evalTime += time.Since(start)
		}
		b.ReportMetric(float64(reqTime.Nanoseconds())/float64(b.N), "request-ns/op")
		b.ReportMetric(float64(evalTime.Nanoseconds())/float64(b.N), "eval-ns/op")
		b.ReportMetric(float64(reqTime)/float64(evalTime), "request/eval")
	})
}

// recordingTransport remembers the last request it sent (to replay its cookies and headers).
type recordingTransport struct{ last *http.Request }

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.last = r.Clone(r.Context())
	return http.DefaultTransport.RoundTrip(r)
}
