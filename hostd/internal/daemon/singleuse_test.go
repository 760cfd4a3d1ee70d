package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/postgres"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
	"github.com/realmgate/realmgate/store/sqlite"
)

// TestStoreSingleUse: the adapters' single-use store over the durable SQLite store. Of 16
// concurrent marks of one key exactly one is first; the key stays used after the store is
// closed and opened again (a restart); another key is first; a store that fails is an error,
// never a first use.
func TestStoreSingleUse(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	su := storeSingleUse{db}
	until := time.Now().Add(time.Hour)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
	)
	for range 16 {
		wg.Go(func() {
			first, err := su.Use(ctx, "k1", until)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				counts[err.Error()]++
			case first:
				counts["first"]++
			default:
				counts["used"]++
			}
		})
	}
	wg.Wait()
	if d := cmp.Diff(map[string]int{"first": 1, "used": 15}, counts); d != "" {
		t.Errorf("16 concurrent marks (-want +got):\n%s", d)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	su = storeSingleUse{db}
	for _, tc := range []struct {
		key  string
		want bool
	}{{"k1", false}, {"k2", true}, {"k2", false}} {
		if first, err := su.Use(ctx, tc.key, until); err != nil || first != tc.want {
			t.Errorf("after a restart, Use(%q) = %v, %v; want %v", tc.key, first, err, tc.want)
		}
	}
	// Challenge nonces and single-use keys do not meet: the key is stored under its prefix.
	if err := db.ConsumeNonce(ctx, "k1", "", "", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeNonce of the bare key: %v, want store.ErrNotFound", err)
	}

	broken := storeSingleUse{failingNonces{}}
	if first, err := broken.Use(ctx, "k3", until); err == nil || first {
		t.Errorf("a failing store: %v, %v; want an error and not first", first, err)
	}
}

// TestStoreSingleUsePostgres: two daemons' single-use stores on one PostgreSQL database, 32
// concurrent marks of one key spread over both: exactly one is first, and both see the key used
// after.
func TestStoreSingleUsePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	dsn := pgtest.Start(t).NewDatabase(t)
	var daemons [2]storeSingleUse
	for i := range daemons {
		db, err := postgres.Open(t.Context(), dsn, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		daemons[i] = storeSingleUse{db}
	}
	until := time.Now().Add(time.Hour)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
	)
	for i := range 32 {
		wg.Go(func() {
			first, err := daemons[i%2].Use(t.Context(), "shared", until)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				counts[err.Error()]++
			case first:
				counts["first"]++
			default:
				counts["used"]++
			}
		})
	}
	wg.Wait()
	if d := cmp.Diff(map[string]int{"first": 1, "used": 31}, counts); d != "" {
		t.Errorf("32 concurrent marks on two daemons (-want +got):\n%s", d)
	}
}

type failingNonces struct{ store.Nonces }

func (failingNonces) PutNonce(context.Context, store.Nonce) error {
	return errors.New("the database is down")
}
