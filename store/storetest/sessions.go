package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

func session(id string, exp time.Time) store.Session {
	return store.Session{
		ID: id, App: "bank", Env: "android",
		CreatedAt: base, ExpiresAt: exp,
		State: json.RawMessage(`{"realms":{"wl_antiXSRFRealm":"passed"}}`),
	}
}

func normSession(s store.Session) store.Session {
	s.CreatedAt, s.ExpiresAt = norm(s.CreatedAt), norm(s.ExpiresAt)
	return s
}

var sessionTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		cases := []store.Session{
			session("s1", base.Add(time.Hour)),
			{ID: "s2-no-state", App: "bank", Env: "iphone", CreatedAt: base, ExpiresAt: base.Add(time.Minute)},
			{
				ID: "s3-ünïcödé/+=", App: "приложение", Env: "web 'quoted' \"env\"",
				CreatedAt: base.Add(-time.Nanosecond), ExpiresAt: base.Add(24*time.Hour + 999*time.Nanosecond),
				// Opaque bytes come back byte for byte, spacing included.
				State: json.RawMessage(" { \"a\" : [1, 2.50, \"\\u00e9\"],\n\"b\":null }\n"),
			},
			{ID: "s4-binary-state", App: "a", Env: "e", CreatedAt: base, ExpiresAt: base.Add(time.Second),
				State: json.RawMessage([]byte{0, 1, 2, 0xff, '{'})},
		}
		for _, c := range cases {
			must(t, "PutSession "+c.ID, s.PutSession(ctx, c))
		}
		for _, c := range cases {
			got, err := s.GetSession(ctx, c.ID, base)
			must(t, "GetSession "+c.ID, err)
			diff(t, "session "+c.ID, normSession(c), got)
			checkUTC(t, "session "+c.ID, got.CreatedAt, got.ExpiresAt)
		}
	}},
	{"Replace", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		first := session("s1", base.Add(time.Hour))
		must(t, "PutSession", s.PutSession(ctx, first))
		second := first
		second.ExpiresAt = base.Add(2 * time.Hour)
		second.State = json.RawMessage(`{"step":2}`)
		second.Env = "web"
		must(t, "PutSession again", s.PutSession(ctx, second))
		got, err := s.GetSession(ctx, "s1", base)
		must(t, "GetSession", err)
		diff(t, "replaced session", normSession(second), got)
		// Replacing with an earlier expiry takes effect too (an idle timeout can shrink).
		third := second
		third.ExpiresAt = base.Add(time.Second)
		must(t, "PutSession third", s.PutSession(ctx, third))
		_, err = s.GetSession(ctx, "s1", base.Add(time.Minute))
		wantErr(t, "GetSession after shrinking expiry", err, store.ErrNotFound)
	}},
	{"Missing", func(t *testing.T, s store.Store) {
		_, err := s.GetSession(t.Context(), "nope", base)
		wantErr(t, "GetSession of unknown id", err, store.ErrNotFound)
		_, err = s.GetSession(t.Context(), "", base)
		wantErr(t, "GetSession of empty id", err, store.ErrNotFound)
	}},
	{"Invalid", func(t *testing.T, s store.Store) {
		err := s.PutSession(t.Context(), session("", base.Add(time.Hour)))
		wantErr(t, "PutSession with empty ID", err, store.ErrInvalid)
	}},
	{"Expiry", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		exp := norm(base.Add(time.Hour))
		must(t, "PutSession", s.PutSession(ctx, session("s1", exp)))
		cases := []struct {
			name  string
			now   time.Time
			found bool
		}{
			{"long before", exp.Add(-time.Hour), true},
			{"one precision step before", exp.Add(-Precision), true},
			{"at ExpiresAt", exp, false},
			{"at ExpiresAt in another zone", exp.In(time.FixedZone("W", -7*3600)), false},
			{"sub-precision after", exp.Add(Precision / 2), false},
			{"one precision step after", exp.Add(Precision), false},
			{"long after", exp.Add(24 * time.Hour), false},
		}
		for _, c := range cases {
			_, err := s.GetSession(ctx, "s1", c.now)
			if c.found {
				must(t, "GetSession "+c.name, err)
			} else {
				wantErr(t, "GetSession "+c.name, err, store.ErrNotFound)
			}
		}
		// An expired session can be revived by putting it with a later expiry.
		must(t, "PutSession revive", s.PutSession(ctx, session("s1", exp.Add(time.Hour))))
		_, err := s.GetSession(ctx, "s1", exp)
		must(t, "GetSession revived", err)
	}},
	{"ReplaceSession", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		get := func(id string) (store.Session, error) { return s.GetSession(ctx, id, base) }
		// The old record goes, the new one is stored whole.
		must(t, "PutSession old", s.PutSession(ctx, session("old", base.Add(time.Hour))))
		rotated := session("new", base.Add(2*time.Hour))
		rotated.State, rotated.Env = json.RawMessage(`{"step":2}`), "web"
		must(t, "ReplaceSession", s.ReplaceSession(ctx, "old", rotated))
		_, err := get("old")
		wantErr(t, "GetSession of the replaced id", err, store.ErrNotFound)
		got, err := get("new")
		must(t, "GetSession of the new id", err)
		diff(t, "session under its new id", normSession(rotated), got)

		// An old id that is gone (expired and swept, deleted): the new session is stored all the same.
		orphan := session("orphan", base.Add(time.Hour))
		must(t, "ReplaceSession of an unknown id", s.ReplaceSession(ctx, "never", orphan))
		got, err = get("orphan")
		must(t, "GetSession after replacing an unknown id", err)
		diff(t, "session replacing an unknown id", normSession(orphan), got)

		// A record already under the new id is replaced, as PutSession would.
		must(t, "PutSession a", s.PutSession(ctx, session("a", base.Add(time.Hour))))
		must(t, "PutSession b", s.PutSession(ctx, session("b", base.Add(time.Hour))))
		onto := session("b", base.Add(3*time.Hour))
		onto.State = json.RawMessage(`{"moved":true}`)
		must(t, "ReplaceSession onto an existing id", s.ReplaceSession(ctx, "a", onto))
		_, err = get("a")
		wantErr(t, "GetSession of the id replaced onto another", err, store.ErrNotFound)
		got, err = get("b")
		must(t, "GetSession of the id replaced onto", err)
		diff(t, "session replaced onto an existing id", normSession(onto), got)

		// In a unit of work that fails, nothing of it stays.
		must(t, "PutSession c", s.PutSession(ctx, session("c", base.Add(time.Hour))))
		errUnit := errors.New("the unit's later write failed")
		err = s.Update(ctx, func(tx store.Tx) error {
			if err := tx.ReplaceSession(ctx, "c", session("d", base.Add(time.Hour))); err != nil {
				return err
			}
			return errUnit
		})
		wantErr(t, "Update", err, errUnit)
		_, err = get("c")
		must(t, "GetSession of the id a failed unit replaced", err)
		_, err = get("d")
		wantErr(t, "GetSession of the id a failed unit stored", err, store.ErrNotFound)

		wantErr(t, "ReplaceSession with an empty ID", s.ReplaceSession(ctx, "c", session("", base.Add(time.Hour))), store.ErrInvalid)
		wantErr(t, "ReplaceSession by itself", s.ReplaceSession(ctx, "c", session("c", base.Add(time.Hour))), store.ErrInvalid)
		_, err = get("c")
		must(t, "GetSession after refused replacements", err)
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, "PutSession a", s.PutSession(ctx, session("a", base.Add(time.Hour))))
		must(t, "PutSession b", s.PutSession(ctx, session("b", base.Add(time.Hour))))
		must(t, "DeleteSession a", s.DeleteSession(ctx, "a"))
		_, err := s.GetSession(ctx, "a", base)
		wantErr(t, "GetSession deleted", err, store.ErrNotFound)
		_, err = s.GetSession(ctx, "b", base)
		must(t, "GetSession other", err)
		must(t, "DeleteSession a again", s.DeleteSession(ctx, "a"))
		must(t, "DeleteSession unknown", s.DeleteSession(ctx, "never"))
	}},
	{"DeleteExpired", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		now := norm(base)
		exps := map[string]time.Time{
			"old":      now.Add(-48 * time.Hour),
			"recent":   now.Add(-Precision),
			"boundary": now,
			"soon":     now.Add(Precision),
			"later":    now.Add(time.Hour),
		}
		for id, exp := range exps {
			must(t, "PutSession "+id, s.PutSession(ctx, session(id, exp)))
		}
		n, err := s.DeleteExpiredSessions(ctx, now)
		must(t, "DeleteExpiredSessions", err)
		diff(t, "deleted count", 3, n)
		for id, exp := range exps {
			// Look with a "now" at which every session would be live, to see what is stored.
			_, err := s.GetSession(ctx, id, now.Add(-72*time.Hour))
			if exp.After(now) {
				must(t, "GetSession of live "+id, err)
			} else {
				wantErr(t, "GetSession of removed "+id, err, store.ErrNotFound)
			}
		}
		n, err = s.DeleteExpiredSessions(ctx, now)
		must(t, "DeleteExpiredSessions again", err)
		diff(t, "deleted count the second time", 0, n)
	}},
	{"Concurrent", func(t *testing.T, s store.Store) {
		// Writers and readers at once: none of them sees a transient error (busy, locked).
		ctx := t.Context()
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					id := fmt.Sprintf("w%d-%d", w, i)
					want := session(id, base.Add(time.Hour))
					if err := s.PutSession(ctx, want); err != nil {
						errs <- fmt.Errorf("PutSession %s: %w", id, err)
						continue
					}
					got, err := s.GetSession(ctx, id, base)
					if err != nil {
						errs <- fmt.Errorf("GetSession %s right after PutSession: %w", id, err)
						continue
					}
					if got.ID != id {
						errs <- fmt.Errorf("GetSession %s returned %s", id, got.ID)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}},
}
