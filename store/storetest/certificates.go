package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

func certificate(serial string, issued time.Time) store.CertificateRecord {
	return store.CertificateRecord{
		Serial: serial, Entity: "user:ana", Owner: "ana", Realm: "wl_userCertificateRealm",
		Issuer:    "CN=Realmgate Test CA,O=Realmgate",
		NotBefore: issued.Add(-time.Minute), NotAfter: issued.Add(365 * 24 * time.Hour),
		DER:      append([]byte{0x30, 0x82, 0x00, 0x00}, bytes.Repeat([]byte{0, 0xff, 0x7f}, 400)...),
		IssuedAt: issued,
	}
}

func normCert(c store.CertificateRecord) store.CertificateRecord {
	c.NotBefore, c.NotAfter, c.IssuedAt = norm(c.NotBefore), norm(c.NotAfter), norm(c.IssuedAt)
	if c.RevokedAt != nil {
		r := norm(*c.RevokedAt)
		c.RevokedAt = &r
	}
	return c
}

var certificateTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		revoked := base.Add(time.Hour)
		cases := []store.CertificateRecord{
			certificate("0a", base),
			{Serial: "01", Entity: "device", Owner: "d1", IssuedAt: base, DER: []byte{0x30}},
			func() store.CertificateRecord {
				c := certificate("ff01", base)
				c.RevokedAt, c.Reason = &revoked, "keyCompromise"
				return c
			}(),
		}
		for _, c := range cases {
			must(t, "PutCertificate "+c.Serial, s.PutCertificate(ctx, c))
		}
		for _, c := range cases {
			got, err := s.GetCertificate(ctx, c.Serial)
			must(t, "GetCertificate "+c.Serial, err)
			diff(t, "certificate "+c.Serial, normCert(c), got)
			checkUTC(t, "certificate "+c.Serial, got.NotBefore, got.NotAfter, got.IssuedAt)
			if got.RevokedAt != nil {
				checkUTC(t, "certificate RevokedAt", *got.RevokedAt)
			}
		}
	}},
	{"Conflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		orig := certificate("0a", base)
		must(t, "PutCertificate", s.PutCertificate(ctx, orig))
		dup := certificate("0a", base.Add(time.Hour))
		dup.Owner = "mallory"
		wantErr(t, "PutCertificate with an existing serial", s.PutCertificate(ctx, dup), store.ErrConflict)
		got, err := s.GetCertificate(ctx, "0a")
		must(t, "GetCertificate", err)
		diff(t, "certificate after refused overwrite", normCert(orig), got)
	}},
	{"MissingAndInvalid", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		_, err := s.GetCertificate(ctx, "dead")
		wantErr(t, "GetCertificate of unknown serial", err, store.ErrNotFound)
		wantErr(t, "RevokeCertificate of unknown serial", s.RevokeCertificate(ctx, "dead", "x", base), store.ErrNotFound)
		wantErr(t, "PutCertificate with empty serial", s.PutCertificate(ctx, certificate("", base)), store.ErrInvalid)
		got, err := s.ListCertificates(ctx)
		must(t, "ListCertificates", err)
		diff(t, "certificates of an empty store", []store.CertificateRecord(nil), got)
	}},
	{"ListOrder", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// By IssuedAt, then Serial for equal times; insertion order is neither.
		recs := []store.CertificateRecord{
			certificate("03", base.Add(time.Hour)),
			certificate("0b", base),
			certificate("0a", base),
			certificate("01", base.Add(2*time.Hour)),
			certificate("ff", base.Add(-time.Hour)),
			certificate("02", base.Add(time.Microsecond)),
		}
		for _, c := range recs {
			must(t, "PutCertificate "+c.Serial, s.PutCertificate(ctx, c))
		}
		want := []store.CertificateRecord{
			normCert(recs[4]), normCert(recs[2]), normCert(recs[1]), normCert(recs[5]), normCert(recs[0]), normCert(recs[3]),
		}
		got, err := s.ListCertificates(ctx)
		must(t, "ListCertificates", err)
		diff(t, "certificate list", want, got)
	}},
	{"Revoke", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		c := certificate("0a", base)
		other := certificate("0b", base)
		must(t, "PutCertificate", s.PutCertificate(ctx, c))
		must(t, "PutCertificate other", s.PutCertificate(ctx, other))
		first := base.Add(time.Hour)
		must(t, "RevokeCertificate", s.RevokeCertificate(ctx, "0a", "keyCompromise", first))
		must(t, "RevokeCertificate again", s.RevokeCertificate(ctx, "0a", "superseded", first.Add(time.Hour)))
		want := normCert(c)
		at := norm(first)
		want.RevokedAt, want.Reason = &at, "keyCompromise"
		got, err := s.GetCertificate(ctx, "0a")
		must(t, "GetCertificate", err)
		diff(t, "revoked certificate", want, got)
		got, err = s.GetCertificate(ctx, "0b")
		must(t, "GetCertificate other", err)
		diff(t, "other certificate", normCert(other), got)
		list, err := s.ListCertificates(ctx)
		must(t, "ListCertificates", err)
		diff(t, "listed certificates", []store.CertificateRecord{want, normCert(other)}, list)
	}},
}

func audit(i int) store.AuditRecord {
	return store.AuditRecord{
		Time: base.Add(time.Duration(i) * time.Second), Actor: "admin", Action: "remote_disable.put",
		Target: fmt.Sprint("bank/android#", i),
		Detail: json.RawMessage(fmt.Sprintf(`{"rules": 2, "n": %d, "by": {"ip": "127.0.0.1"}}`, i)),
	}
}

// normAudit is what a store returns for r stored with id.
func normAudit(t *testing.T, id int64, r store.AuditRecord) store.AuditRecord {
	r.ID, r.Time, r.Detail = id, norm(r.Time), normJSON(t, r.Detail)
	return r
}

func listAudit(t *testing.T, s store.Store, after int64, limit int) []store.AuditRecord {
	t.Helper()
	got, err := s.ListAudit(t.Context(), after, limit)
	must(t, fmt.Sprintf("ListAudit(%d, %d)", after, limit), err)
	for i := range got {
		got[i].Detail = normJSON(t, got[i].Detail)
		checkUTC(t, "audit time", got[i].Time)
	}
	return got
}

var auditTests = []test{
	{"AppendAndList", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var want []store.AuditRecord
		var last int64
		for i := range 5 {
			r := audit(i)
			r.ID = 999 // ignored
			if i == 3 {
				r.Detail = nil
				r.Actor, r.Action = "system", "session.expire"
			}
			id, err := s.AppendAudit(ctx, r)
			must(t, "AppendAudit", err)
			if id <= last {
				t.Errorf("AppendAudit #%d returned id %d, not above the previous %d", i, id, last)
			}
			last = id
			want = append(want, normAudit(t, id, r))
		}
		diff(t, "audit log", want, listAudit(t, s, 0, 100))
		diff(t, "audit log after the second record", want[2:], listAudit(t, s, want[1].ID, 100))
		diff(t, "audit log after the last record", []store.AuditRecord(nil), listAudit(t, s, last, 100))
		diff(t, "audit log with limit 0", []store.AuditRecord(nil), listAudit(t, s, 0, 0))
		diff(t, "audit log with a negative limit", []store.AuditRecord(nil), listAudit(t, s, 0, -1))
		diff(t, "audit log with after < 0", want[:2], listAudit(t, s, -5, 2))
	}},
	{"DeleteBefore", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// audit(i) is at base + i seconds.
		var all []store.AuditRecord
		for i := range 6 {
			id, err := s.AppendAudit(ctx, audit(i))
			must(t, "AppendAudit", err)
			all = append(all, normAudit(t, id, audit(i)))
		}
		n, err := s.DeleteAuditBefore(ctx, base.Add(2*time.Second))
		must(t, "DeleteAuditBefore", err)
		diff(t, "records deleted", 2, n)
		// The record exactly at the bound is kept, and the others keep their IDs.
		diff(t, "audit log after deleting the oldest", all[2:], listAudit(t, s, 0, 100))
		diff(t, "paging from a deleted id", all[2:], listAudit(t, s, all[0].ID, 100))
		n, err = s.DeleteAuditBefore(ctx, base.Add(2*time.Second))
		must(t, "DeleteAuditBefore again", err)
		diff(t, "records deleted by a second sweep", 0, n)

		// Deleting every record, the last one included, never gives its ID to a new one.
		n, err = s.DeleteAuditBefore(ctx, base.Add(time.Hour))
		must(t, "DeleteAuditBefore all", err)
		diff(t, "records deleted by the last sweep", 4, n)
		diff(t, "audit log after deleting all", []store.AuditRecord(nil), listAudit(t, s, 0, 100))
		id, err := s.AppendAudit(ctx, audit(9))
		must(t, "AppendAudit after deleting all", err)
		if last := all[len(all)-1].ID; id <= last {
			t.Errorf("AppendAudit after deleting all returned id %d, not above the deleted %d", id, last)
		}
		diff(t, "audit log after a new append", []store.AuditRecord{normAudit(t, id, audit(9))}, listAudit(t, s, 0, 100))
	}},
	{"Paging", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var want []store.AuditRecord
		for i := range 23 {
			id, err := s.AppendAudit(ctx, audit(i))
			must(t, "AppendAudit", err)
			want = append(want, normAudit(t, id, audit(i)))
		}
		var got []store.AuditRecord
		var sizes []int
		after := int64(0)
		for page := 0; page < 10; page++ {
			recs := listAudit(t, s, after, 10)
			sizes = append(sizes, len(recs))
			if len(recs) == 0 {
				break
			}
			got = append(got, recs...)
			after = recs[len(recs)-1].ID
		}
		diff(t, "page sizes", []int{10, 10, 3, 0}, sizes)
		diff(t, "records read by pages", want, got)
	}},
	{"InvalidDetail", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for _, d := range []string{`not json`, `[1,2]`, `"text"`, `42`, `null`, `{"a":1}{}`, `{"a":`} {
			r := audit(0)
			r.Detail = json.RawMessage(d)
			_, err := s.AppendAudit(ctx, r)
			wantErr(t, "AppendAudit with Detail "+d, err, store.ErrInvalid)
		}
		diff(t, "audit log after refused appends", []store.AuditRecord(nil), listAudit(t, s, 0, 100))
		// Spacing and key order are not significant; a valid object is accepted after refusals.
		r := audit(1)
		r.Detail = json.RawMessage(" {\n\"z\": [ ], \"a\" : {} } ")
		id, err := s.AppendAudit(ctx, r)
		must(t, "AppendAudit with spaced Detail", err)
		diff(t, "spaced detail", []store.AuditRecord{normAudit(t, id, r)}, listAudit(t, s, 0, 100))
	}},
	{"ConcurrentAppends", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const workers, each = 8, 20
		var mu sync.Mutex
		ids := map[int64]store.AuditRecord{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					r := audit(w*each + i)
					id, err := s.AppendAudit(ctx, r)
					if err != nil {
						t.Errorf("AppendAudit: %v", err)
						return
					}
					mu.Lock()
					if _, dup := ids[id]; dup {
						t.Errorf("AppendAudit returned id %d twice", id)
					}
					ids[id] = normAudit(t, id, r)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var want []store.AuditRecord
		for _, k := range slices.Sorted(maps.Keys(ids)) {
			want = append(want, ids[k])
		}
		diff(t, "audit log after concurrent appends", want, listAudit(t, s, 0, workers*each+10))
	}},
}
