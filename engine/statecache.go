package engine

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"unicode/utf8"
)

// stateCache keeps, for the sessions used lately, the state last decoded and the stored bytes it
// was decoded from. Every request reads its session from the store, and most find it as the last
// one left it: the bytes are compared with the cached ones, and when they are equal a copy of the
// decoded state is used rather than a decoding. The store stays the only truth: a session another
// daemon or request changed has other bytes, and is decoded.
type stateCache struct {
	mu sync.Mutex
	m  map[string]cachedState // by store key
	// bytes is the size of the stored states cached, bounded by stateCacheBytes.
	bytes int
}

type cachedState struct {
	raw []byte
	st  state
}

// stateCacheLimit bounds the cache's sessions, stateCacheBytes the stored bytes of their states
// (the decoded copies take a few times more); when either is reached the cache is cleared (a
// decoding is what a miss costs).
const (
	stateCacheLimit = 4096
	stateCacheBytes = 8 << 20
)

// decode sets *st to the state stored as raw for the session of store key key.
func (c *stateCache) decode(key string, raw []byte, st *state) error {
	c.mu.Lock()
	cached, ok := c.m[key]
	c.mu.Unlock()
	if ok && bytes.Equal(cached.raw, raw) {
		*st = cached.st.clone()
		return nil
	}
	if err := decodeState(raw, st); err != nil {
		return err
	}
	cached = cachedState{raw: bytes.Clone(raw), st: st.clone()}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= stateCacheLimit || c.bytes+len(raw) > stateCacheBytes {
		c.m, c.bytes = map[string]cachedState{}, 0
	}
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.raw)
	}
	c.m[key] = cached
	c.bytes += len(raw)
	c.mu.Unlock()
	return nil
}

// remember caches st as the state of the session of store key key, just committed as raw, so
// that the session's next request finds it without decoding raw: the request that wrote a state
// is usually followed by the same client's next one (a challenge by its answer, an answer by the
// request it unlocks). It caches only a state that decoding raw would give back as it is (every
// identity value a JSON value as decoding makes it: string, float64, bool, nil, []any,
// map[string]any), with its times stripped of their monotonic reading as decoded times are;
// any other state is left to be decoded. The cache holds a copy: the request's own state and
// the identities it returns stay its caller's. rotated, when set, is the store key the
// session had before its id was rotated: that record is gone.
func (c *stateCache) remember(key string, raw []byte, st *state, rotated string) {
	if !roundTrips(st) {
		c.forget(key, rotated)
		return
	}
	cached := cachedState{raw: raw, st: st.clone()}
	for _, rs := range cached.st.Realms {
		if rs != nil {
			rs.ExpiresAt, rs.LastUsed = rs.ExpiresAt.Round(0), rs.LastUsed.Round(0)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rotated != "" {
		c.dropLocked(rotated)
	}
	if c.m == nil || len(c.m) >= stateCacheLimit || c.bytes+len(raw) > stateCacheBytes {
		c.m, c.bytes = map[string]cachedState{}, 0
	}
	c.dropLocked(key)
	c.m[key] = cached
	c.bytes += len(raw)
}

// forget drops the states cached under the keys given.
func (c *stateCache) forget(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		c.dropLocked(k)
	}
}

func (c *stateCache) dropLocked(key string) {
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.raw)
		delete(c.m, key)
	}
}

// roundTrips reports whether decoding st's encoding gives st back: every string valid UTF-8
// (encoding/json replaces what is not) and every identity value one that JSON decoding into an
// any makes. Every field of state and realmState is checked here or cannot change in a round
// trip (TestRoundTripsKnowsEveryField fails on a field added without a look here).
func roundTrips(st *state) bool {
	if !utf8.ValidString(st.Lineage) || !utf8.ValidString(st.Version) || !utf8.ValidString(st.InstanceID) ||
		!utf8.ValidString(st.TokenSession) {
		return false
	}
	for name, raw := range st.Scripts {
		// Stored JSON decodes into a json.RawMessage as encoding/json wrote it: compact.
		if !utf8.ValidString(name) || !compactJSON(raw) {
			return false
		}
	}
	for name, rs := range st.Realms {
		if !utf8.ValidString(name) {
			return false
		}
		if rs == nil {
			continue
		}
		if !jsonShaped(rs.Identity) {
			return false
		}
		for k, v := range rs.Data {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return false
			}
		}
		for _, n := range rs.Nonces {
			if !utf8.ValidString(n) {
				return false
			}
		}
	}
	return true
}

// jsonShaped reports whether v holds only the values JSON decoding into an any makes, with
// strings of valid UTF-8.
func jsonShaped(v any) bool {
	switch x := v.(type) {
	case nil, float64, bool:
		return true
	case string:
		return utf8.ValidString(x)
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) || !jsonShaped(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !jsonShaped(e) {
				return false
			}
		}
		return true
	}
	return false
}

// clone copies the state deeply: a request changes its session's state, and the identities it
// returns are its caller's.
func (s *state) clone() state {
	c := *s
	c.Scripts = maps.Clone(s.Scripts) // the values are replaced, never changed in place
	if s.Realms != nil {
		c.Realms = maps.Clone(s.Realms)
		copies := make([]realmState, 0, len(s.Realms)) // one allocation for them all
		for name, rs := range c.Realms {
			if rs == nil {
				continue
			}
			copies = append(copies, *rs)
			r := &copies[len(copies)-1]
			r.Identity = cloneJSON(rs.Identity)
			r.Data = maps.Clone(rs.Data)
			r.Nonces = slices.Clone(rs.Nonces)
			c.Realms[name] = r
		}
	}
	return c
}

// cloneJSON copies a decoded JSON object deeply.
func cloneJSON(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := maps.Clone(m)
	for k, v := range out {
		switch v.(type) {
		case map[string]any, []any:
			out[k] = cloneJSONValue(v)
		}
	}
	return out
}

func cloneJSONValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneJSON(x)
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneJSONValue(e)
		}
		return out
	}
	return v // nil, bool, float64, string: values
}

// compactJSON reports whether raw is valid UTF-8 JSON as encoding/json writes a json.RawMessage
// and decoding gives it back: compact, and with none of the characters it escapes for HTML.
func compactJSON(raw []byte) bool {
	if !utf8.Valid(raw) || bytes.ContainsAny(raw, "<>&\u2028\u2029") {
		return false
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return false
	}
	return bytes.Equal(b.Bytes(), raw)
}
