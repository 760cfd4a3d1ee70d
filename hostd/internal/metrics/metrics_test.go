package metrics

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/sqlite"
	"github.com/realmgate/realmgate/store/storetest"

	_ "modernc.org/sqlite" // database/sql's "sqlite" driver, for a real pool
)

// TestNamesFollowConventions lints every series with Prometheus's own linter (promlint):
// counters end in _total, units are base units, help is present.
func TestNamesFollowConventions(t *testing.T) {
	m := New()
	// Give every vector a child, so that the linter sees each series.
	m.Decision("t", engine.OutcomeAllow)
	m.Challenge("r")
	m.AnswerFailed("r", engine.CodeWrongAnswer)
	m.CertificateIssued("r", engine.BridgeBuiltinCA)
	m.CertificateRefused("r", engine.BridgeBuiltinCA)
	m.TokenMinted("t")
	m.TokenValidated(engine.OutcomeActive)
	m.Adapter("A", "wasm", &fakeAdapter{})
	m.Store(&pooledStore{Store: openSQLite(t), db: openPool(t)})
	m.Loaded(time.Now())
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "realmgate_") {
			t.Errorf("%s: not under realmgate_", mf.GetName())
		}
	}
}

// fakeAdapter answers each procedure with the error in errs (nil: ok); block, when set, holds
// calls until it is closed.
type fakeAdapter struct {
	errs  map[string]error
	block chan struct{}
	// inits counts the CallInit calls that reached the adapter's own Initializer.
	inits int
	mu    sync.Mutex
}

func (f *fakeAdapter) Call(ctx context.Context, procedure string, _ json.RawMessage) (json.RawMessage, error) {
	if f.block != nil {
		<-f.block
	}
	if err := f.errs[procedure]; err != nil {
		return nil, err
	}
	if !slices.Contains(f.Procedures(), procedure) {
		return nil, &adapters.Error{Code: adapters.CodeUnknownProcedure, Procedure: procedure}
	}
	return json.RawMessage(`{}`), nil
}

func (f *fakeAdapter) CallInit(ctx context.Context, init adapters.Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	f.mu.Lock()
	f.inits++
	f.mu.Unlock()
	return f.Call(ctx, procedure, input)
}

func (f *fakeAdapter) Procedures() []string {
	return []string{"ok", "fails", "slow", "traps", "gone", "full"}
}
func (f *fakeAdapter) Close(context.Context) error { return nil }

func TestAdapterCalls(t *testing.T) {
	m := New()
	fa := &fakeAdapter{errs: map[string]error{
		"fails": &adapters.Error{Code: adapters.CodeFailed, Message: "no"},
		"slow":  &adapters.Error{Code: adapters.CodeTimeout},
		"traps": &adapters.Error{Code: adapters.CodeOutOfMemory},
		"gone":  &adapters.Error{Code: adapters.CodeUnavailable},
		"full":  &adapters.Error{Code: adapters.CodeBusy},
	}}
	a := m.Adapter("Pay", "plugin", fa)
	ctx := context.Background()
	for _, p := range []string{"ok", "ok", "fails", "slow", "traps", "gone", "full", "nope", "undeclared-" + t.Name()} {
		a.Call(ctx, p, nil)
	}
	if _, err := a.CallInit(ctx, adapters.Init{Procedure: "ok"}, "ok", nil); err != nil {
		t.Fatal(err)
	}
	if fa.inits != 1 {
		t.Errorf("CallInit reached the adapter's Initializer %d times, want 1", fa.inits)
	}
	got := map[string]float64{}
	for _, c := range []struct{ proc, outcome string }{
		{"ok", CallOK}, {"fails", CallError}, {"slow", CallTimeout}, {"traps", CallTrap}, {"gone", CallUnavailable}, {"full", CallBusy}, {"unknown", CallError},
	} {
		got[c.proc+" "+c.outcome] = testutil.ToFloat64(m.adapterCalls.WithLabelValues("Pay", c.proc, "plugin", c.outcome))
	}
	want := map[string]float64{"ok ok": 3, "fails error": 1, "slow timeout": 1, "traps trap": 1, "gone unavailable": 1, "full busy": 1, "unknown error": 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	// A procedure the adapter does not declare shares one label set, whatever its name.
	if n := testutil.CollectAndCount(m.adapterCalls); n != 7*6 {
		t.Errorf("%d call series, want 42 (7 procedure labels × 6 outcomes)", n)
	}

	// Busy counts the calls in progress.
	fa.block = make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { a.Call(ctx, "ok", nil) })
	}
	busy := m.adapterBusy.WithLabelValues("Pay", "plugin")
	waitFor(t, func() bool { return testutil.ToFloat64(busy) == 3 })
	close(fa.block)
	wg.Wait()
	if v := testutil.ToFloat64(busy); v != 0 {
		t.Errorf("busy %v after the calls, want 0", v)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "realmgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStoreConformance: the decorator is a store like the one it wraps.
func TestStoreConformance(t *testing.T) {
	m := New()
	storetest.Run(t, func(t *testing.T) store.Store { return m.Store(openSQLite(t)) })
}

func TestStoreTimesEachOperation(t *testing.T) {
	m := New()
	s := m.Store(openSQLite(t))
	ctx := context.Background()
	now := time.Now()
	if err := s.PutSession(ctx, store.Session{ID: "s1", App: "a", Env: "e", CreatedAt: now, ExpiresAt: now.Add(time.Hour), State: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "s1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "missing", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.RevokeTokens(ctx, store.TokenRevocation{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty revocation: %v, want ErrInvalid", err)
	}
	counts := map[string]uint64{}
	mfs, _ := m.Registry().Gather()
	for _, mf := range mfs {
		if mf.GetName() != "realmgate_store_operation_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if n := mt.GetHistogram().GetSampleCount(); n > 0 {
				counts[mt.GetLabel()[0].GetValue()] = n
			}
		}
	}
	if diff := cmp.Diff(map[string]uint64{"put_session": 1, "get_session": 2, "revoke_tokens": 1}, counts); diff != "" {
		t.Errorf("timed operations (-want +got):\n%s", diff)
	}
	// Not found is an answer; an invalid record is a failure.
	errs := map[string]float64{
		"get_session":   testutil.ToFloat64(m.storeErrors.WithLabelValues("get_session")),
		"revoke_tokens": testutil.ToFloat64(m.storeErrors.WithLabelValues("revoke_tokens")),
	}
	if diff := cmp.Diff(map[string]float64{"get_session": 0, "revoke_tokens": 1}, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// pooledStore is a store that reports a real database/sql pool.
type pooledStore struct {
	store.Store
	db *sql.DB
}

func (p *pooledStore) PoolStats() map[string]sql.DBStats {
	return map[string]sql.DBStats{"main": p.db.Stats()}
}

func openPool(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "pool.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPoolSaturation reads a real pool: both connections held, a third request waiting.
func TestPoolSaturation(t *testing.T) {
	m := New()
	db := openPool(t)
	m.Store(&pooledStore{Store: openSQLite(t), db: db})
	ctx := context.Background()
	c1, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *sql.Conn)
	go func() {
		c, _ := db.Conn(ctx) // waits for a connection
		got <- c
	}()
	time.Sleep(50 * time.Millisecond)
	c1.Close()
	c3 := <-got
	want := `
# HELP realmgate_store_connections Store connections by pool and state (open = in_use + idle).
# TYPE realmgate_store_connections gauge
realmgate_store_connections{pool="main",state="idle"} 0
realmgate_store_connections{pool="main",state="in_use"} 2
realmgate_store_connections{pool="main",state="open"} 2
# HELP realmgate_store_connections_max The most connections a pool opens (0: no limit).
# TYPE realmgate_store_connections_max gauge
realmgate_store_connections_max{pool="main"} 2
# HELP realmgate_store_connection_waits_total Requests for a connection that waited for one, by pool.
# TYPE realmgate_store_connection_waits_total counter
realmgate_store_connection_waits_total{pool="main"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), PoolSeries[:3]...); err != nil {
		t.Error(err)
	}
	if v := gatheredValue(t, m, PoolSeries[3]); v <= 0 {
		t.Errorf("%s %v, want the wait", PoolSeries[3], v)
	}
	c2.Close()
	c3.Close()
}

func gatheredValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

// noPools is a store that does not report its pools.
type noPools struct{ store.Store }

// TestNoPoolsNoSeries: a store that does not report pools has no pool series (not zeros that
// would read as an idle pool); SQLite reports its writer and readers.
func TestNoPoolsNoSeries(t *testing.T) {
	m := New()
	m.Store(noPools{openSQLite(t)})
	if n := testutil.CollectAndCount(m.pools); n != 0 {
		t.Errorf("%d pool series for a store without pools", n)
	}
	m = New()
	m.Store(openSQLite(t))
	if n := testutil.CollectAndCount(m.pools); n == 0 {
		t.Error("no pool series for SQLite")
	}
}

func openBenchSQLite(b *testing.B) (*sqlite.Store, error) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "realmgate.db"))
	if err == nil {
		b.Cleanup(func() { s.Close() })
	}
	return s, err
}

// TestStoreTimesEveryMethod: every method of the store contract has its operation, and the
// decorator declares it (a method only promoted from the wrapped store is not timed).
func TestStoreTimesEveryMethod(t *testing.T) {
	contract := reflect.TypeFor[store.Store]()
	for i := range contract.NumMethod() {
		name := contract.Method(i).Name
		if name == "Close" {
			continue
		}
		op := strings.ToLower(regexp.MustCompile(`([a-z])([A-Z])`).ReplaceAllString(name, "${1}_${2}"))
		if !slices.Contains(opNames, op) {
			t.Errorf("store.Store.%s is not timed: add var op%s = defineOp(%q) and its method to store.go", name, name, op)
		}
	}
	if got, want := len(opNames), contract.NumMethod()-1; got != want {
		t.Errorf("%d operations for %d methods of the contract (Close aside)", got, want)
	}
}

// contendedStore is a store whose units of work all give up on conflicts, after running fn
// three times.
type contendedStore struct{ store.Store }

func (c contendedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	for range 3 {
		_ = c.Store.Update(ctx, func(tx store.Tx) error { fn(tx); return errors.New("serialization failure") })
	}
	return fmt.Errorf("unit: %w", &store.ContentionError{Attempts: 3, Err: errors.New("serialization failure")})
}

// TestStoreCountsContention: a unit that gave up on conflicts counts in
// realmgate_store_unit_contention_total (and as a failed update), its runs beyond the first in
// realmgate_store_unit_retries_total; a unit that failed otherwise, in one run, in neither.
func TestStoreCountsContention(t *testing.T) {
	m := New()
	s := m.Store(contendedStore{openSQLite(t)})
	ctx := context.Background()
	for range 2 {
		var ce *store.ContentionError
		if err := s.Update(ctx, func(store.Tx) error { return nil }); !errors.As(err, &ce) {
			t.Fatalf("Update: %v, want the ContentionError through the decorator", err)
		}
	}
	plain := m.Store(openSQLite(t))
	if err := plain.Update(ctx, func(store.Tx) error { return errors.New("the unit's own error") }); err == nil {
		t.Fatal("Update whose fn failed: nil error")
	}
	got := map[string]float64{
		"contention": testutil.ToFloat64(m.storeContention),
		"retries":    testutil.ToFloat64(m.storeRetries),
		"errors":     testutil.ToFloat64(m.storeErrors.WithLabelValues("update")),
	}
	if diff := cmp.Diff(map[string]float64{"contention": 2, "retries": 4, "errors": 3}, got); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}
