package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// BenchmarkAuthorize measures a whole Authorize call for a session that already passed the test
// (session read from SQLite, passive realms, memoized decision, identities), beside three peers
// given the same policy input in the same run: the plain Evaluator.Eval (the typed input
// converted, one prepared evaluation, no memo), the same modules prepared with OPA's rego package
// alone and evaluated with rego.EvalInput of the input as a map (what a program embedding OPA
// does), and the memoized Evaluator.Decide. Metrics: x-eval, x-opa and x-decide are Authorize's
// time over theirs; eval-ns/op, opa-ns/op, decide-ns/op and eval-allocs/op are the peers' own.
// store-read-ns/op is the session's read from the store alone, which Authorize cannot go below.
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
		opa := rawOPA(b, l.project, input)
		if d, err := opa(b.Context()); err != nil || d.Outcome != policies.Allow {
			b.Fatalf("OPA's evaluation of the recorded input: %+v %v", d, err)
		}
		l.discard.Store(true)
		req := engine.AccessRequest{App: c.app, SessionID: c.sid, Resource: c.resource(tc.test), Passive: c.passive()}
		// The session's read from the store alone, the part of Authorize that is the store's.
		sum := sha256.Sum256([]byte(c.sid))
		key := hex.EncodeToString(sum[:])
		read := func(ctx context.Context) (policies.Decision, error) {
			_, err := l.db.GetSession(ctx, key, l.clock.Now())
			return policies.Decision{Outcome: policies.Allow}, err
		}

		b.Run(tc.name, func(b *testing.B) {
			ctx := b.Context()
			var eval, raw, decide, store peer
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
				raw.run(b, n, func() (policies.Decision, error) { return opa(ctx) })
				decide.run(b, n, func() (policies.Decision, error) { return l.eval.Decide(ctx, input) })
				store.run(b, n, func() (policies.Decision, error) { return read(ctx) })
				b.StartTimer()
			}
			authorizeNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(eval.nsPerOp(), "eval-ns/op")
			b.ReportMetric(eval.allocsPerOp(), "eval-allocs/op")
			b.ReportMetric(authorizeNs/eval.nsPerOp(), "x-eval")
			b.ReportMetric(raw.nsPerOp(), "opa-ns/op")
			b.ReportMetric(authorizeNs/raw.nsPerOp(), "x-opa")
			b.ReportMetric(decide.nsPerOp(), "decide-ns/op")
			b.ReportMetric(authorizeNs/decide.nsPerOp(), "x-decide")
			b.ReportMetric(store.nsPerOp(), "store-read-ns/op")
		})
	}
}

// rawOPA prepares the project's compiled policies with OPA's rego package alone and returns an
// evaluation of in as a program embedding OPA would make it: rego.EvalInput of a map.
func rawOPA(b *testing.B, p *project.Project, in policies.Input) func(context.Context) (policies.Decision, error) {
	b.Helper()
	mods, err := policies.CompileRego(p)
	if err != nil {
		b.Fatal(err)
	}
	opts := []func(*rego.Rego){rego.Query(policies.Query), rego.SetRegoVersion(ast.RegoV1)}
	for _, m := range mods {
		opts = append(opts, rego.Module(m.Path, m.Source))
	}
	pq, err := rego.New(opts...).PrepareForEval(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	input := map[string]any{
		"test":     in.Test,
		"passed":   in.Passed,
		"app":      map[string]any{"id": in.App.ID, "env": in.App.Env, "version": in.App.Version},
		"resource": map[string]any{"kind": in.Resource.Kind, "name": in.Resource.Name, "attributes": in.Resource.Attributes},
		"request":  in.Request,
	}
	return func(ctx context.Context) (policies.Decision, error) {
		rs, err := pq.Eval(ctx, rego.EvalInput(input))
		if err != nil || len(rs) != 1 || len(rs[0].Expressions) != 1 {
			return policies.Decision{}, fmt.Errorf("%v %v", rs, err)
		}
		m, _ := rs[0].Expressions[0].Value.(map[string]any)
		outcome, _ := m["outcome"].(string)
		return policies.Decision{Outcome: outcome}, nil
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
