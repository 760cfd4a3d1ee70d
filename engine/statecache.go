package engine

import (
	"bytes"
	"maps"
	"slices"
	"sync"
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
