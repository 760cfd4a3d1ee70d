package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/sqlite"
)

// The crash test re-executes this test binary as a writer process (TestCrashChild with
// crashChildEnv set), reads the writes it reports as committed, kills it with SIGKILL in the
// middle of writing, and checks the reopened database.
const (
	crashChildEnv = "REALMGATE_SQLITE_CRASH_CHILD"
	crashRoundEnv = "REALMGATE_SQLITE_CRASH_ROUND"
	rulesPerGen   = 4
)

var crashTime = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// TestCrashChild is the writer process of TestCrashKill9; run directly it does nothing.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs only as the child process of TestCrashKill9")
	}
	round := os.Getenv(crashRoundEnv)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	report := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		outMu.Lock()
		defer outMu.Unlock()
		// One write(2) per line, straight to the pipe: a line the parent reads was reported
		// after its write returned.
		if _, err := os.Stdout.WriteString(line); err != nil {
			os.Exit(3)
		}
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(4)
	}
	// Four writers with different kinds of write, so that the kill lands in the middle of
	// some transaction, a checkpoint or a multi-row replacement. Bounded in case the parent
	// never kills it.
	deadline := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; time.Now().Before(deadline); i++ {
			id := fmt.Sprintf("r%s-s%d", round, i)
			sess := store.Session{ID: id, App: "bank", Env: "android", CreatedAt: crashTime, ExpiresAt: crashTime.Add(time.Hour),
				State: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", 500)))}
			if err := s.PutSession(ctx, sess); err != nil {
				fail(err)
			}
			report("session %s", id)
		}
	})
	wg.Go(func() {
		for i := 0; time.Now().Before(deadline); i++ {
			target := fmt.Sprintf("r%s-a%d", round, i)
			id, err := s.AppendAudit(ctx, store.AuditRecord{Time: crashTime, Actor: "system", Action: "crash.test", Target: target,
				Detail: json.RawMessage(`{"i":` + strconv.Itoa(i) + `}`)})
			if err != nil {
				fail(err)
			}
			report("audit %d %s", id, target)
		}
	})
	wg.Go(func() {
		for i := 0; time.Now().Before(deadline); i++ {
			serial := fmt.Sprintf("%s%06x", round, i)
			c := store.CertificateRecord{Serial: serial, Entity: "device", Owner: "d", IssuedAt: crashTime, DER: make([]byte, 700)}
			if err := s.PutCertificate(ctx, c); err != nil {
				fail(err)
			}
			if err := s.RevokeCertificate(ctx, serial, "superseded", crashTime); err != nil {
				fail(err)
			}
			report("revoked %s", serial)
		}
	})
	wg.Go(func() {
		for i := 0; time.Now().Before(deadline); i++ {
			gen := fmt.Sprintf("r%s-g%d", round, i)
			rules := make([]store.Rule, rulesPerGen)
			for j := range rules {
				rules[j] = store.Rule{Versions: "<9", Action: "notify", Message: gen, MessageID: strconv.Itoa(j)}
			}
			if err := s.PutRules(ctx, "bank", "android", rules); err != nil {
				fail(err)
			}
			report("rules %s", gen)
		}
	})
	// Units of work from several writers at once, so that the kill also lands in the middle
	// of a batch of them (group commit). Every fifth unit fails after its writes on purpose.
	for k := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("r%s-u%d-%d", round, k, i)
				err := s.Update(ctx, func(tx store.Tx) error { return unitWrites(ctx, tx, id, i%5 == 4) })
				switch {
				case err == nil:
					report("unit %s", id)
				case errors.Is(err, errDeliberate):
					report("failed %s", id)
				default:
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

var errDeliberate = errors.New("the unit fails on purpose")

// unitWrites writes one provisioning's records (certificate, device, session, audit) for id,
// and fails after them when fail is set.
func unitWrites(ctx context.Context, tx store.Tx, id string, fail bool) error {
	if err := tx.PutCertificate(ctx, store.CertificateRecord{Serial: "u" + id, Entity: "device", Owner: id, IssuedAt: crashTime, DER: make([]byte, 500)}); err != nil {
		return err
	}
	if err := tx.PutDevice(ctx, store.Device{ID: id, Entity: "device", Status: store.DeviceActive, CreatedAt: crashTime, CertificateSerial: "u" + id}); err != nil {
		return err
	}
	if err := tx.PutSession(ctx, store.Session{ID: "us-" + id, App: "bank", Env: "android", CreatedAt: crashTime, ExpiresAt: crashTime.Add(time.Hour)}); err != nil {
		return err
	}
	if _, err := tx.AppendAudit(ctx, store.AuditRecord{Time: crashTime, Actor: "system", Action: "crash.unit", Target: id}); err != nil {
		return err
	}
	if fail {
		return errDeliberate
	}
	return nil
}

type reported struct {
	sessions, revoked []string
	units, failed     []string
	audit             map[int64]string
	lastRules         string
	lines             int
}

// runAndKill starts the writer, lets it report kill writes, kills it with SIGKILL and returns
// everything it reported before it died.
func runAndKill(t *testing.T, path string, round, kill int) reported {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rep := reported{audit: map[int64]string{}}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "session":
			rep.sessions = append(rep.sessions, f[1])
		case len(f) == 2 && f[0] == "revoked":
			rep.revoked = append(rep.revoked, f[1])
		case len(f) == 2 && f[0] == "unit":
			rep.units = append(rep.units, f[1])
		case len(f) == 2 && f[0] == "failed":
			rep.failed = append(rep.failed, f[1])
		case len(f) == 2 && f[0] == "rules":
			rep.lastRules = f[1]
		case len(f) == 3 && f[0] == "audit":
			id, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("child reported %q", sc.Text())
			}
			rep.audit[id] = f[2]
		default:
			t.Errorf("child printed %q", sc.Text())
			continue
		}
		rep.lines++
		if rep.lines == kill && !killed {
			// Lines already in the pipe, and any the child writes before the signal lands,
			// are still read below: every one of them is a committed write.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v before it was killed (after %d writes); stderr:\n%s", err, rep.lines, stderr.String())
	}
	return rep
}

func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns writer processes")
	}
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	const rounds = 4
	var allSessions, allRevoked, allUnits, allFailed []string
	allAudit := map[int64]string{}
	for round := range rounds {
		// Kill at a different point in each round; the later rounds also recover from the
		// earlier crashes before writing.
		rep := runAndKill(t, path, round, 400+round*350)
		t.Logf("round %d: killed after %d reported writes (%d units of work, %d failed on purpose)", round, rep.lines, len(rep.units), len(rep.failed))
		allSessions = append(allSessions, rep.sessions...)
		allRevoked = append(allRevoked, rep.revoked...)
		allUnits = append(allUnits, rep.units...)
		allFailed = append(allFailed, rep.failed...)
		for id, target := range rep.audit {
			allAudit[id] = target
		}

		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		checkCrashState(t, s, path, allSessions, allRevoked, allAudit, rep.lastRules)
		checkCrashUnits(t, s, allUnits, allFailed)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
}

func checkCrashState(t *testing.T, s *sqlite.Store, path string, sessions, revoked []string, audit map[int64]string, lastRules string) {
	t.Helper()
	ctx := t.Context()
	for _, id := range sessions {
		if _, err := s.GetSession(ctx, id, crashTime); err != nil {
			t.Errorf("reported session %s: %v", id, err)
		}
	}
	for _, serial := range revoked {
		c, err := s.GetCertificate(ctx, serial)
		if err != nil || c.RevokedAt == nil {
			t.Errorf("reported revocation of %s: %+v, %v", serial, c.RevokedAt, err)
		}
	}
	recs, err := s.ListAudit(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]string{}
	for _, r := range recs {
		byID[r.ID] = r.Target
	}
	for id, target := range audit {
		if byID[id] != target {
			t.Errorf("reported audit record %d (%s): found %q", id, target, byID[id])
		}
	}
	// A replacement is all or nothing: the stored rules are one generation, the last one
	// reported or a later one that committed before its report could be written.
	rules, err := s.GetRules(ctx, "bank", "android")
	if err != nil {
		t.Fatal(err)
	}
	if lastRules != "" {
		if len(rules) != rulesPerGen {
			t.Fatalf("%d rules after the crash, want %d: %+v", len(rules), rulesPerGen, rules)
		}
		for _, r := range rules {
			if r.Message != rules[0].Message {
				t.Errorf("rules after the crash mix generations: %+v", rules)
				break
			}
		}
		if gen(t, rules[0].Message) < gen(t, lastRules) {
			t.Errorf("rules after the crash are generation %s, older than the reported %s", rules[0].Message, lastRules)
		}
	}

	var check string
	if err := rawQueryRow(t, path, "PRAGMA integrity_check", &check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
}

// checkCrashUnits checks the units of work after a crash: every unit reported committed is there
// whole, every unit that failed left nothing, and no unit, reported or cut off by the kill, is
// there in part.
func checkCrashUnits(t *testing.T, s *sqlite.Store, units, failed []string) {
	t.Helper()
	ctx := t.Context()
	if len(units) == 0 {
		t.Errorf("no unit of work was reported before the kill")
	}
	whole := func(id string) (found int) {
		if _, err := s.GetCertificate(ctx, "u"+id); err == nil {
			found++
		}
		if d, err := s.GetDevice(ctx, id, "device"); err == nil && d.CertificateSerial == "u"+id {
			found++
		}
		if _, err := s.GetSession(ctx, "us-"+id, crashTime); err == nil {
			found++
		}
		return found
	}
	for _, id := range units {
		if n := whole(id); n != 3 {
			t.Errorf("unit %s reported committed: %d of its 3 records found", id, n)
		}
	}
	for _, id := range failed {
		if n := whole(id); n != 0 {
			t.Errorf("unit %s failed: %d of its records found, want none", id, n)
		}
	}
	devs, err := s.ListDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := s.ListCertificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, d := range devs {
		ids[d.ID] = true
	}
	for _, c := range certs {
		if strings.HasPrefix(c.Serial, "ur") {
			ids[c.Owner] = true
		}
	}
	for id := range ids {
		if n := whole(id); n != 3 {
			t.Errorf("unit %s is in the store in part: %d of its 3 records", id, n)
		}
	}
}

// gen orders generation names "r<round>-g<i>".
func gen(t *testing.T, name string) int {
	t.Helper()
	var r, i int
	if _, err := fmt.Sscanf(name, "r%d-g%d", &r, &i); err != nil {
		t.Fatalf("generation %q: %v", name, err)
	}
	return r*1_000_000 + i
}

// rawQueryRow runs one query on its own connection to path, outside the store.
func rawQueryRow(t *testing.T, path, query string, dest ...any) error {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.QueryRowContext(t.Context(), query).Scan(dest...)
}
