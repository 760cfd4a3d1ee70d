package resource

import (
	"crypto/sha256"
	"sync"
	"time"
)

// cacheEntry is a token whose signature, issuer and claims were verified.
type cacheEntry struct {
	client    Client
	key       *verifyKey // the key that verified it; the entry lives only while the key set holds it
	exp       time.Time
	notBefore time.Time
}

// tokenCache remembers verified tokens by the SHA-256 of the token, so a token seen again skips
// the signature. Only tokens that verified enter it, so its size is bounded by the tokens the
// issuer really minted, and bounded again by max.
type tokenCache struct {
	mu  sync.RWMutex
	max int
	m   map[[sha256.Size]byte]*cacheEntry
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, m: make(map[[sha256.Size]byte]*cacheEntry)}
}

func (c *tokenCache) get(sum [sha256.Size]byte) *cacheEntry {
	c.mu.RLock()
	e := c.m[sum]
	c.mu.RUnlock()
	return e
}

// put remembers e, unless its key left the key set while it was being verified (keys returns
// the current key set: retain runs under the same lock after each change of key set, so an entry
// can never outlive its key).
func (c *tokenCache) put(now time.Time, sum [sha256.Size]byte, e *cacheEntry, keys func() *keySet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ks := keys(); ks == nil || ks.keys[e.key.kid] != e.key {
		return
	}
	if len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[sum] = e
}

// evict makes room: it drops expired tokens, then, if the cache is still nearly full, a tenth of
// it chosen at random (map order), which costs less per token than keeping an LRU order on every
// hit.
func (c *tokenCache) evict(now time.Time) {
	for k, e := range c.m {
		if now.After(e.exp.Add(MaxLeeway)) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.max-c.max/10 {
			break
		}
		delete(c.m, k)
	}
}

// retain forgets the tokens whose key is not in ks.
func (c *tokenCache) retain(ks *keySet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if ks.keys[e.key.kid] != e.key {
			delete(c.m, k)
		}
	}
}

// len is the number of tokens remembered.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
