package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/postgres"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

const crashRulesPerGen = 4

// crashUnit writes what one issuance writes: a session, a device, a certificate and an audit
// record, in one unit of work.
func crashUnit(ctx context.Context, tx store.Tx, id string) error {
	if err := tx.PutSession(ctx, store.Session{ID: id, App: "bank", Env: "android", CreatedAt: t0, ExpiresAt: later,
		State: json.RawMessage(`{"pad":"` + strings.Repeat("x", 300) + `"}`)}); err != nil {
		return err
	}
	if err := tx.PutDevice(ctx, store.Device{ID: id, Entity: "device", Status: store.DeviceActive, CreatedAt: t0, CertificateSerial: id}); err != nil {
		return err
	}
	if err := tx.PutCertificate(ctx, store.CertificateRecord{Serial: id, Entity: "device", Owner: id, IssuedAt: t0, DER: make([]byte, 700)}); err != nil {
		return err
	}
	_, err := tx.AppendAudit(ctx, store.AuditRecord{Time: t0, Actor: "system", Action: "crash.test", Target: id})
	return err
}

// TestServerCrash kills the PostgreSQL server (every process at once, no checkpoint) while
// writers commit units of work and rule replacements, restarts it, and checks that every
// acknowledged unit is there in full, that no unit is there in part, and that the rules are one
// whole generation, the last acknowledged or a later one.
func TestServerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of its own")
	}
	t.Parallel()
	c := pgtest.Start(t)
	dsn := c.NewDatabase(t)
	ctx := t.Context()
	acked := map[string]bool{}
	var lastRules string
	for round := range 3 {
		s, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 8, ConnectTimeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("round %d: open after the crash: %v", round, err)
		}
		var mu sync.Mutex
		n := 0
		killAt := 150 + 100*round
		killed := make(chan struct{})
		var once sync.Once
		ack := func(id string) {
			mu.Lock()
			defer mu.Unlock()
			acked[id] = true
			n++
			if n == killAt {
				once.Do(func() { close(killed) })
			}
		}
		stopped := func(err error) {
			// Every failure is the server going away, never a wrong answer.
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("round %d: a write failed with %v, want store.ErrUnavailable", round, err)
			}
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					id := fmt.Sprintf("r%d-w%d-%d", round, w, i)
					if err := s.Update(ctx, func(tx store.Tx) error { return crashUnit(ctx, tx, id) }); err != nil {
						stopped(err)
						return
					}
					ack(id)
				}
			})
		}
		wg.Go(func() {
			for i := 0; ; i++ {
				gen := fmt.Sprintf("r%d-g%06d", round, i)
				rules := make([]store.Rule, crashRulesPerGen)
				for j := range rules {
					rules[j] = store.Rule{Action: "notify", Message: gen, MessageID: fmt.Sprint(j)}
				}
				if err := s.PutRules(ctx, "bank", "android", rules); err != nil {
					stopped(err)
					return
				}
				mu.Lock()
				lastRules = gen
				mu.Unlock()
			}
		})
		select {
		case <-killed:
		case <-time.After(time.Minute):
			t.Fatalf("round %d: %d units in a minute", round, n)
		}
		if err := c.Kill(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		s.Close()
		t.Logf("round %d: server killed after %d acknowledged units", round, n)
		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		s, err = postgres.Open(ctx, dsn, postgres.Options{MaxConns: 2})
		if err != nil {
			t.Fatalf("round %d: open after the crash: %v", round, err)
		}
		checkCrash(t, s, acked, lastRules)
		s.Close()
		if t.Failed() {
			return
		}
	}
}

func checkCrash(t *testing.T, s store.Store, acked map[string]bool, lastRules string) {
	t.Helper()
	ctx := t.Context()
	certs, err := s.ListCertificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := s.ListAudit(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	devices, err := s.ListDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]int{}
	for _, c := range certs {
		present[c.Serial]++
	}
	for _, a := range audit {
		present[a.Target]++
	}
	for _, d := range devices {
		present[d.ID]++
	}
	for id := range present {
		if _, err := s.GetSession(ctx, id, t0); err == nil {
			present[id]++
		}
	}
	for id, parts := range present {
		if parts != 4 {
			t.Errorf("unit %s is there in part: %d of its 4 records", id, parts)
		}
	}
	for id := range acked {
		if present[id] != 4 {
			t.Errorf("acknowledged unit %s: %d of its 4 records", id, present[id])
		}
	}
	rules, err := s.GetRules(ctx, "bank", "android")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != crashRulesPerGen {
		t.Fatalf("%d rules after the crash, want %d", len(rules), crashRulesPerGen)
	}
	for _, r := range rules {
		if r.Message != rules[0].Message {
			t.Fatalf("rules after the crash mix generations: %+v", rules)
		}
	}
	if rules[0].Message < lastRules {
		t.Errorf("rules after the crash are generation %s, older than the acknowledged %s", rules[0].Message, lastRules)
	}
}
