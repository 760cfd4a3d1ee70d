package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

var ruleTests = []test{
	{"ReplaceAndClear", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		get := func(app, env string) []store.Rule {
			t.Helper()
			got, err := s.GetRules(ctx, app, env)
			must(t, "GetRules "+app+"/"+env, err)
			return got
		}
		diff(t, "rules before any put", []store.Rule(nil), get("bank", "android"))

		three := []store.Rule{
			{Versions: "<1.0.0", Action: "block", Message: "Please upgrade", DownloadLink: "https://example.com/app"},
			{Versions: ">=1.0, <1.4", Action: "notify", Message: "New version «1.4» available", MessageID: "m-14"},
			{Action: "notify", Message: "Maintenance tonight", MessageID: "m-maint"},
		}
		must(t, "PutRules three", s.PutRules(ctx, "bank", "android", three))
		other := []store.Rule{{Versions: "<2.0.0", Action: "block", Message: "iOS"}}
		must(t, "PutRules other env", s.PutRules(ctx, "bank", "iphone", other))
		diff(t, "rules in put order", three, get("bank", "android"))
		diff(t, "rules of the other env", other, get("bank", "iphone"))
		diff(t, "rules of an unknown app", []store.Rule(nil), get("bank2", "android"))

		one := []store.Rule{{Versions: "<3", Action: "block", Message: "replaced"}}
		must(t, "PutRules one", s.PutRules(ctx, "bank", "android", one))
		diff(t, "rules after replacement", one, get("bank", "android"))
		diff(t, "other env untouched", other, get("bank", "iphone"))

		// Duplicate rules are kept as given: the list is the admin's, not a set.
		dup := []store.Rule{one[0], one[0]}
		must(t, "PutRules duplicates", s.PutRules(ctx, "bank", "android", dup))
		diff(t, "duplicate rules", dup, get("bank", "android"))

		must(t, "PutRules empty", s.PutRules(ctx, "bank", "android", []store.Rule{}))
		diff(t, "rules after clearing", []store.Rule(nil), get("bank", "android"))
		must(t, "PutRules nil", s.PutRules(ctx, "bank", "iphone", nil))
		diff(t, "rules after clearing with nil", []store.Rule(nil), get("bank", "iphone"))
	}},
	{"ManyRules", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var rules []store.Rule
		for i := range 200 {
			rules = append(rules, store.Rule{Versions: fmt.Sprintf("<%d.0.0", i), Action: "notify", Message: fmt.Sprint(i), MessageID: fmt.Sprint("m", i)})
		}
		must(t, "PutRules", s.PutRules(ctx, "a", "e", rules))
		got, err := s.GetRules(ctx, "a", "e")
		must(t, "GetRules", err)
		diff(t, "200 rules in order", rules, got)
	}},
}

func nonce(value string, exp time.Time) store.Nonce {
	return store.Nonce{Value: value, SessionID: "sess-1", Realm: "wl_deviceNoProvisioningRealm", ExpiresAt: exp}
}

var nonceTests = []test{
	{"ConsumeOnce", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		n := nonce("n1", base.Add(time.Minute))
		must(t, "PutNonce", s.PutNonce(ctx, n))
		must(t, "ConsumeNonce", s.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, base))
		wantErr(t, "second ConsumeNonce", s.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, base), store.ErrNotFound)
	}},
	{"Refused", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		exp := norm(base.Add(time.Minute))
		n := nonce("n1", exp)
		must(t, "PutNonce", s.PutNonce(ctx, n))
		// None of these consumes the nonce: each is refused and the owner can still use it.
		cases := []struct {
			name                  string
			value, session, realm string
			now                   time.Time
		}{
			{"wrong session", n.Value, "sess-2", n.Realm, base},
			{"wrong realm", n.Value, n.SessionID, "otherRealm", base},
			{"empty session", n.Value, "", n.Realm, base},
			{"value prefix", "n", n.SessionID, n.Realm, base},
			{"value in other case", "N1", n.SessionID, n.Realm, base},
			{"unknown value", "n2", n.SessionID, n.Realm, base},
			{"at ExpiresAt", n.Value, n.SessionID, n.Realm, exp},
			{"sub-precision after ExpiresAt", n.Value, n.SessionID, n.Realm, exp.Add(Precision / 2)},
			{"after ExpiresAt", n.Value, n.SessionID, n.Realm, exp.Add(time.Hour)},
		}
		for _, c := range cases {
			wantErr(t, "ConsumeNonce "+c.name, s.ConsumeNonce(ctx, c.value, c.session, c.realm, c.now), store.ErrNotFound)
		}
		must(t, "ConsumeNonce by its owner one step before expiry",
			s.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, exp.Add(-Precision)))
	}},
	{"Conflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		n := nonce("n1", base.Add(time.Minute))
		must(t, "PutNonce", s.PutNonce(ctx, n))
		rebind := n
		rebind.SessionID = "attacker"
		wantErr(t, "PutNonce with an existing value", s.PutNonce(ctx, rebind), store.ErrConflict)
		wantErr(t, "ConsumeNonce by the would-be new owner",
			s.ConsumeNonce(ctx, n.Value, "attacker", n.Realm, base), store.ErrNotFound)
		must(t, "ConsumeNonce by the owner", s.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, base))
		// Once consumed, the value may be stored again.
		must(t, "PutNonce after consumption", s.PutNonce(ctx, n))
	}},
	{"Invalid", func(t *testing.T, s store.Store) {
		wantErr(t, "PutNonce with empty value", s.PutNonce(t.Context(), nonce("", base.Add(time.Minute))), store.ErrInvalid)
	}},
	{"DeleteExpired", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		now := norm(base)
		exps := map[string]time.Time{
			"old": now.Add(-time.Hour), "recent": now.Add(-Precision), "boundary": now,
			"soon": now.Add(Precision), "later": now.Add(time.Hour),
		}
		for v, exp := range exps {
			must(t, "PutNonce "+v, s.PutNonce(ctx, nonce(v, exp)))
		}
		n, err := s.DeleteExpiredNonces(ctx, now)
		must(t, "DeleteExpiredNonces", err)
		diff(t, "deleted count", 3, n)
		n, err = s.DeleteExpiredNonces(ctx, now)
		must(t, "DeleteExpiredNonces again", err)
		diff(t, "deleted count the second time", 0, n)
		for v, exp := range exps {
			// Consume at a "now" where every nonce would be live, to see what is stored.
			err := s.ConsumeNonce(ctx, v, "sess-1", "wl_deviceNoProvisioningRealm", now.Add(-2*time.Hour))
			if exp.After(now) {
				must(t, "ConsumeNonce of kept "+v, err)
			} else {
				wantErr(t, "ConsumeNonce of removed "+v, err, store.ErrNotFound)
			}
		}
	}},
	{"ConcurrentConsumers", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const rounds, consumers = 10, 16
		for r := range rounds {
			n := nonce(fmt.Sprint("race-", r), base.Add(time.Minute))
			must(t, "PutNonce", s.PutNonce(ctx, n))
			start := make(chan struct{})
			results := make(chan error, consumers)
			var wg sync.WaitGroup
			for range consumers {
				wg.Go(func() {
					<-start
					results <- s.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, base)
				})
			}
			close(start)
			wg.Wait()
			close(results)
			won := 0
			for err := range results {
				switch {
				case err == nil:
					won++
				case errors.Is(err, store.ErrNotFound):
				default:
					t.Errorf("round %d: ConsumeNonce: unexpected error %v", r, err)
				}
			}
			if won != 1 {
				t.Errorf("round %d: %d of %d concurrent consumers succeeded, want exactly 1", r, won, consumers)
			}
		}
	}},
}
