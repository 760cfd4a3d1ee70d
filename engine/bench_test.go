package engine_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// BenchmarkAuthorize measures a whole Authorize call for a session that already passed the test
// (session read from SQLite, passive realms, memoized decision, identities), beside the plain
// Evaluator.Eval and the memoized Evaluator.Decide of the same policy input in the same run.
// Metrics: x-eval and x-decide are Authorize's time over theirs; eval-ns/op, decide-ns/op and
// their allocs/op are the peers' own figures.
func BenchmarkAuthorize(b *testing.B) {
	for _, tc := range []struct {
		name, env, test string
		// pass makes the client pass the test.
		pass func(b *testing.B, c *client)
	}{
		{"web", "mobilewebapp", "web", func(b *testing.B, c *client) {
			c.mustChallenge("web")
		}},
		{"steps", "android", "steps", func(b *testing.B, c *client) {
			c.mustChallenge("steps")
			c.mustChallenge("steps")
			c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
			c.mustChallenge("steps")
			c.mustSucceed("PinRealm", `{"username":"alice","password":"`+alicePIN+`"}`)
		}},
		{"mobile", "android", "mobile", func(b *testing.B, c *client) {
			if err := c.l.eng.SetRules(b.Context(), "admin", labApp, "android", []store.Rule{
				{Versions: "<2.0.0", Action: "block", Message: "update"},
				{Versions: "<2.1.0", Action: "notify", Message: "please update"},
			}); err != nil {
				b.Fatal(err)
			}
			c.mustChallenge("mobile")
			ch := c.mustChallenge("mobile")
			n := ch.Challenges[project.RealmDeviceNoProvision]["token"].(string)
			c.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"bench-device","os":"android"}}`)
		}},
	} {
		l := newLab(b)
		c := l.client(tc.env, "2.1.0")
		tc.pass(b, c)
		if acc := c.mustAllow(tc.test); acc.User == nil {
			b.Fatal("no user identity")
		}
		recs := l.records()
		last := recs[len(recs)-1]
		// The input the engine gave the policy for the allowed request.
		input := policies.Input{
			Test:     tc.test,
			Passed:   last.Passed,
			App:      policies.App{ID: c.app.App, Env: c.app.Env, Version: c.app.Version},
			Resource: policies.Resource{Kind: engine.ResourceApp, Name: c.app.App + "/" + c.app.Env},
		}
		if d, err := l.eval.Eval(b.Context(), input); err != nil || d.Outcome != policies.Allow {
			b.Fatalf("Eval of the recorded input: %+v %v", d, err)
		}
		l.discard.Store(true)
		req := engine.AccessRequest{App: c.app, SessionID: c.sid, Resource: c.resource(tc.test), Passive: c.passive()}

		b.Run(tc.name, func(b *testing.B) {
			ctx := b.Context()
			var eval, decide peer
			// The peers run in slices between slices of Authorize calls, with the timer stopped,
			// so that all three see the same load on the machine.
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(max(1, b.N/10), b.N-done)
				for range n {
					acc, err := l.eng.Authorize(ctx, req)
					if err != nil || !acc.Allowed {
						b.Fatalf("%+v %v", acc, err)
					}
				}
				done += n
				b.StopTimer()
				eval.run(b, n, func() (policies.Decision, error) { return l.eval.Eval(ctx, input) })
				decide.run(b, n, func() (policies.Decision, error) { return l.eval.Decide(ctx, input) })
				b.StartTimer()
			}
			authorizeNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(eval.nsPerOp(), "eval-ns/op")
			b.ReportMetric(eval.allocsPerOp(), "eval-allocs/op")
			b.ReportMetric(authorizeNs/eval.nsPerOp(), "x-eval")
			b.ReportMetric(decide.nsPerOp(), "decide-ns/op")
			b.ReportMetric(authorizeNs/decide.nsPerOp(), "x-decide")
		})
	}
}

// peer accumulates the time and allocations of a peer measured beside a benchmark.
type peer struct {
	n       int
	elapsed time.Duration
	mallocs uint64
}

// run calls f n times.
func (p *peer) run(b *testing.B, n int, f func() (policies.Decision, error)) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for range n {
		if d, err := f(); err != nil || d.Outcome != policies.Allow {
			b.Fatalf("%+v %v", d, err)
		}
	}
	p.elapsed += time.Since(start)
	runtime.ReadMemStats(&m1)
	p.mallocs += m1.Mallocs - m0.Mallocs
	p.n += n
}

func (p *peer) nsPerOp() float64     { return float64(p.elapsed.Nanoseconds()) / float64(p.n) }
func (p *peer) allocsPerOp() float64 { return float64(p.mallocs) / float64(p.n) }
