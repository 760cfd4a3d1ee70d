package postgres_test

import (
	"testing"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/postgres"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
	"github.com/realmgate/realmgate/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a store on a new database of the shared cluster, closed when the test ends.
func open(t *testing.T, opts postgres.Options) *postgres.Store {
	t.Helper()
	dsn := pgtest.Shared(t).NewDatabase(t)
	s, err := postgres.Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, postgres.Options{MaxConns: 4})
	})
}
