package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

var userTests = []test{
	{"RoundTripAndUpdate", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		cases := []store.User{
			{ID: "6f1c9a3e-0b8d-4c55-9d2e-7a1b3c4d5e6f", CreatedAt: base, LastSeen: base.Add(time.Minute)},
			{ID: "never-seen", CreatedAt: base},
		}
		for _, u := range cases {
			must(t, "PutUser "+u.ID, s.PutUser(ctx, u))
		}
		for _, u := range cases {
			got, err := s.GetUser(ctx, u.ID)
			must(t, "GetUser "+u.ID, err)
			diff(t, "user "+u.ID, store.User{ID: u.ID, CreatedAt: norm(u.CreatedAt), LastSeen: norm(u.LastSeen)}, got)
			checkUTC(t, "user "+u.ID, got.CreatedAt, got.LastSeen)
		}
		upd := cases[0]
		upd.LastSeen = base.Add(48 * time.Hour)
		must(t, "PutUser update", s.PutUser(ctx, upd))
		got, err := s.GetUser(ctx, upd.ID)
		must(t, "GetUser updated", err)
		diff(t, "updated user", store.User{ID: upd.ID, CreatedAt: norm(upd.CreatedAt), LastSeen: norm(upd.LastSeen)}, got)
	}},
	{"Missing", func(t *testing.T, s store.Store) {
		_, err := s.GetUser(t.Context(), "nobody")
		wantErr(t, "GetUser of unknown id", err, store.ErrNotFound)
	}},
	{"Invalid", func(t *testing.T, s store.Store) {
		wantErr(t, "PutUser with empty ID", s.PutUser(t.Context(), store.User{CreatedAt: base}), store.ErrInvalid)
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		keep := store.User{ID: "kept", CreatedAt: base, LastSeen: base}
		must(t, "PutUser kept", s.PutUser(ctx, keep))
		must(t, "PutUser gone", s.PutUser(ctx, store.User{ID: "gone", CreatedAt: base, LastSeen: base}))
		must(t, "DeleteUser gone", s.DeleteUser(ctx, "gone"))
		_, err := s.GetUser(ctx, "gone")
		wantErr(t, "GetUser of a deleted user", err, store.ErrNotFound)
		got, err := s.GetUser(ctx, "kept")
		must(t, "GetUser of the other user", err)
		diff(t, "user kept by another's delete", store.User{ID: keep.ID, CreatedAt: norm(keep.CreatedAt), LastSeen: norm(keep.LastSeen)}, got)
		// Deleting what does not exist (again, or never) is not an error.
		must(t, "DeleteUser gone again", s.DeleteUser(ctx, "gone"))
		must(t, "DeleteUser never", s.DeleteUser(ctx, "never-was"))
	}},
	{"DeleteNotSeenSince", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// LastSeen, not CreatedAt, decides; a user seen exactly at the bound is kept.
		users := []store.User{
			{ID: "gone-long-ago", CreatedAt: base.Add(-72 * time.Hour), LastSeen: base.Add(-48 * time.Hour)},
			{ID: "gone-a-microsecond-ago", CreatedAt: base.Add(-72 * time.Hour), LastSeen: base.Add(-time.Microsecond)},
			{ID: "seen-at-the-bound", CreatedAt: base.Add(-72 * time.Hour), LastSeen: base},
			{ID: "old-but-back", CreatedAt: base.Add(-720 * time.Hour), LastSeen: base.Add(time.Hour)},
		}
		for _, u := range users {
			must(t, "PutUser "+u.ID, s.PutUser(ctx, u))
		}
		n, err := s.DeleteUsersNotSeenSince(ctx, base)
		must(t, "DeleteUsersNotSeenSince", err)
		diff(t, "users deleted", 2, n)
		for i, u := range users {
			got, err := s.GetUser(ctx, u.ID)
			if i < 2 {
				wantErr(t, "GetUser "+u.ID, err, store.ErrNotFound)
				continue
			}
			must(t, "GetUser "+u.ID, err)
			diff(t, "kept user "+u.ID, store.User{ID: u.ID, CreatedAt: norm(u.CreatedAt), LastSeen: norm(u.LastSeen)}, got)
		}
		n, err = s.DeleteUsersNotSeenSince(ctx, base)
		must(t, "DeleteUsersNotSeenSince again", err)
		diff(t, "users deleted by a second sweep", 0, n)

		// A user who comes back (PutUser with a later LastSeen) escapes the next sweep.
		back := users[2]
		back.LastSeen = base.Add(2 * time.Hour)
		must(t, "PutUser back", s.PutUser(ctx, back))
		n, err = s.DeleteUsersNotSeenSince(ctx, base.Add(90*time.Minute))
		must(t, "DeleteUsersNotSeenSince later", err)
		diff(t, "users deleted by the later sweep", 1, n)
		_, err = s.GetUser(ctx, back.ID)
		must(t, "GetUser of the user who came back", err)
		_, err = s.GetUser(ctx, users[3].ID)
		wantErr(t, "GetUser "+users[3].ID+" after the later sweep", err, store.ErrNotFound)
	}},
	{"DeleteNotSeenSinceEmpty", func(t *testing.T, s store.Store) {
		n, err := s.DeleteUsersNotSeenSince(t.Context(), base)
		must(t, "DeleteUsersNotSeenSince", err)
		diff(t, "users deleted from an empty store", 0, n)
	}},
}

func device(id, entity string) store.Device {
	return store.Device{
		ID: id, Entity: entity, App: "bank", OS: "Android 14", Model: "Pixel 8",
		DisplayName: "Ana's phone", Status: store.DeviceActive,
		CreatedAt: base, LastSeen: base.Add(time.Hour), CertificateSerial: "0a1b2c",
	}
}

func normDevice(d store.Device) store.Device {
	d.CreatedAt, d.LastSeen = norm(d.CreatedAt), norm(d.LastSeen)
	return d
}

var deviceTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		cases := []store.Device{
			device("d1", "application:bank"),
			device("d1", "group:retail"),
			{ID: "d2", Entity: "none", Status: store.DeviceBlocked, CreatedAt: base},
			{ID: "d3", Entity: "device", App: "bank", DisplayName: strings.Repeat("ж", 300), Status: store.DeviceActive, CreatedAt: base},
		}
		for _, d := range cases {
			must(t, "PutDevice "+d.ID+" "+d.Entity, s.PutDevice(ctx, d))
		}
		for _, d := range cases {
			got, err := s.GetDevice(ctx, d.ID, d.Entity)
			must(t, "GetDevice "+d.ID+" "+d.Entity, err)
			diff(t, "device "+d.ID+" "+d.Entity, normDevice(d), got)
			checkUTC(t, "device", got.CreatedAt, got.LastSeen)
		}
	}},
	{"Update", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		d := device("d1", "device")
		must(t, "PutDevice", s.PutDevice(ctx, d))
		d.LastSeen = base.Add(72 * time.Hour)
		d.CertificateSerial = "ff00"
		d.DisplayName = "renamed"
		must(t, "PutDevice update", s.PutDevice(ctx, d))
		got, err := s.GetDevice(ctx, "d1", "device")
		must(t, "GetDevice", err)
		diff(t, "updated device", normDevice(d), got)
		all, err := s.ListDevices(ctx)
		must(t, "ListDevices", err)
		diff(t, "devices after update", []store.Device{normDevice(d)}, all)
	}},
	{"Missing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, "PutDevice", s.PutDevice(ctx, device("d1", "application:bank")))
		cases := []struct{ id, entity string }{
			{"d2", "application:bank"},
			{"d1", "application:other"},
			{"d1", "device"},
			{"", ""},
		}
		for _, c := range cases {
			_, err := s.GetDevice(ctx, c.id, c.entity)
			wantErr(t, "GetDevice "+c.id+" "+c.entity, err, store.ErrNotFound)
		}
	}},
	{"Invalid", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		bad := []store.Device{
			device("", "device"),
			device("d1", ""),
			func() store.Device { d := device("d1", "device"); d.Status = "Blocked"; return d }(),
			func() store.Device { d := device("d1", "device"); d.Status = ""; return d }(),
		}
		for _, d := range bad {
			wantErr(t, "PutDevice "+d.ID+"/"+d.Entity+"/"+d.Status, s.PutDevice(ctx, d), store.ErrInvalid)
		}
		all, err := s.ListDevices(ctx)
		must(t, "ListDevices", err)
		diff(t, "devices after invalid puts", []store.Device(nil), all)
	}},
	{"ListOrder", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// Byte-wise order: upper case before lower case, "d10" before "d2".
		keys := [][2]string{
			{"d2", "device"}, {"d10", "group:b"}, {"d10", "application:z"}, {"D9", "device"},
			{"d2", "application:a"}, {"e", "none"}, {"d10", "group:B"},
		}
		var want []store.Device
		for _, k := range keys {
			d := device(k[0], k[1])
			must(t, "PutDevice", s.PutDevice(ctx, d))
			want = append(want, normDevice(d))
		}
		slices.SortFunc(want, func(a, b store.Device) int {
			if c := strings.Compare(a.ID, b.ID); c != 0 {
				return c
			}
			return strings.Compare(a.Entity, b.Entity)
		})
		got, err := s.ListDevices(ctx)
		must(t, "ListDevices", err)
		diff(t, "device list", want, got)
	}},
	{"ListEmpty", func(t *testing.T, s store.Store) {
		got, err := s.ListDevices(t.Context())
		must(t, "ListDevices", err)
		diff(t, "device list of an empty store", []store.Device(nil), got)
	}},
	{"SetStatus", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ds := []store.Device{device("d1", "application:bank"), device("d1", "group:g"), device("d2", "device")}
		for _, d := range ds {
			must(t, "PutDevice", s.PutDevice(ctx, d))
		}
		must(t, "SetDeviceStatus blocked", s.SetDeviceStatus(ctx, "d1", store.DeviceBlocked))
		want := []store.Device{normDevice(ds[0]), normDevice(ds[1]), normDevice(ds[2])}
		want[0].Status, want[1].Status = store.DeviceBlocked, store.DeviceBlocked
		got, err := s.ListDevices(ctx)
		must(t, "ListDevices", err)
		diff(t, "devices after blocking d1", want, got)

		// Setting the status it already has is not "not found".
		must(t, "SetDeviceStatus blocked again", s.SetDeviceStatus(ctx, "d1", store.DeviceBlocked))
		wantErr(t, "SetDeviceStatus of unknown device", s.SetDeviceStatus(ctx, "d9", store.DeviceBlocked), store.ErrNotFound)
		for _, bad := range []string{"", "Blocked", "disabled", "active "} {
			wantErr(t, "SetDeviceStatus "+bad, s.SetDeviceStatus(ctx, "d1", bad), store.ErrInvalid)
		}
		got, err = s.ListDevices(ctx)
		must(t, "ListDevices", err)
		diff(t, "devices after refused status changes", want, got)

		must(t, "SetDeviceStatus active", s.SetDeviceStatus(ctx, "d1", store.DeviceActive))
		got1, err := s.GetDevice(ctx, "d1", "group:g")
		must(t, "GetDevice", err)
		diff(t, "status after unblocking", store.DeviceActive, got1.Status)
	}},
}
