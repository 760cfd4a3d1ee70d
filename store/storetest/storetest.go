// Package storetest is the conformance suite every store.Store implementation passes.
//
// An implementation's own test calls Run with a function that opens an empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "realmgate.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite checks the behaviour store/store.go documents, so that the engine can be written
// against the contract and run on any backend: round trips of every record (times at
// Precision, in UTC), replacement, ErrNotFound, ErrConflict and ErrInvalid, expiry boundaries,
// single use of nonces under concurrent consumers, failed-login counts under concurrent adds,
// ordering and paging of lists, cancelled contexts, and units of work (Update): the writes of one
// unit commit together or not at all (a failing fn, a duplicate serial, a nonce consumed twice, a
// cancelled context), a unit reads its own writes, and concurrent units lose none of theirs.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/realmgate/realmgate/store"
)

// Precision is the time precision every store keeps; finer parts are dropped.
const Precision = time.Microsecond

// Run runs the conformance suite against stores opened by open.
//
// open is called once per subtest, possibly from parallel subtests, and must return an empty
// store that no other call shares. It arranges for the store to be closed with t.Cleanup;
// Close must tolerate a second call, because the suite also closes some stores itself.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Sessions", sessionTests},
		{"Users", userTests},
		{"Devices", deviceTests},
		{"RemoteDisable", ruleTests},
		{"Nonces", nonceTests},
		{"Certificates", certificateTests},
		{"LoginFailures", loginFailureTests},
		{"Audit", auditTests},
		{"TokenRevocations", tokenRevocationTests},
		{"Blobs", blobTests},
		{"Times", timeTests},
		{"Lifecycle", lifecycleTests},
		{"Update", updateTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, open(t))
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// base is a fixed instant with a sub-microsecond part in a zone other than UTC, so that every
// round trip exercises truncation and conversion to UTC.
var base = time.Date(2031, time.March, 4, 5, 6, 7, 123456789, time.FixedZone("UTC+0530", 5*3600+1800))

// norm is what a store returns for t.
func norm(t time.Time) time.Time { return t.Truncate(Precision).UTC() }

// diffOpts compares records: times by instant (time.Time.Equal), nil and empty slices alike.
var diffOpts = []cmp.Option{cmpopts.EquateEmpty()}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, diffOpts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

// checkUTC fails when any of times is not in UTC.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if tm.Location() != time.UTC {
			t.Errorf("%s: time %d is in %v, want UTC", what, i, tm.Location())
		}
	}
}

// normJSON re-encodes a JSON document so that documents equal as JSON compare equal as bytes
// (a store may keep audit details as parsed JSON, which loses spacing and key order).
func normJSON(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("stored audit detail is not JSON: %v: %q", err, raw)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cancelled returns a context that is already cancelled.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// RunNonces runs the nonce part of the suite against a store.Nonces that is kept apart from the
// rest of the state (an in-memory one, store/memnonce). open must return an empty one.
func RunNonces(t *testing.T, open func(t *testing.T) store.Nonces) {
	t.Helper()
	tests := append([]test{{"CancelledContext", func(t *testing.T, s store.Store) {
		ctx := cancelled(t)
		wantErr(t, "PutNonce with a cancelled context", s.PutNonce(ctx, nonce("n1", base.Add(time.Minute))), context.Canceled)
		wantErr(t, "ConsumeNonce with a cancelled context", s.ConsumeNonce(ctx, "n1", "sess-1", "wl_deviceNoProvisioningRealm", base), context.Canceled)
		_, err := s.DeleteExpiredNonces(ctx, base)
		wantErr(t, "DeleteExpiredNonces with a cancelled context", err, context.Canceled)
		wantErr(t, "ConsumeNonce of a nonce put with a cancelled context",
			s.ConsumeNonce(t.Context(), "n1", "sess-1", "wl_deviceNoProvisioningRealm", base), store.ErrNotFound)
	}}}, nonceTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, noncesOnly{n: open(t)})
		})
	}
}

// noncesOnly is a store.Store of which only the nonce methods work; the nonce tests call no
// other.
type noncesOnly struct {
	store.Store // nil: any other method panics
	n           store.Nonces
}

func (s noncesOnly) PutNonce(ctx context.Context, v store.Nonce) error { return s.n.PutNonce(ctx, v) }
func (s noncesOnly) ConsumeNonce(ctx context.Context, value, sessionID, realm string, now time.Time) error {
	return s.n.ConsumeNonce(ctx, value, sessionID, realm, now)
}
func (s noncesOnly) DeleteExpiredNonces(ctx context.Context, now time.Time) (int, error) {
	return s.n.DeleteExpiredNonces(ctx, now)
}
