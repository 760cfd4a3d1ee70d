package console

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in attempts a client address may make: a burst, then one every signInEvery. The admin
// token is long and random, so this is not what keeps it secret; it keeps a script from trying
// tokens as fast as the daemon answers, and a wrong token from filling the log.
const (
	signInBurst  = 5
	signInEvery  = 2 * time.Second
	maxThrottled = 4096
)

// throttle bounds the sign-in attempts of each client address.
type throttle struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// allow spends an attempt of the request's client, reporting false when it has none left.
func (t *throttle) allow(r *http.Request, now time.Time) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil || len(t.m) >= maxThrottled {
		t.m = map[string]*rate.Limiter{}
	}
	l := t.m[host]
	if l == nil {
		l = rate.NewLimiter(rate.Every(signInEvery), signInBurst)
		t.m[host] = l
	}
	return l.AllowN(now, 1)
}
