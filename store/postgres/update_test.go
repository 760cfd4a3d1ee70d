package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/postgres"
)

var (
	t0     = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	later  = t0.Add(time.Hour)
	errFn  = errors.New("the unit's own error")
	device = store.Device{ID: "d1", Entity: "device", Status: store.DeviceActive, CreatedAt: t0, LastSeen: t0}
	cert   = store.CertificateRecord{Serial: "0a", Entity: "device", Owner: "d1", IssuedAt: t0, DER: []byte{0x30}}
)

// writeAll writes one record of each kind through tx, as one answer of a client would.
func writeAll(ctx context.Context, tx store.Tx) error {
	steps := []func() error{
		func() error {
			return tx.PutSession(ctx, store.Session{ID: "s1", App: "bank", Env: "android", CreatedAt: t0, ExpiresAt: later})
		},
		func() error {
			return tx.PutNonce(ctx, store.Nonce{Value: "n1", SessionID: "s1", Realm: "r", ExpiresAt: later})
		},
		func() error { return tx.PutDevice(ctx, device) },
		func() error { return tx.PutCertificate(ctx, cert) },
		func() error { return tx.PutUser(ctx, store.User{ID: "u1", CreatedAt: t0}) },
		func() error { return tx.PutRules(ctx, "bank", "android", []store.Rule{{Action: "block"}}) },
		func() error {
			_, err := tx.AddLoginFailure(ctx, "k", t0, later)
			return err
		},
		func() error {
			_, err := tx.AppendAudit(ctx, store.AuditRecord{Time: t0, Actor: "system", Action: "test"})
			return err
		},
		func() error {
			return tx.RevokeTokens(ctx, store.TokenRevocation{Kind: store.TokensOfDevice, Key: "d1", RevokedAt: t0, ExpiresAt: later})
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}

// written lists which of writeAll's records s holds.
func written(t *testing.T, s store.Store) map[string]bool {
	t.Helper()
	ctx := t.Context()
	out := map[string]bool{}
	found := func(name string, err error) {
		t.Helper()
		switch {
		case err == nil:
			out[name] = true
		case !errors.Is(err, store.ErrNotFound):
			t.Fatalf("%s: %v", name, err)
		}
	}
	_, err := s.GetSession(ctx, "s1", t0)
	found("session", err)
	_, err = s.GetDevice(ctx, "d1", "device")
	found("device", err)
	_, err = s.GetCertificate(ctx, "0a")
	found("certificate", err)
	_, err = s.GetUser(ctx, "u1")
	found("user", err)
	_, err = s.GetLoginFailure(ctx, "k", t0)
	found("login failure", err)
	_, err = s.GetTokenRevocation(ctx, store.TokensOfDevice, "d1", t0)
	found("token revocation", err)
	rules, err := s.GetRules(ctx, "bank", "android")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) > 0 {
		out["rules"] = true
	}
	audit, err := s.ListAudit(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) > 0 {
		out["audit"] = true
	}
	// The nonce last: consuming it removes it.
	if err := s.ConsumeNonce(ctx, "n1", "s1", "r", t0); err == nil {
		out["nonce"] = true
	}
	return out
}

var everything = map[string]bool{
	"session": true, "nonce": true, "device": true, "certificate": true, "user": true, "rules": true,
	"login failure": true, "audit": true, "token revocation": true,
}

func TestUpdateCommitsTogether(t *testing.T) {
	t.Parallel()
	s := open(t, postgres.Options{})
	if err := s.Update(t.Context(), func(tx store.Tx) error { return writeAll(t.Context(), tx) }); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(everything, written(t, s)); d != "" {
		t.Errorf("records after a committed unit (-want +got):\n%s", d)
	}
}

// TestUpdateAtomic: a unit that fails writes nothing, whether fn returns its own error, a store
// error it met (a conflict), or swallows a failed statement.
func TestUpdateAtomic(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fn fails after writing", func(ctx context.Context, tx store.Tx) error {
			if err := writeAll(ctx, tx); err != nil {
				return err
			}
			return errFn
		}, errFn},
		{"a conflict inside fn", func(ctx context.Context, tx store.Tx) error {
			if err := writeAll(ctx, tx); err != nil {
				return err
			}
			// The same serial again: the unit stops with the store's error.
			return tx.PutCertificate(ctx, cert)
		}, store.ErrConflict},
		{"a failed statement fn ignores", func(ctx context.Context, tx store.Tx) error {
			if err := writeAll(ctx, tx); err != nil {
				return err
			}
			// A time PostgreSQL cannot hold fails in the server, which aborts the transaction.
			_ = tx.PutUser(ctx, store.User{ID: "u2", CreatedAt: time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC)})
			return nil
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := open(t, postgres.Options{})
			err := s.Update(t.Context(), func(tx store.Tx) error { return c.fn(t.Context(), tx) })
			if err == nil {
				t.Fatal("Update returned nil")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Update: %v, want it to wrap %v", err, c.want)
			}
			t.Logf("Update: %v", err)
			if d := cmp.Diff(map[string]bool{}, written(t, s)); d != "" {
				t.Errorf("records after a failed unit (-want +got):\n%s", d)
			}
		})
	}
}

// TestUpdateReadsOwnWrites: reads through tx see the unit's writes; the store outside the unit
// does not until it commits.
func TestUpdateReadsOwnWrites(t *testing.T) {
	t.Parallel()
	s := open(t, postgres.Options{})
	ctx := t.Context()
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := writeAll(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.GetSession(ctx, "s1", t0); err != nil {
			return fmt.Errorf("own session: %w", err)
		}
		if _, err := s.GetSession(ctx, "s1", t0); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("the store outside the unit read its session before the commit: %v", err)
		}
		if got, err := tx.GetRules(ctx, "bank", "android"); err != nil || len(got) != 1 {
			return fmt.Errorf("own rules: %v, %v", got, err)
		}
		if got, err := tx.ListAudit(ctx, 0, 10); err != nil || len(got) != 1 {
			return fmt.Errorf("own audit record: %v, %v", got, err)
		}
		if err := tx.ConsumeNonce(ctx, "n1", "s1", "r", t0); err != nil {
			return fmt.Errorf("own nonce: %w", err)
		}
		if err := tx.ConsumeNonce(ctx, "n1", "s1", "r", t0); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("own nonce consumed twice: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := maps(everything, "nonce")
	if d := cmp.Diff(want, written(t, s)); d != "" {
		t.Errorf("records after the unit (-want +got):\n%s", d)
	}
}

// maps copies m without the keys of drop.
func maps(m map[string]bool, drop ...string) map[string]bool {
	out := map[string]bool{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

// counter reads the count kept in session id's state.
func counter(ctx context.Context, tx store.Tx, id string) (int, error) {
	sess, err := tx.GetSession(ctx, id, t0)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(sess.State))
}

func putCounter(ctx context.Context, tx store.Tx, id string, n int) error {
	return tx.PutSession(ctx, store.Session{ID: id, CreatedAt: t0, ExpiresAt: later, State: json.RawMessage(strconv.Itoa(n))})
}

// TestUpdateNoLostUpdates: units that read a count and write it plus one, run concurrently,
// count every increment: a unit that would overwrite another's write fails to serialize and
// runs again.
func TestUpdateNoLostUpdates(t *testing.T) {
	t.Parallel()
	s := open(t, postgres.Options{MaxConns: 8})
	ctx := t.Context()
	const workers, each = 6, 10
	var runs atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.Update(ctx, func(tx store.Tx) error {
					runs.Add(1)
					n, err := counter(ctx, tx, "c")
					if err != nil {
						return err
					}
					return putCounter(ctx, tx, "c", n+1)
				})
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := counter(ctx, s, "c")
	if err != nil {
		t.Fatal(err)
	}
	if got != workers*each {
		t.Errorf("%d increments counted %d", workers*each, got)
	}
	t.Logf("%d units ran %d times", workers*each, runs.Load())
}

// TestUpdateRetriesSwallowedConflict: two units read the same count, then both write it; the
// one PostgreSQL aborts runs again even though its fn ignored the failed write, and both
// increments count.
func TestUpdateRetriesSwallowedConflict(t *testing.T) {
	t.Parallel()
	s := open(t, postgres.Options{})
	ctx := t.Context()
	var read sync.WaitGroup
	read.Add(2)
	var runs atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			first := true
			err := s.Update(ctx, func(tx store.Tx) error {
				runs.Add(1)
				n, err := counter(ctx, tx, "c")
				if err != nil {
					return err
				}
				if first {
					// Both units have read before either writes.
					first = false
					read.Done()
					read.Wait()
				}
				_ = putCounter(ctx, tx, "c", n+1) // the error is ignored on purpose
				return nil
			})
			if err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
	wg.Wait()
	got, err := counter(ctx, s, "c")
	if err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Errorf("two increments counted %d", got)
	}
	if runs.Load() < 3 {
		t.Errorf("the units ran %d times, want a retry (3 or more)", runs.Load())
	}
}

func TestUpdateCancelled(t *testing.T) {
	t.Parallel()
	s := open(t, postgres.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update with a cancelled context: %v (fn ran: %v), want context.Canceled and no run", err, ran)
	}
	// A context cancelled while the unit runs: nothing is written.
	ctx, cancel = context.WithCancel(t.Context())
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := writeAll(ctx, tx); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled before its commit: %v, want context.Canceled", err)
	}
	if d := cmp.Diff(map[string]bool{}, written(t, s)); d != "" {
		t.Errorf("records after a cancelled unit (-want +got):\n%s", d)
	}
}

// TestUpdateConcurrentUnits: units of different clients (each consuming its nonce and writing
// its session, device, certificate and audit record) run side by side and all commit; the
// retries that SERIALIZABLE's conservative conflict checks cost are logged.
func TestUpdateConcurrentUnits(t *testing.T) {
	t.Parallel()
	s := open(t, postgres.Options{MaxConns: 8})
	ctx := t.Context()
	const workers, each = 8, 25
	for w := range workers {
		for i := range each {
			id := fmt.Sprintf("w%d-%d", w, i)
			if err := s.PutNonce(ctx, store.Nonce{Value: id, SessionID: id, Realm: "r", ExpiresAt: later}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var runs atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				err := s.Update(ctx, func(tx store.Tx) error {
					runs.Add(1)
					if err := tx.ConsumeNonce(ctx, id, id, "r", t0); err != nil {
						return err
					}
					return crashUnit(ctx, tx, id)
				})
				if err != nil {
					t.Errorf("unit %s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	certs, err := s.ListCertificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != workers*each {
		t.Errorf("%d certificates after %d units", len(certs), workers*each)
	}
	t.Logf("%d units ran %d times", workers*each, runs.Load())
}

// TestAuditPagingUnderConcurrentAppends: a reader pages through the audit log with "after"
// while appenders add to it, some inside units that do more work before they commit (so a
// smaller id may commit after a larger one); when the appenders are done and the reader has
// caught up, it has read every record once, in order.
func TestAuditPagingUnderConcurrentAppends(t *testing.T) {
	t.Parallel()
	s := open(t, postgres.Options{MaxConns: 10})
	ctx := t.Context()
	const appenders, each = 6, 40
	var wg sync.WaitGroup
	for w := range appenders {
		wg.Go(func() {
			for i := range each {
				r := store.AuditRecord{Time: t0, Actor: "system", Action: "test", Target: fmt.Sprintf("w%d-%d", w, i)}
				var err error
				if i%2 == 0 {
					_, err = s.AppendAudit(ctx, r)
				} else {
					err = s.Update(ctx, func(tx store.Tx) error {
						if _, err := tx.AppendAudit(ctx, r); err != nil {
							return err
						}
						time.Sleep(time.Duration(i%5) * time.Millisecond) // commit late
						return tx.PutUser(ctx, store.User{ID: r.Target})
					})
				}
				if err != nil {
					t.Errorf("append %s: %v", r.Target, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var read []int64
	after := int64(0)
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := s.ListAudit(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			read = append(read, r.ID)
			after = r.ID
		}
		if finished && len(page) == 0 {
			break
		}
	}
	all, err := s.ListAudit(ctx, 0, appenders*each+10)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, r := range all {
		want = append(want, r.ID)
	}
	if len(want) != appenders*each {
		t.Errorf("%d records, want %d", len(want), appenders*each)
	}
	if d := cmp.Diff(want, read); d != "" {
		t.Errorf("ids read by paging during the appends (-all +read):\n%s", d)
	}
}

// TestUpdateContentionError: a unit that meets a serialization failure on every run runs
// 1+Retries times and then fails with a *store.ContentionError that says how many runs it
// made and carries the last conflict; a unit that fails otherwise is not one.
func TestUpdateContentionError(t *testing.T) {
	t.Parallel()
	s := open(t, postgres.Options{Retries: 2})
	ctx := t.Context()
	runs := 0
	conflict := &pgconn.PgError{Code: "40001", Message: "could not serialize access due to read/write dependencies among transactions"}
	err := s.Update(ctx, func(tx store.Tx) error {
		runs++
		if err := tx.PutDevice(ctx, device); err != nil {
			return err
		}
		return conflict
	})
	var ce *store.ContentionError
	if !errors.As(err, &ce) {
		t.Fatalf("Update after a conflict on every run: %v, want a *store.ContentionError", err)
	}
	if d := cmp.Diff(3, ce.Attempts); d != "" || runs != 3 {
		t.Errorf("Attempts (-want +got):\n%s(fn ran %d times)", d, runs)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "40001" {
		t.Errorf("the error %v does not carry the conflict", err)
	}
	if _, err := s.GetDevice(ctx, device.ID, device.Entity); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDevice after the unit gave up: %v, want ErrNotFound (nothing written)", err)
	}
	err = s.Update(ctx, func(tx store.Tx) error { return errFn })
	if errors.As(err, &ce) || !errors.Is(err, errFn) {
		t.Errorf("Update whose fn failed: %v, want its error and no ContentionError", err)
	}
}
