package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/realmgate/realmgate/internal/secretfile"
	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/postgres"
	"github.com/realmgate/realmgate/store/sqlite"
)

// openStore opens the store the settings select: the SQLite file in the data folder, or the
// PostgreSQL database of store.dsn (dsnFile, dsnEnv). Neither the DSN nor its password is
// logged or put in an error.
func openStore(ctx context.Context, st Settings, log *slog.Logger) (store.Store, error) {
	if st.Store.Driver != DriverPostgres {
		path := filepath.Join(st.Data, "realmgate.db")
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("opening the store: %w", err)
		}
		log.Info("store opened", "driver", DriverSQLite, "path", path)
		return db, nil
	}
	dsn, err := st.Store.dsn()
	if err != nil {
		return nil, err
	}
	db, err := postgres.Open(ctx, dsn, postgres.Options{
		MaxConns:         st.Store.MaxConns,
		ConnectTimeout:   time.Duration(st.Store.ConnectTimeout),
		StatementTimeout: time.Duration(st.Store.StatementTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("opening the PostgreSQL store: %w", err)
	}
	log.Info("store opened", "driver", DriverPostgres, "schemaVersion", postgres.SchemaVersion)
	return db, nil
}

// dsn returns the DSN of the postgres driver, from the file, the variable or the setting.
func (s StoreSettings) dsn() (string, error) {
	switch {
	case s.DSNFile != "":
		b, err := secretfile.Read(s.DSNFile)
		if err != nil {
			return "", fmt.Errorf("store.dsnFile: %w", err)
		}
		dsn := strings.TrimSpace(string(b))
		if dsn == "" {
			return "", fmt.Errorf("store.dsnFile: %s is empty", s.DSNFile)
		}
		return dsn, nil
	case s.DSNEnv != "":
		dsn := strings.TrimSpace(os.Getenv(s.DSNEnv))
		if dsn == "" {
			return "", fmt.Errorf("store.dsnEnv: the environment variable %s is not set or empty", s.DSNEnv)
		}
		return dsn, nil
	}
	return s.DSN, nil
}
