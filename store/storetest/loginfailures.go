package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

var loginFailureTests = []test{
	{"CountAndGet", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		window := time.Hour
		var got store.LoginFailure
		for i := 1; i <= 3; i++ {
			at := base.Add(time.Duration(i) * time.Second)
			var err error
			got, err = s.AddLoginFailure(ctx, "user:bank:alice", at, at.Add(window))
			must(t, fmt.Sprint("AddLoginFailure ", i), err)
			want := store.LoginFailure{Key: "user:bank:alice", Count: i, Last: norm(at), ExpiresAt: norm(at.Add(window))}
			diff(t, fmt.Sprint("record after failure ", i), want, got)
			checkUTC(t, "added record", got.Last, got.ExpiresAt)
		}
		read, err := s.GetLoginFailure(ctx, "user:bank:alice", base.Add(time.Minute))
		must(t, "GetLoginFailure", err)
		diff(t, "record read back", got, read)
		checkUTC(t, "read record", read.Last, read.ExpiresAt)

		// Keys are independent.
		other, err := s.AddLoginFailure(ctx, "client:192.0.2.7", base, base.Add(window))
		must(t, "AddLoginFailure other key", err)
		if other.Count != 1 {
			t.Errorf("another key's first failure counts %d, want 1", other.Count)
		}
		_, err = s.GetLoginFailure(ctx, "user:bank:bob", base)
		wantErr(t, "GetLoginFailure of a key without failures", err, store.ErrNotFound)
	}},
	{"Expiry", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		exp := base.Add(time.Hour)
		for range 4 {
			_, err := s.AddLoginFailure(ctx, "k", base, exp)
			must(t, "AddLoginFailure", err)
		}
		_, err := s.GetLoginFailure(ctx, "k", exp.Add(-time.Microsecond))
		must(t, "GetLoginFailure just before expiry", err)
		_, err = s.GetLoginFailure(ctx, "k", exp)
		wantErr(t, "GetLoginFailure at expiry", err, store.ErrNotFound)
		// A failure after the record expired starts it again at one.
		got, err := s.AddLoginFailure(ctx, "k", exp, exp.Add(time.Hour))
		must(t, "AddLoginFailure after expiry", err)
		diff(t, "restarted record", store.LoginFailure{Key: "k", Count: 1, Last: norm(exp), ExpiresAt: norm(exp.Add(time.Hour))}, got)
		// A failure before expiry keeps counting and pushes the expiry out.
		got, err = s.AddLoginFailure(ctx, "k", exp.Add(time.Minute), exp.Add(2*time.Hour))
		must(t, "AddLoginFailure before expiry", err)
		if got.Count != 2 || !got.ExpiresAt.Equal(norm(exp.Add(2*time.Hour))) {
			t.Errorf("record %+v: want count 2 expiring at %v", got, norm(exp.Add(2*time.Hour)))
		}
	}},
	{"Reset", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		_, err := s.AddLoginFailure(ctx, "a", base, base.Add(time.Hour))
		must(t, "AddLoginFailure a", err)
		_, err = s.AddLoginFailure(ctx, "b", base, base.Add(time.Hour))
		must(t, "AddLoginFailure b", err)
		must(t, "ResetLoginFailures a", s.ResetLoginFailures(ctx, "a"))
		must(t, "ResetLoginFailures of a key without a record", s.ResetLoginFailures(ctx, "nothing"))
		_, err = s.GetLoginFailure(ctx, "a", base)
		wantErr(t, "GetLoginFailure after reset", err, store.ErrNotFound)
		_, err = s.GetLoginFailure(ctx, "b", base)
		must(t, "GetLoginFailure of the other key", err)
		got, err := s.AddLoginFailure(ctx, "a", base, base.Add(time.Hour))
		must(t, "AddLoginFailure after reset", err)
		if got.Count != 1 {
			t.Errorf("count after reset %d, want 1", got.Count)
		}
	}},
	{"DeleteExpired", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for i := range 5 {
			_, err := s.AddLoginFailure(ctx, fmt.Sprint("k", i), base, base.Add(time.Duration(i)*time.Minute))
			must(t, "AddLoginFailure", err)
		}
		n, err := s.DeleteExpiredLoginFailures(ctx, base.Add(2*time.Minute))
		must(t, "DeleteExpiredLoginFailures", err)
		if n != 3 {
			t.Errorf("deleted %d records, want 3 (expiring at +0, +1 and +2 minutes)", n)
		}
		for i := range 5 {
			_, err := s.GetLoginFailure(ctx, fmt.Sprint("k", i), base)
			if live := i > 2; live != (err == nil) {
				t.Errorf("record k%d after the sweep: err %v, want live=%v", i, err, live)
			}
		}
	}},
	{"Invalid", func(t *testing.T, s store.Store) {
		_, err := s.AddLoginFailure(t.Context(), "", base, base.Add(time.Hour))
		wantErr(t, "AddLoginFailure with an empty key", err, store.ErrInvalid)
	}},
	{"Concurrent", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const n = 40
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				_, err := s.AddLoginFailure(ctx, "hot", base, base.Add(time.Hour))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, "concurrent AddLoginFailure", err)
		}
		got, err := s.GetLoginFailure(ctx, "hot", base)
		must(t, "GetLoginFailure", err)
		if got.Count != n {
			t.Errorf("%d concurrent failures counted %d", n, got.Count)
		}
	}},
	{"CancelledContext", func(t *testing.T, s store.Store) {
		ctx := cancelled(t)
		if _, err := s.AddLoginFailure(ctx, "k", base, base.Add(time.Hour)); err == nil {
			t.Error("AddLoginFailure with a cancelled context succeeded")
		}
		if _, err := s.GetLoginFailure(ctx, "k", base); err == nil {
			t.Error("GetLoginFailure with a cancelled context succeeded")
		}
	}},
}
