package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/store"
)

// stateSeeds are states as saveSession writes them, and a few written otherwise.
var stateSeeds = []string{
	`{"lineage":"l"}`,
	`{"lineage":"94OY","version":"2.1.0","instanceId":"IXhG","realms":{"wl_anonymousUserRealm":{"passed":true,"identity":{"displayName":"1a0a","realm":"wl_anonymousUserRealm","userId":"1a0a"}},"wl_antiXSRFRealm":{"challenged":true,"data":{"test":"web"}}}}`,
	`{"lineage":"l","realms":{"PasswordRealm":{"passed":true,"expiresAt":"2026-12-06T18:14:25.123456789+01:00","lastUsed":"2026-12-06T17:14:25Z","identity":{"userId":"alice","n":1.5e3,"ok":false,"none":null,"list":[1,"two",{"three":3}],"attributes":{"mail":"a@example.com"}},"failures":2,"refused":true}},"tokenSession":"t"}`,
	`{"lineage":"\u00e9\u2028<&>\ufffd","realms":{"r":{"identity":{"k":"\ud83d\ude00"}}}}`,
	`{"lineage":"l","realms":{"r":null}}`,
	`{"lineage":"l","Lineage":"m"}`,
	`{"lineage":"l","lineage":"m"}`,
	`{"lineage":"` + "\xff" + `"}`,
	`{"realms":{"r":{"expiresAt":"yesterday"}}}`,
	`null`, `[]`, `{"realms":[]}`,
}

// TestDecodeStateReadsWhatSaveSessionWrites: every state saveSession writes (encoding/json)
// decodes to the state encoding/json would decode; times keep their instant, identities their
// values.
func TestDecodeStateReadsWhatSaveSessionWrites(t *testing.T) {
	zone := time.FixedZone("CET", 3600)
	for _, st := range []state{
		{Lineage: "l"},
		{
			Lineage: "l", Version: "2.1.0", InstanceID: "i", TokenSession: "t",
			Realms: map[string]*realmState{
				"PasswordRealm": {
					Passed: true, ExpiresAt: time.Date(2026, 12, 6, 18, 14, 25, 123456789, zone), LastUsed: time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC),
					Identity: map[string]any{"userId": "alice", "n": 1500.0, "ok": false, "none": nil, "list": []any{1.0, "two", map[string]any{"three": 3.0}}},
					Failures: 2, Refused: true, Challenged: true,
					Data: map[string]string{"test": "web", "<&>": "\u2028"},
				},
				"wl_antiXSRFRealm": {Challenged: true},
				"invalid UTF-8":    {Identity: map[string]any{"name": "a\xffb"}, Data: map[string]string{"k\xfe": "v"}},
			},
		},
	} {
		b, err := json.Marshal(&st)
		if err != nil {
			t.Fatal(err)
		}
		checkDecodesAlike(t, b)
	}
}

// checkDecodesAlike checks that decodeState decodes b as encoding/json does, where encoding/json
// wrote b.
func checkDecodesAlike(t *testing.T, b []byte) {
	t.Helper()
	var want, got state
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("encoding/json cannot read what it wrote: %v", err)
	}
	if err := decodeState(b, &got); err != nil {
		t.Fatalf("decodeState(%s): %v", b, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("decodeState(%s) differs from encoding/json (-json +decodeState):\n%s", b, diff)
	}
}

// TestDecodeStateRefuses: a state saveSession could not have written (a member named twice, in
// another case, or invalid UTF-8) is refused, not read as something else.
func TestDecodeStateRefuses(t *testing.T) {
	for _, b := range []string{
		`{"lineage":"l","lineage":"m"}`,
		`{"lineage":"` + "\xff" + `"}`,
		`{"realms":{"r":{"expiresAt":"yesterday"}}}`,
		`{"realms":[]}`,
		`{"lineage":"l"`,
	} {
		var st state
		if err := decodeState([]byte(b), &st); err == nil {
			t.Errorf("decodeState(%q) = %+v, want an error", b, st)
		}
	}
	// A member in another case is not the field: it is ignored, as any unknown member is.
	var st state
	if err := decodeState([]byte(`{"Lineage":"m","lineage":"l"}`), &st); err != nil || st.Lineage != "l" {
		t.Errorf("decodeState of a member in another case = %+v, %v", st, err)
	}
}

// FuzzDecodeState: for any state encoding/json decodes, decodeState decodes what saveSession
// would write of it exactly as encoding/json does; decodeState never panics, and what it decodes
// clones to an equal state.
func FuzzDecodeState(f *testing.F) {
	for _, s := range stateSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var st state
		if decodeState(data, &st) == nil {
			if diff := cmp.Diff(st, st.clone()); diff != "" {
				t.Fatalf("clone differs (-state +clone):\n%s", diff)
			}
		}
		var v1 state
		if err := json.Unmarshal(data, &v1); err != nil {
			return
		}
		b, err := json.Marshal(&v1)
		if err != nil {
			if strings.Contains(err.Error(), "unsupported value") {
				return // a NaN or infinite number, which JSON cannot hold
			}
			t.Fatal(err)
		}
		checkDecodesAlike(t, b)
	})
}

// TestStateCache: a session whose stored bytes did not change is not decoded again, yet each
// load gets a state of its own; changed bytes are decoded; a state that does not decode is not
// cached; the cache stays within its bound.
func TestStateCache(t *testing.T) {
	var c stateCache
	raw := []byte(`{"lineage":"l","realms":{"r":{"passed":true,"identity":{"userId":"alice","attributes":{"groups":["a","b"]}},"data":{"test":"t"}}}}`)
	var first state
	if err := c.decode("k", raw, &first); err != nil {
		t.Fatal(err)
	}
	var want state
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Fatalf("first decode (-want +got):\n%s", diff)
	}
	// Change everything the first load got, down to the identity's nested values.
	first.Lineage = "changed"
	first.Realms["r"].Passed = false
	first.Realms["r"].Data["test"] = "changed"
	first.Realms["r"].Identity["userId"] = "mallory"
	first.Realms["r"].Identity["attributes"].(map[string]any)["groups"].([]any)[0] = "admin"
	first.Realms["new"] = &realmState{Passed: true}

	var second state
	if err := c.decode("k", bytes.Clone(raw), &second); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, second); diff != "" {
		t.Fatalf("a load after another load changed its state (-want +got):\n%s", diff)
	}
	if _, hit := c.m["k"]; !hit {
		t.Fatal("the state is not cached")
	}

	// Other bytes under the same key: decoded, not taken from the cache.
	other := []byte(`{"lineage":"m"}`)
	var third state
	if err := c.decode("k", other, &third); err != nil || third.Lineage != "m" || third.Realms != nil {
		t.Fatalf("changed bytes: %+v, %v", third, err)
	}
	// Bytes that do not decode fail every time, and are not cached.
	for range 2 {
		var bad state
		if err := c.decode("bad", []byte(`{"lineage":1}`), &bad); err == nil {
			t.Fatal("a state that does not decode was accepted")
		}
	}
	if _, hit := c.m["bad"]; hit {
		t.Error("a state that does not decode was cached")
	}
	for i := range 2 * stateCacheLimit {
		var st state
		if err := c.decode(fmt.Sprint(i), raw, &st); err != nil {
			t.Fatal(err)
		}
		if len(c.m) > stateCacheLimit {
			t.Fatalf("the cache holds %d states, more than %d", len(c.m), stateCacheLimit)
		}
	}
}

// TestSessionKeys: a session's store key and log reference follow its id, through rotations and
// their undoing, and are what storeKey and SessionRef say.
func TestSessionKeys(t *testing.T) {
	s := &session{rec: store.Session{ID: newID()}}
	check := func(when string) {
		t.Helper()
		if got, want := s.storeKey(), storeKey(s.rec.ID); got != want {
			t.Errorf("%s: storeKey() = %s, want %s", when, got, want)
		}
		if got, want := s.ref(), SessionRef(s.rec.ID); got != want {
			t.Errorf("%s: ref() = %s, want %s", when, got, want)
		}
	}
	check("new")
	s.rotate()
	check("rotated")
	s.rec.ID, s.rotated = s.rotated, "" // a refusal undoes the rotation
	check("rotation undone")
	s.rec.ID = ""
	if s.ref() != "" || SessionRef("") != "" {
		t.Error("a session without an id has a reference")
	}
}

// TestStateCacheRemember: a state cached as it is committed is what decoding its stored bytes
// gives, and stays so whatever its request does with it afterwards; a state that decoding would
// change (an identity value JSON does not decode to, a string that is not UTF-8) is not cached,
// nor left cached under its key; the key a rotation left is dropped.
func TestStateCacheRemember(t *testing.T) {
	now := time.Now() // with a monotonic reading, which a decoded time has not
	login := func(identity map[string]any) *state {
		return &state{Lineage: "l", Version: "2.1.0", InstanceID: "i", Realms: map[string]*realmState{
			"LdapRealm": {Passed: true, LastUsed: now, ExpiresAt: now.Add(time.Hour), Identity: identity,
				Data: map[string]string{"test": "ldap"}, Nonces: []string{"n1"}},
			"wl_antiXSRFRealm": {Passed: true},
			"empty":            {},
		}}
	}
	ldapIdentity := func() map[string]any {
		return map[string]any{"userId": "alice", "displayName": "Alice", "realm": "LdapRealm",
			"groups": []any{"tellers"}, "groupDNs": []any{"cn=tellers,ou=groups,dc=example,dc=com"},
			"attributes": map[string]any{"mail": []any{"alice@example.com"}, "none": []any{}},
			"n":          1.5, "ok": true, "null": nil}
	}
	for _, tc := range []struct {
		name   string
		st     *state
		cached bool
	}{
		{"a directory login", login(ldapIdentity()), true},
		{"no realm", &state{Lineage: "l"}, true},
		{"an identity value of a Go type", login(map[string]any{"userId": "alice", "groups": []string{"tellers"}}), false},
		{"an integer", login(map[string]any{"userId": "alice", "serial": 7}), false},
		{"a user name that is not UTF-8", login(map[string]any{"userId": "al\xffce"}), false},
		{"a key that is not UTF-8", login(map[string]any{"userId": "alice", "k\xff": "v"}), false},
		{"a version that is not UTF-8", &state{Lineage: "l", Version: "2.\xff"}, false},
		{"data that is not UTF-8", &state{Lineage: "l", Realms: map[string]*realmState{"r": {Data: map[string]string{"k": "\xff"}}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c stateCache
			raw, err := json.Marshal(tc.st)
			if err != nil {
				t.Fatal(err)
			}
			// Something cached before under the key and under the key the rotation left.
			for _, k := range []string{"new", "old"} {
				var st state
				if err := c.decode(k, []byte(`{"lineage":"before"}`), &st); err != nil {
					t.Fatal(err)
				}
			}
			c.remember("new", raw, tc.st, "old")
			if _, ok := c.m["old"]; ok {
				t.Error("the key a rotation left is still cached")
			}
			cached, ok := c.m["new"]
			if ok != tc.cached {
				t.Fatalf("cached: %v, want %v", ok, tc.cached)
			}
			if !ok {
				return
			}
			var want state
			if err := decodeState(raw, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, cached.st); diff != "" {
				t.Errorf("the cached state is not the stored one decoded (-want +got):\n%s", diff)
			}
			for _, rs := range cached.st.Realms {
				if rs.LastUsed != rs.LastUsed.Round(0) || rs.ExpiresAt != rs.ExpiresAt.Round(0) {
					t.Error("a cached time keeps its monotonic reading")
				}
			}
			// The request goes on changing its state and the identity it returned.
			if rs := tc.st.Realms["LdapRealm"]; rs != nil {
				rs.Passed = false
				rs.Identity["userId"] = "mallory"
				rs.Identity["groups"].([]any)[0] = "admin"
				rs.Data["test"] = "changed"
			}
			var got state
			if err := c.decode("new", raw, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("a load after its writer changed its state (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoundTripsKnowsEveryField: roundTrips decides whether a committed state may be cached as it
// is, field by field. A field added to state or realmState must be checked there too (or make
// it refuse states that hold it): a value that decoding would give back otherwise (a Go type in
// an any, a string that is not UTF-8, raw JSON not compacted) would be served from the cache
// as it never was stored.
func TestRoundTripsKnowsEveryField(t *testing.T) {
	for _, tc := range []struct {
		typ     reflect.Type
		checked []string
	}{
		{reflect.TypeFor[state](), []string{"Lineage", "Version", "InstanceID", "Realms", "TokenSession", "Scripts"}},
		{reflect.TypeFor[realmState](), []string{"Passed", "ExpiresAt", "LastUsed", "Identity", "Challenged", "Failures", "Refused", "Data", "Nonces"}},
	} {
		var fields []string
		for f := range tc.typ.Fields() {
			fields = append(fields, f.Name)
		}
		if diff := cmp.Diff(tc.checked, fields); diff != "" {
			t.Errorf("the fields of %s are not the ones roundTrips checks (-checked +fields):\n%s", tc.typ, diff)
		}
	}
}
