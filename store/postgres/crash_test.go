package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
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

// The client-crash test re-executes this test binary as a writer process (TestClientCrashChild
// with clientCrashEnv set to a DSN), reads the units it reports as committed, kills it with
// SIGKILL in the middle of writing, and checks the database: the server rolls back whatever the
// dead process had not committed.
const clientCrashEnv = "REALMGATE_PG_CRASH_CHILD_DSN"

// TestClientCrashChild is the writer process of TestClientCrash; run directly it does nothing.
func TestClientCrashChild(t *testing.T) {
	dsn := os.Getenv(clientCrashEnv)
	if dsn == "" {
		t.Skip("runs only as the child process of TestClientCrash")
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 4})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	deadline := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("c-w%d-%d", w, i)
				if err := s.Update(ctx, func(tx store.Tx) error { return crashUnit(ctx, tx, id) }); err != nil {
					fmt.Fprintln(os.Stderr, "update:", err)
					os.Exit(4)
				}
				outMu.Lock()
				// One write(2) per line: a line the parent reads was reported after its commit.
				_, err := os.Stdout.WriteString("unit " + id + "\n")
				outMu.Unlock()
				if err != nil {
					os.Exit(3)
				}
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

// TestClientCrash kills a writer process (a daemon) with SIGKILL while it commits units of
// work: every unit it reported is there in full, and none is there in part.
func TestClientCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process")
	}
	t.Parallel()
	dsn := pgtest.Shared(t).NewDatabase(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestClientCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), clientCrashEnv+"="+dsn)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "unit ")
		if !ok {
			t.Errorf("child printed %q", sc.Text())
			continue
		}
		acked[id] = true
		if len(acked) == 300 {
			// Lines already in the pipe are still read: each is a committed unit.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v before it was killed (after %d units); stderr:\n%s", err, len(acked), stderr.String())
	}
	t.Logf("writer killed after %d reported units", len(acked))
	s, err := postgres.Open(t.Context(), dsn, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// No rules were written: put one generation so that checkCrash's rule check holds.
	rules := make([]store.Rule, crashRulesPerGen)
	for i := range rules {
		rules[i] = store.Rule{Action: "notify", Message: "g"}
	}
	if err := s.PutRules(t.Context(), "bank", "android", rules); err != nil {
		t.Fatal(err)
	}
	checkCrash(t, s, acked, "g")
}
