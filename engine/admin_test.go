package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// TestAdminRefusals: what the administration methods refuse, and with which code.
func TestAdminRefusals(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	tooMany := make([]store.Rule, engine.MaxRulesPerEnvironment+1)
	for i := range tooMany {
		tooMany[i] = store.Rule{Action: "notify", Message: "m"}
	}
	cases := []struct {
		name string
		call func() error
		want engine.Code
	}{
		{"rules of an unknown environment", func() error { _, err := l.eng.Rules(ctx, labApp, "nowhere"); return err }, engine.CodeUnknownApplication},
		{"rules for an unknown application", func() error { return l.eng.SetRules(ctx, "admin", "NoApp", "android", nil) }, engine.CodeUnknownApplication},
		{"too many rules", func() error { return l.eng.SetRules(ctx, "admin", labApp, "android", tooMany) }, engine.CodeBadRequest},
		{"a rule that does not validate", func() error {
			return l.eng.SetRules(ctx, "admin", labApp, "android", []store.Rule{{Action: "explode", Message: "m"}})
		}, engine.CodeBadRequest},
		{"a status that does not exist", func() error { return l.eng.SetDeviceStatus(ctx, "admin", "phone-1", "lost") }, engine.CodeBadRequest},
		{"the status of an unknown device", func() error { return l.eng.SetDeviceStatus(ctx, "admin", "no-such-phone", store.DeviceBlocked) }, engine.CodeNotFound},
		{"a reset of an unknown device", func() error { _, err := l.eng.ResetDevice(ctx, "admin", "no-such-phone", "", ""); return err }, engine.CodeNotFound},
		{"a reset of an unknown entity", func() error {
			_, err := l.eng.ResetDevice(ctx, "admin", "no-such-phone", "application:"+labApp, "")
			return err
		}, engine.CodeNotFound},
		{"a revocation of an unknown certificate", func() error { _, err := l.eng.RevokeCertificate(ctx, "admin", "0BAD", ""); return err }, engine.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if diff := cmp.Diff(tc.want, codeOf(err)); diff != "" {
				t.Errorf("%v (-want +got code):\n%s", err, diff)
			}
			if tc.want == engine.CodeNotFound && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%v does not match store.ErrNotFound", err)
			}
		})
	}
}

// TestSetDeviceStatus: a block refuses the device's next request at once, ends its access tokens
// and is audited; an unblock lets it pass its realm again.
func TestSetDeviceStatus(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	ti := l.issuer(t)
	d := l.client("android", "2.1.0")
	n, _ := d.mustChallenge("device").Challenges[project.RealmDeviceNoProvision]["token"].(string)
	d.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"phone-1"}}`)
	d.mustAllow("device")
	tok, err := d.token(ti, "device", "")
	if err != nil {
		t.Fatal(err)
	}

	if err := l.eng.SetDeviceStatus(ctx, "admin", "phone-1", store.DeviceBlocked); err != nil {
		t.Fatal(err)
	}
	if _, err := d.authorize("device"); codeOf(err) != engine.CodeDeviceBlocked {
		t.Errorf("request of a blocked device: %v, want %s", err, engine.CodeDeviceBlocked)
	}
	if _, err := ti.Introspect(ctx, tok.AccessToken, "", ""); !errors.Is(err, engine.ErrTokenRevoked) {
		t.Errorf("token of a blocked device: %v, want ErrTokenRevoked", err)
	}
	l.clock.Advance(time.Second)
	if err := l.eng.SetDeviceStatus(ctx, "admin", "phone-1", store.DeviceActive); err != nil {
		t.Fatal(err)
	}
	n, _ = d.mustChallenge("device").Challenges[project.RealmDeviceNoProvision]["token"].(string)
	d.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"phone-1"}}`)
	d.mustAllow("device")

	recs, err := l.eng.AuditRecords(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.Action == "device.status" {
			got = append(got, r.Actor+" "+r.Target+" "+string(r.Detail))
		}
	}
	want := []string{`admin phone-1 {"status":"blocked"}`, `admin phone-1 {"status":"active"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

// TestRevokeCertificate: a serial is found in either case, revoked with its reason, and audited.
func TestRevokeCertificate(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	now := l.clock.Now()
	if err := l.db.PutCertificate(ctx, store.CertificateRecord{Serial: "0a1b", Entity: "device", Owner: "phone-1",
		NotBefore: now, NotAfter: now.Add(time.Hour), DER: []byte{1}, IssuedAt: now}); err != nil {
		t.Fatal(err)
	}
	serial, err := l.eng.RevokeCertificate(ctx, "admin", "0A1B", "lost phone")
	if err != nil || serial != "0a1b" {
		t.Fatalf("RevokeCertificate: %q, %v", serial, err)
	}
	certs, err := l.eng.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || certs[0].RevokedAt == nil || certs[0].Reason != "lost phone" {
		t.Errorf("certificates after the revocation: %+v", certs)
	}
	recs, _ := l.eng.AuditRecords(ctx, 0, 0)
	if len(recs) == 0 || recs[len(recs)-1].Action != "certificate.revoke" || recs[len(recs)-1].Target != "0a1b" {
		t.Errorf("audit: %+v, want certificate.revoke of 0a1b last", recs)
	}
}

// TestAuditRecordsPage: limit bounds a page; a limit out of range takes the default page.
func TestAuditRecordsPage(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	for range 3 {
		if err := l.eng.SetRules(ctx, "admin", labApp, "android", nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		limit, want int
	}{{2, 2}, {0, 3}, {-1, 3}, {engine.MaxAuditPage + 1, 3}} {
		recs, err := l.eng.AuditRecords(ctx, 0, tc.limit)
		if err != nil || len(recs) != tc.want {
			t.Errorf("limit %d: %d records, %v; want %d", tc.limit, len(recs), err, tc.want)
		}
	}
	first, _ := l.eng.AuditRecords(ctx, 0, 1)
	rest, _ := l.eng.AuditRecords(ctx, first[0].ID, 0)
	if len(rest) != 2 {
		t.Errorf("after the first record: %d records, want 2", len(rest))
	}
}

// TestAuditReload: a reload is audited with the configuration's folder and policy revision.
func TestAuditReload(t *testing.T) {
	l := newLab(t)
	l.eng.AuditReload(t.Context(), "admin")
	recs, err := l.eng.AuditRecords(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range recs {
		got = append(got, r.Actor+" "+r.Action+" "+r.Target+" "+string(r.Detail))
	}
	want := []string{"admin config.reload " + l.project.Dir + ` {"revision":"` + l.eng.Revision() + `"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}
