package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

// errUnit is what a unit's function fails with in these tests.
var errUnit = errors.New("storetest: the unit fails")

// requestWrites makes the writes of one device provisioning (session, nonce, attempt counter,
// device, certificate, audit) through tx, each record named by suffix.
func requestWrites(ctx context.Context, tx store.Tx, suffix string) error {
	if err := tx.PutSession(ctx, session("s-"+suffix, base.Add(time.Hour))); err != nil {
		return err
	}
	if err := tx.PutNonce(ctx, nonce("n-"+suffix, base.Add(time.Minute))); err != nil {
		return err
	}
	if _, err := tx.AddLoginFailure(ctx, "k-"+suffix, base, base.Add(time.Hour)); err != nil {
		return err
	}
	d := device("d-"+suffix, "device")
	d.CertificateSerial = "c0" + suffix
	if err := tx.PutDevice(ctx, d); err != nil {
		return err
	}
	if err := tx.PutCertificate(ctx, certificate("c0"+suffix, base)); err != nil {
		return err
	}
	_, err := tx.AppendAudit(ctx, store.AuditRecord{Time: base, Actor: "system", Action: "device.provision", Target: "d-" + suffix,
		Detail: json.RawMessage(`{"serial":"c0` + suffix + `"}`)})
	return err
}

// written reports, for each record requestWrites makes with suffix, whether the store has it.
func written(t *testing.T, s store.Store, suffix string) map[string]bool {
	t.Helper()
	ctx := t.Context()
	found := func(what string, err error) bool {
		t.Helper()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: %v", what, err)
		}
		return err == nil
	}
	out := map[string]bool{}
	_, err := s.GetSession(ctx, "s-"+suffix, base)
	out["session"] = found("GetSession", err)
	_, err = s.GetLoginFailure(ctx, "k-"+suffix, base)
	out["loginFailure"] = found("GetLoginFailure", err)
	_, err = s.GetDevice(ctx, "d-"+suffix, "device")
	out["device"] = found("GetDevice", err)
	_, err = s.GetCertificate(ctx, "c0"+suffix)
	out["certificate"] = found("GetCertificate", err)
	// A nonce is found by consuming it; that is the last look at it.
	out["nonce"] = found("ConsumeNonce", s.ConsumeNonce(ctx, "n-"+suffix, "sess-1", "wl_deviceNoProvisioningRealm", base))
	recs, err := s.ListAudit(ctx, 0, 1000)
	must(t, "ListAudit", err)
	out["audit"] = false
	for _, r := range recs {
		if r.Target == "d-"+suffix {
			out["audit"] = true
		}
	}
	return out
}

func all(v bool) map[string]bool {
	return map[string]bool{"session": v, "nonce": v, "loginFailure": v, "device": v, "certificate": v, "audit": v}
}

var updateTests = []test{
	{"CommitsTogether", func(t *testing.T, s store.Store) {
		must(t, "Update", s.Update(t.Context(), func(tx store.Tx) error { return requestWrites(t.Context(), tx, "1") }))
		diff(t, "records of a committed unit", all(true), written(t, s, "1"))
	}},
	{"FnErrorWritesNothing", func(t *testing.T, s store.Store) {
		err := s.Update(t.Context(), func(tx store.Tx) error {
			if err := requestWrites(t.Context(), tx, "1"); err != nil {
				return err
			}
			return errUnit
		})
		wantErr(t, "Update of a failing fn", err, errUnit)
		diff(t, "records of a failed unit", all(false), written(t, s, "1"))
	}},
	{"ConflictWritesNothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, "PutCertificate", s.PutCertificate(ctx, certificate("c0dup", base)))
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := requestWrites(ctx, tx, "1"); err != nil {
				return err
			}
			return tx.PutCertificate(ctx, certificate("c0dup", base)) // a serial issued before
		})
		wantErr(t, "Update with a duplicate serial", err, store.ErrConflict)
		diff(t, "records of a unit with a duplicate serial", all(false), written(t, s, "1"))
		got, err := s.GetCertificate(ctx, "c0dup")
		must(t, "GetCertificate of the first", err)
		diff(t, "the first certificate", normCert(certificate("c0dup", base)), got)
	}},
	{"NonceConsumedTwice", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		n := nonce("n-once", base.Add(time.Minute))
		must(t, "PutNonce", s.PutNonce(ctx, n))
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.PutSession(ctx, session("s-1", base.Add(time.Hour))); err != nil {
				return err
			}
			if err := tx.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, base); err != nil {
				return err
			}
			return tx.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, base)
		})
		wantErr(t, "Update consuming a nonce twice", err, store.ErrNotFound)
		_, err = s.GetSession(ctx, "s-1", base)
		wantErr(t, "GetSession of the failed unit", err, store.ErrNotFound)
		// The first consumption went with the unit: the nonce is still there, once.
		must(t, "ConsumeNonce after the failed unit", s.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, base))
	}},
	{"ReadsOwnWrites", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, "PutDevice before", s.PutDevice(ctx, device("d0", "device")))
		must(t, "Update", s.Update(ctx, func(tx store.Tx) error {
			if err := tx.PutSession(ctx, session("s-1", base.Add(time.Hour))); err != nil {
				return err
			}
			got, err := tx.GetSession(ctx, "s-1", base)
			if err != nil {
				return fmt.Errorf("GetSession of the unit's session: %w", err)
			}
			diff(t, "session read in the unit", normSession(session("s-1", base.Add(time.Hour))), got)
			if err := tx.SetDeviceStatus(ctx, "d0", store.DeviceBlocked); err != nil {
				return err
			}
			d, err := tx.GetDevice(ctx, "d0", "device")
			if err != nil {
				return err
			}
			diff(t, "status read in the unit", store.DeviceBlocked, d.Status)
			for i := 1; i <= 3; i++ {
				f, err := tx.AddLoginFailure(ctx, "k", base, base.Add(time.Hour))
				if err != nil {
					return err
				}
				diff(t, "count in the unit", i, f.Count)
			}
			if err := tx.PutCertificate(ctx, certificate("c1", base)); err != nil {
				return err
			}
			if _, err := tx.GetCertificate(ctx, "c1"); err != nil {
				return fmt.Errorf("GetCertificate of the unit's certificate: %w", err)
			}
			if err := tx.PutNonce(ctx, nonce("n1", base.Add(time.Minute))); err != nil {
				return err
			}
			wantErr(t, "PutNonce twice in the unit", tx.PutNonce(ctx, nonce("n1", base.Add(time.Minute))), store.ErrConflict)
			return tx.PutRules(ctx, "a", "e", []store.Rule{{Action: "block", Message: "m"}})
		}))
		d, err := s.GetDevice(ctx, "d0", "device")
		must(t, "GetDevice after", err)
		diff(t, "status after", store.DeviceBlocked, d.Status)
		f, err := s.GetLoginFailure(ctx, "k", base)
		must(t, "GetLoginFailure after", err)
		diff(t, "count after", 3, f.Count)
		rules, err := s.GetRules(ctx, "a", "e")
		must(t, "GetRules after", err)
		diff(t, "rules after", []store.Rule{{Action: "block", Message: "m"}}, rules)
	}},
	{"ConcurrentUnitsLoseNothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const n = 32
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = s.Update(ctx, func(tx store.Tx) error {
					_, err := tx.AddLoginFailure(ctx, "shared", base, base.Add(time.Hour))
					if err != nil {
						return err
					}
					if err := tx.PutSession(ctx, session(fmt.Sprint("s-", i), base.Add(time.Hour))); err != nil {
						return err
					}
					if i%2 == 1 {
						return errUnit // the odd units fail, and only they are rolled back
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if i%2 == 1 {
				wantErr(t, fmt.Sprint("unit ", i), err, errUnit)
			} else {
				must(t, fmt.Sprint("unit ", i), err)
			}
			_, err := s.GetSession(ctx, fmt.Sprint("s-", i), base)
			if i%2 == 1 {
				wantErr(t, fmt.Sprint("session of failed unit ", i), err, store.ErrNotFound)
			} else {
				must(t, fmt.Sprint("session of unit ", i), err)
			}
		}
		f, err := s.GetLoginFailure(ctx, "shared", base)
		must(t, "GetLoginFailure", err)
		diff(t, "failures counted by the committed units", n/2, f.Count)
	}},
	{"ConcurrentConsumeInUnits", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		n := nonce("n-race", base.Add(time.Minute))
		must(t, "PutNonce", s.PutNonce(ctx, n))
		const workers = 16
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				err := s.Update(ctx, func(tx store.Tx) error {
					if err := tx.ConsumeNonce(ctx, n.Value, n.SessionID, n.Realm, base); err != nil {
						return err
					}
					return tx.PutSession(ctx, session(fmt.Sprint("s-", i), base.Add(time.Hour)))
				})
				switch {
				case err == nil:
					ok.Add(1)
				case !errors.Is(err, store.ErrNotFound):
					t.Errorf("unit %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		diff(t, "units that consumed the nonce", int32(1), ok.Load())
		sessions := 0
		for i := range workers {
			if _, err := s.GetSession(ctx, fmt.Sprint("s-", i), base); err == nil {
				sessions++
			}
		}
		diff(t, "sessions written beside the one consumption", 1, sessions)
	}},
	{"CancelledWritesNothing", func(t *testing.T, s store.Store) {
		err := s.Update(cancelled(t), func(tx store.Tx) error {
			return requestWrites(context.Background(), tx, "1")
		})
		wantErr(t, "Update with a cancelled context", err, context.Canceled)
		diff(t, "records of a cancelled unit", all(false), written(t, s, "1"))
	}},
	{"CancelledInsideWritesNothing", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := requestWrites(context.Background(), tx, "1"); err != nil {
				return err
			}
			cancel() // the caller gives up while the unit runs
			return nil
		})
		if err == nil {
			// A store may have committed before it saw the cancellation; then all of it.
			diff(t, "records of a unit that committed", all(true), written(t, s, "1"))
			return
		}
		wantErr(t, "Update cancelled inside fn", err, context.Canceled)
		diff(t, "records of a unit cancelled inside fn", all(false), written(t, s, "1"))
	}},
	{"UsableAfterFailures", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		wantErr(t, "failing Update", s.Update(ctx, func(tx store.Tx) error { return errUnit }), errUnit)
		wantErr(t, "invalid record", s.Update(ctx, func(tx store.Tx) error { return tx.PutSession(ctx, store.Session{}) }), store.ErrInvalid)
		must(t, "Update after failures", s.Update(ctx, func(tx store.Tx) error { return requestWrites(ctx, tx, "2") }))
		diff(t, "records after failures", all(true), written(t, s, "2"))
	}},
}
