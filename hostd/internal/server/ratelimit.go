package server

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimits bound how fast challenges are answered: per client address, and per realm over
// all clients. A client's bucket is spent by each answer (POST /api/v1/auth/{realm}, a static
// request's Authorization: Basic header) and by each new session (a request that creates one);
// a realm's bucket by each answer to that realm. Over a limit the request gets 429 rate_limited
// with Retry-After, before any credential is checked or any session state is read.
//
// The limits are a daemon's own (in memory): several daemons behind a balancer each apply
// them. The engine's login backoff (engine/backoff.go), shared in the store, is what stops
// password guessing across daemons; these limits keep a flood from costing bcrypt, policy
// evaluations and store writes.
type RateLimits struct {
	// AnswersPerClient is the rate, per second, of one client's answers and new sessions; 0
	// disables the per-client limit. ClientBurst answers may come at once.
	AnswersPerClient float64
	ClientBurst      int
	// AnswersPerRealm is the rate, per second, of one realm's answers from all clients; 0
	// disables the per-realm limit. RealmBurst answers may come at once.
	AnswersPerRealm float64
	RealmBurst      int
	// MaxClients bounds the clients tracked at once (default 65536): when the table is full,
	// clients whose bucket has refilled are forgotten (nothing is lost: a full bucket is a new
	// one), and when too few have, the least recently seen.
	MaxClients int
}

// Default rate limits: a person answers a few challenges a minute, and an app a handful when
// it starts; a client that exceeds these is a script.
const (
	DefaultAnswersPerClient = 20
	DefaultClientBurst      = 100
	DefaultAnswersPerRealm  = 2000
	DefaultRealmBurst       = 4000
	DefaultMaxClients       = 1 << 16
)

// Validate checks the limits: no negative rate, a burst of at least 1 where a rate is set.
func (l RateLimits) Validate() error {
	switch {
	case l.AnswersPerClient < 0 || l.AnswersPerRealm < 0 || math.IsNaN(l.AnswersPerClient) || math.IsNaN(l.AnswersPerRealm) ||
		math.IsInf(l.AnswersPerClient, 0) || math.IsInf(l.AnswersPerRealm, 0):
		return fmt.Errorf("answersPerClient and answersPerRealm are answers per second: a positive number, or 0 for no limit")
	case l.AnswersPerClient > 0 && l.ClientBurst < 1:
		return fmt.Errorf("clientBurst must be at least 1 when answersPerClient is set")
	case l.AnswersPerRealm > 0 && l.RealmBurst < 1:
		return fmt.Errorf("realmBurst must be at least 1 when answersPerRealm is set")
	case l.MaxClients < 0:
		return fmt.Errorf("rateLimitedClients (the number of clients tracked) cannot be negative")
	}
	return nil
}

// limiter applies RateLimits. Its client table is bounded (RateLimits.MaxClients); its realm
// table holds only realms of the loaded configuration, which the caller checks.
type limiter struct {
	cfg RateLimits
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*clientBucket
	realms  map[string]*rate.Limiter
}

type clientBucket struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

func newLimiter(cfg RateLimits, now func() time.Time) *limiter {
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if now == nil {
		now = time.Now
	}
	return &limiter{cfg: cfg, now: now, clients: map[string]*clientBucket{}, realms: map[string]*rate.Limiter{}}
}

// limitedError is the refusal of a request over a limit.
func limitedError(what string, wait time.Duration) *apiError {
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &apiError{Code: codeRateLimited, RetryAfter: time.Duration(secs) * time.Second,
		Message: what + ": try again in " + strconv.FormatInt(secs, 10) + " s",
		Details: map[string]any{"retryAfter": secs}}
}

// answer takes a token of client's bucket and, when realm is not "", of realm's; it returns the
// refusal when either is empty (and then takes none).
func (l *limiter) answer(client, realm string) *apiError {
	if l == nil {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var rc *rate.Reservation
	if c := l.client(client, now); c != nil {
		rc = c.ReserveN(now, 1)
		if d := rc.DelayFrom(now); d > 0 {
			rc.CancelAt(now)
			return limitedError("too many answers and new sessions from this client", d)
		}
	}
	if r := l.realm(realm); r != nil {
		rr := r.ReserveN(now, 1)
		if d := rr.DelayFrom(now); d > 0 {
			rr.CancelAt(now)
			if rc != nil {
				rc.CancelAt(now)
			}
			return limitedError("too many answers to realm "+realm+" from all clients", d)
		}
	}
	return nil
}

// newSession takes a token of client's bucket for a session the request creates.
func (l *limiter) newSession(client string) *apiError {
	if l == nil {
		return nil
	}
	return l.answer(client, "")
}

// client returns the bucket of client, making room in the table for a new one; nil when the
// per-client limit is off. The caller holds l.mu.
func (l *limiter) client(client string, now time.Time) *rate.Limiter {
	if l.cfg.AnswersPerClient <= 0 {
		return nil
	}
	key := limitKey(client)
	if c := l.clients[key]; c != nil {
		c.lastSeen = now
		return c.lim
	}
	if len(l.clients) >= l.cfg.MaxClients {
		l.evict(now)
	}
	c := &clientBucket{lim: rate.NewLimiter(rate.Limit(l.cfg.AnswersPerClient), l.cfg.ClientBurst), lastSeen: now}
	l.clients[key] = c
	return c.lim
}

// evict makes room in a full client table: it forgets the clients whose bucket has refilled
// since they were last seen (a refilled bucket is a new one), and when fewer than an eighth of
// the table went that way, the least recently seen until an eighth has. An attacker holding
// more addresses than the table holds may then get fresh buckets for its oldest ones; the realm
// limits still hold, and the table's memory stays bounded. A sort of the table once per eighth
// of it filled costs a few hundred comparisons per new client. The caller holds l.mu.
func (l *limiter) evict(now time.Time) {
	refill := time.Duration(float64(l.cfg.ClientBurst) / l.cfg.AnswersPerClient * float64(time.Second))
	for k, c := range l.clients {
		if now.Sub(c.lastSeen) >= refill {
			delete(l.clients, k)
		}
	}
	target := l.cfg.MaxClients - max(1, l.cfg.MaxClients/8)
	if len(l.clients) <= target {
		return
	}
	type seen struct {
		key string
		at  time.Time
	}
	all := make([]seen, 0, len(l.clients))
	for k, c := range l.clients {
		all = append(all, seen{k, c.lastSeen})
	}
	slices.SortFunc(all, func(a, b seen) int { return a.at.Compare(b.at) })
	for _, e := range all[:len(all)-target] {
		delete(l.clients, e.key)
	}
}

// realm returns the bucket of realm; nil when realm is "" or the per-realm limit is off. The
// caller holds l.mu.
func (l *limiter) realm(realm string) *rate.Limiter {
	if realm == "" || l.cfg.AnswersPerRealm <= 0 {
		return nil
	}
	r := l.realms[realm]
	if r == nil {
		r = rate.NewLimiter(rate.Limit(l.cfg.AnswersPerRealm), l.cfg.RealmBurst)
		l.realms[realm] = r
	}
	return r
}

// trackedClients reports how many clients the table tracks (for tests).
func (l *limiter) trackedClients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// limitKey is the bucket key of a client address: an IPv6 client by its /64, which one host
// usually holds whole (as the engine's login backoff counts it).
func limitKey(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil {
		return client
	}
	if a = a.Unmap().WithZone(""); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
