package postgres_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/store/postgres"
)

// FuzzParseConfig feeds arbitrary DSNs, each holding a marker where a password would go or
// elsewhere. ParseConfig must not panic; an error must be ErrBadDSN and must not show the
// marker (a DSN that does not parse is never quoted, since a password in it could not be told
// apart); a config it accepts must have the pool limits and timeouts set.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range [][2]string{
		{"postgres://rg:", "@db:5432/realmgate?sslmode=verify-full"},
		{"postgresql://rg:", "@[::1]:5432/db?pool_max_conns=4&connect_timeout=3"},
		{"host=db user=rg password=", " dbname=r statement_timeout=100"},
		{"host=db password='", "' pool_min_conns=9 pool_max_conns=2"},
		{"postgres://rg@db/x?password=", "&pool_max_conn_lifetime=1h"},
		{"postgres://", ":x@h:99999/d"},
		{"postgres://rg:%zz", "@h/d"},
		{"host=/tmp port=", " pool_max_conns=-1"},
		{"", ""},
		{"postgres://u:p@h/d?connect_timeout=", ""},
		{"postgres://u:p@h/d?pool_health_check_period=", "&target_session_attrs=read-write"},
	} {
		f.Add(seed[0], seed[1])
	}
	const marker = "Mk7QxZ"
	f.Fuzz(func(t *testing.T, before, after string) {
		dsn := before + marker + after
		cfg, err := postgres.ParseConfig(dsn, postgres.Options{})
		if err != nil {
			if !errors.Is(err, postgres.ErrBadDSN) {
				t.Fatalf("ParseConfig(%q): %v, want ErrBadDSN", dsn, err)
			}
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("ParseConfig(%q): the error shows part of the DSN: %v", dsn, err)
			}
			return
		}
		if cfg.MaxConns <= 0 || cfg.MinConns > cfg.MaxConns || cfg.ConnConfig.ConnectTimeout <= 0 ||
			cfg.ConnConfig.RuntimeParams["statement_timeout"] == "" {
			t.Fatalf("ParseConfig(%q): pool %d..%d, connect timeout %v, statement timeout %q", dsn,
				cfg.MinConns, cfg.MaxConns, cfg.ConnConfig.ConnectTimeout, cfg.ConnConfig.RuntimeParams["statement_timeout"])
		}
	})
}
