package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

// instants are times whose round trip is easy to get wrong.
var instants = []struct {
	name string
	t    time.Time
}{
	{"zero", time.Time{}},
	{"base", base},
	{"epoch", time.Unix(0, 0)},
	{"one nanosecond after epoch", time.Unix(0, 1)},
	{"just before epoch", time.Date(1969, time.December, 31, 23, 59, 59, 999_999_999, time.UTC)},
	{"year 1 plus a microsecond", time.Date(1, time.January, 1, 0, 0, 0, 1000, time.UTC)},
	{"year 9999", time.Date(9999, time.December, 31, 23, 59, 59, 999_999_999, time.FixedZone("E", 14*3600))},
	{"negative offset", time.Date(2030, time.June, 1, 0, 0, 0, 500, time.FixedZone("W", -9*3600-1800))},
	{"wall clock", time.Now()},
}

var timeTests = []test{
	{"UserTimes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for i, in := range instants {
			u := store.User{ID: fmt.Sprint("u", i), CreatedAt: in.t, LastSeen: in.t}
			must(t, "PutUser "+in.name, s.PutUser(ctx, u))
			got, err := s.GetUser(ctx, u.ID)
			must(t, "GetUser "+in.name, err)
			diff(t, "user times, "+in.name, store.User{ID: u.ID, CreatedAt: norm(in.t), LastSeen: norm(in.t)}, got)
			checkUTC(t, in.name, got.CreatedAt, got.LastSeen)
			if in.t.IsZero() && !got.CreatedAt.IsZero() {
				t.Errorf("zero time came back as %v", got.CreatedAt)
			}
		}
	}},
	{"CertificateTimes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for i, in := range instants {
			c := store.CertificateRecord{Serial: fmt.Sprintf("%02x", i), NotBefore: in.t, NotAfter: in.t, IssuedAt: in.t}
			must(t, "PutCertificate "+in.name, s.PutCertificate(ctx, c))
			must(t, "RevokeCertificate "+in.name, s.RevokeCertificate(ctx, c.Serial, "r", in.t))
			got, err := s.GetCertificate(ctx, c.Serial)
			must(t, "GetCertificate "+in.name, err)
			want := normCert(c)
			rev := norm(in.t)
			want.RevokedAt, want.Reason = &rev, "r"
			diff(t, "certificate times, "+in.name, want, got)
			if got.RevokedAt == nil {
				continue
			}
			checkUTC(t, in.name, got.NotBefore, got.NotAfter, got.IssuedAt, *got.RevokedAt)
		}
	}},
	{"AuditTimes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var want []store.AuditRecord
		for _, in := range instants {
			r := store.AuditRecord{Time: in.t, Actor: "system", Action: "test", Target: in.name}
			id, err := s.AppendAudit(ctx, r)
			must(t, "AppendAudit "+in.name, err)
			want = append(want, normAudit(t, id, r))
		}
		diff(t, "audit times", want, listAudit(t, s, 0, 100))
	}},
	{"SessionAndDeviceTimes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for i, in := range instants {
			sess := store.Session{ID: fmt.Sprint("s", i), CreatedAt: in.t, ExpiresAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
			must(t, "PutSession "+in.name, s.PutSession(ctx, sess))
			got, err := s.GetSession(ctx, sess.ID, base)
			must(t, "GetSession "+in.name, err)
			diff(t, "session times, "+in.name, normSession(sess), got)
			checkUTC(t, in.name, got.CreatedAt, got.ExpiresAt)

			d := store.Device{ID: fmt.Sprint("d", i), Entity: "device", Status: store.DeviceActive, CreatedAt: in.t, LastSeen: in.t}
			must(t, "PutDevice "+in.name, s.PutDevice(ctx, d))
			gotD, err := s.GetDevice(ctx, d.ID, d.Entity)
			must(t, "GetDevice "+in.name, err)
			diff(t, "device times, "+in.name, normDevice(d), gotD)
			checkUTC(t, in.name, gotD.CreatedAt, gotD.LastSeen)
		}
	}},
}

var lifecycleTests = []test{
	{"Ping", func(t *testing.T, s store.Store) {
		must(t, "Ping", s.Ping(t.Context()))
	}},
	{"Close", func(t *testing.T, s store.Store) {
		must(t, "Close", s.Close())
		if err := s.Ping(t.Context()); err == nil {
			t.Error("Ping after Close returned nil, want an error (the store cannot serve)")
		}
		_ = s.Close() // a second Close must not panic; its error is not specified
	}},
	{"CancelledContext", func(t *testing.T, s store.Store) {
		live := t.Context()
		// Something to read, so that a read that ignored the context would succeed.
		must(t, "PutSession", s.PutSession(live, session("s1", base.Add(time.Hour))))
		must(t, "PutNonce", s.PutNonce(live, nonce("n1", base.Add(time.Hour))))
		must(t, "PutCertificate", s.PutCertificate(live, certificate("0a", base)))
		must(t, "PutDevice", s.PutDevice(live, device("d1", "device")))

		ctx := cancelled(t)
		calls := []struct {
			name string
			call func() error
		}{
			{"Ping", func() error { return s.Ping(ctx) }},
			{"GetSession", func() error { _, err := s.GetSession(ctx, "s1", base); return err }},
			{"PutSession", func() error { return s.PutSession(ctx, session("s2", base.Add(time.Hour))) }},
			{"DeleteSession", func() error { return s.DeleteSession(ctx, "s1") }},
			{"ReplaceSession", func() error { return s.ReplaceSession(ctx, "s1", session("s3", base.Add(time.Hour))) }},
			{"DeleteExpiredSessions", func() error { _, err := s.DeleteExpiredSessions(ctx, base.Add(48*time.Hour)); return err }},
			{"GetUser", func() error { _, err := s.GetUser(ctx, "u1"); return err }},
			{"PutUser", func() error { return s.PutUser(ctx, store.User{ID: "u1", CreatedAt: base}) }},
			{"DeleteUser", func() error { return s.DeleteUser(ctx, "u1") }},
			{"DeleteUsersNotSeenSince", func() error { _, err := s.DeleteUsersNotSeenSince(ctx, base.Add(48*time.Hour)); return err }},
			{"GetDevice", func() error { _, err := s.GetDevice(ctx, "d1", "device"); return err }},
			{"PutDevice", func() error { return s.PutDevice(ctx, device("d2", "device")) }},
			{"ListDevices", func() error { _, err := s.ListDevices(ctx); return err }},
			{"SetDeviceStatus", func() error { return s.SetDeviceStatus(ctx, "d1", store.DeviceBlocked) }},
			{"GetRules", func() error { _, err := s.GetRules(ctx, "a", "e"); return err }},
			{"PutRules", func() error { return s.PutRules(ctx, "a", "e", []store.Rule{{Action: "block"}}) }},
			{"PutNonce", func() error { return s.PutNonce(ctx, nonce("n2", base.Add(time.Hour))) }},
			{"ConsumeNonce", func() error { return s.ConsumeNonce(ctx, "n1", "sess-1", "wl_deviceNoProvisioningRealm", base) }},
			{"DeleteExpiredNonces", func() error { _, err := s.DeleteExpiredNonces(ctx, base.Add(48*time.Hour)); return err }},
			{"PutCertificate", func() error { return s.PutCertificate(ctx, certificate("0b", base)) }},
			{"GetCertificate", func() error { _, err := s.GetCertificate(ctx, "0a"); return err }},
			{"ListCertificates", func() error { _, err := s.ListCertificates(ctx); return err }},
			{"RevokeCertificate", func() error { return s.RevokeCertificate(ctx, "0a", "r", base) }},
			{"AppendAudit", func() error {
				_, err := s.AppendAudit(ctx, store.AuditRecord{Time: base, Actor: "a", Action: "b", Detail: json.RawMessage(`{}`)})
				return err
			}},
			{"ListAudit", func() error { _, err := s.ListAudit(ctx, 0, 10); return err }},
			{"DeleteAuditBefore", func() error { _, err := s.DeleteAuditBefore(ctx, base.Add(48*time.Hour)); return err }},
		}
		for _, c := range calls {
			wantErr(t, c.name+" with a cancelled context", c.call(), context.Canceled)
		}

		// Nothing was written.
		_, err := s.GetSession(live, "s1", base)
		must(t, "GetSession after cancelled DeleteSession", err)
		_, err = s.GetSession(live, "s2", base)
		wantErr(t, "GetSession of a session put with a cancelled context", err, store.ErrNotFound)
		_, err = s.GetUser(live, "u1")
		wantErr(t, "GetUser of a user put with a cancelled context", err, store.ErrNotFound)
		devs, err := s.ListDevices(live)
		must(t, "ListDevices", err)
		diff(t, "devices", []store.Device{normDevice(device("d1", "device"))}, devs)
		rules, err := s.GetRules(live, "a", "e")
		must(t, "GetRules", err)
		diff(t, "rules", []store.Rule(nil), rules)
		certs, err := s.ListCertificates(live)
		must(t, "ListCertificates", err)
		diff(t, "certificates", []store.CertificateRecord{normCert(certificate("0a", base))}, certs)
		diff(t, "audit", []store.AuditRecord(nil), listAudit(t, s, 0, 10))
		wantErr(t, "PutNonce n2 was not stored", s.ConsumeNonce(live, "n2", "sess-1", "wl_deviceNoProvisioningRealm", base), store.ErrNotFound)
		must(t, "ConsumeNonce n1 is still there", s.ConsumeNonce(live, "n1", "sess-1", "wl_deviceNoProvisioningRealm", base))
	}},
}
