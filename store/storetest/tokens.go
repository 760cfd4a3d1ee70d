package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

func revocation(kind, key string, at, exp time.Time) store.TokenRevocation {
	return store.TokenRevocation{Kind: kind, Key: key, RevokedAt: at, ExpiresAt: exp}
}

func normRevocation(r store.TokenRevocation) store.TokenRevocation {
	r.RevokedAt, r.ExpiresAt = norm(r.RevokedAt), norm(r.ExpiresAt)
	return r
}

var tokenRevocationTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		cases := []store.TokenRevocation{
			revocation(store.TokensOfSession, "sid-1", base, base.Add(2*time.Minute)),
			revocation(store.TokensOfDevice, "device-ünïcödé 'quoted'", base.Add(-time.Nanosecond), base.Add(time.Hour+999*time.Nanosecond)),
			// The same key in another kind is another record.
			revocation(store.TokensOfDevice, "sid-1", base.Add(time.Second), base.Add(time.Minute)),
		}
		for _, c := range cases {
			must(t, "RevokeTokens "+c.Kind+" "+c.Key, s.RevokeTokens(ctx, c))
		}
		for _, c := range cases {
			got, err := s.GetTokenRevocation(ctx, c.Kind, c.Key, base)
			must(t, "GetTokenRevocation "+c.Kind+" "+c.Key, err)
			diff(t, "revocation "+c.Kind+" "+c.Key, normRevocation(c), got)
			checkUTC(t, "revocation "+c.Key, got.RevokedAt, got.ExpiresAt)
		}
	}},
	{"MergeKeepsTheLater", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		first := revocation(store.TokensOfDevice, "d1", base.Add(time.Minute), base.Add(time.Hour))
		must(t, "RevokeTokens", s.RevokeTokens(ctx, first))
		// An earlier revocation with a later expiry: the revocation time stays, the expiry grows.
		must(t, "RevokeTokens earlier", s.RevokeTokens(ctx, revocation(store.TokensOfDevice, "d1", base, base.Add(2*time.Hour))))
		got, err := s.GetTokenRevocation(ctx, store.TokensOfDevice, "d1", base)
		must(t, "GetTokenRevocation", err)
		diff(t, "merged revocation", normRevocation(revocation(store.TokensOfDevice, "d1", base.Add(time.Minute), base.Add(2*time.Hour))), got)
		// A later revocation with an earlier expiry: the revocation time grows, the expiry stays.
		must(t, "RevokeTokens later", s.RevokeTokens(ctx, revocation(store.TokensOfDevice, "d1", base.Add(time.Hour), base.Add(90*time.Minute))))
		got, err = s.GetTokenRevocation(ctx, store.TokensOfDevice, "d1", base)
		must(t, "GetTokenRevocation", err)
		diff(t, "merged revocation", normRevocation(revocation(store.TokensOfDevice, "d1", base.Add(time.Hour), base.Add(2*time.Hour))), got)
	}},
	{"Missing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		_, err := s.GetTokenRevocation(ctx, store.TokensOfSession, "nope", base)
		wantErr(t, "GetTokenRevocation of an unknown key", err, store.ErrNotFound)
		must(t, "RevokeTokens", s.RevokeTokens(ctx, revocation(store.TokensOfSession, "s", base, base.Add(time.Hour))))
		_, err = s.GetTokenRevocation(ctx, store.TokensOfDevice, "s", base)
		wantErr(t, "GetTokenRevocation of the key in another kind", err, store.ErrNotFound)
		_, err = s.GetTokenRevocation(ctx, store.TokensOfSession, "", base)
		wantErr(t, "GetTokenRevocation of an empty key", err, store.ErrNotFound)
	}},
	{"Invalid", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for _, r := range []store.TokenRevocation{
			revocation(store.TokensOfSession, "", base, base.Add(time.Hour)),
			revocation("", "k", base, base.Add(time.Hour)),
			revocation("user", "k", base, base.Add(time.Hour)),
		} {
			wantErr(t, "RevokeTokens "+r.Kind+"/"+r.Key, s.RevokeTokens(ctx, r), store.ErrInvalid)
		}
		_, err := s.GetTokenRevocation(ctx, "user", "k", base)
		wantErr(t, "GetTokenRevocation after refused writes", err, store.ErrNotFound)
	}},
	{"Expiry", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		exp := norm(base.Add(time.Minute))
		must(t, "RevokeTokens", s.RevokeTokens(ctx, revocation(store.TokensOfSession, "s", base, exp)))
		_, err := s.GetTokenRevocation(ctx, store.TokensOfSession, "s", exp.Add(-time.Microsecond))
		must(t, "GetTokenRevocation just before expiry", err)
		_, err = s.GetTokenRevocation(ctx, store.TokensOfSession, "s", exp)
		wantErr(t, "GetTokenRevocation at expiry", err, store.ErrNotFound)
	}},
	{"DeleteExpired", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for i, exp := range []time.Duration{time.Second, time.Minute, time.Hour} {
			must(t, "RevokeTokens", s.RevokeTokens(ctx, revocation(store.TokensOfDevice, string(rune('a'+i)), base, base.Add(exp))))
		}
		n, err := s.DeleteExpiredTokenRevocations(ctx, base.Add(time.Minute))
		must(t, "DeleteExpiredTokenRevocations", err)
		if n != 2 {
			t.Errorf("deleted %d, want 2 (expiry at or before now)", n)
		}
		_, err = s.GetTokenRevocation(ctx, store.TokensOfDevice, "c", base)
		must(t, "GetTokenRevocation of the live record", err)
		_, err = s.GetTokenRevocation(ctx, store.TokensOfDevice, "a", base)
		wantErr(t, "GetTokenRevocation of a deleted record", err, store.ErrNotFound)
		n, err = s.DeleteExpiredTokenRevocations(ctx, base.Add(time.Minute))
		must(t, "DeleteExpiredTokenRevocations again", err)
		if n != 0 {
			t.Errorf("second sweep deleted %d, want 0", n)
		}
	}},
	{"CancelledContext", func(t *testing.T, s store.Store) {
		ctx := cancelled(t)
		wantErr(t, "RevokeTokens", s.RevokeTokens(ctx, revocation(store.TokensOfSession, "s", base, base.Add(time.Hour))), context.Canceled)
		_, err := s.GetTokenRevocation(t.Context(), store.TokensOfSession, "s", base)
		wantErr(t, "GetTokenRevocation of a record written with a cancelled context", err, store.ErrNotFound)
	}},
}
