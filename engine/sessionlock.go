package engine

import "sync"

// locks serialise the requests of one session inside this process, so that two concurrent
// requests cannot lose each other's updates. Each session id has its own mutex, made when a
// request first waits on the id and dropped when the last one leaves: a request may hold its
// session's lock across a slow call (an LDAP login waits on its directory up to ldapTimeoutMs),
// and only requests of that same session may wait for it. A fixed set of shards would make the
// requests of unrelated sessions that hash alike wait too, and a hung directory with as many
// logins in flight as there are shards would stall every session of the daemon.
type locks struct {
	mu   sync.Mutex
	held map[string]*sessionLock
}

// sessionLock is the mutex of one session id and the number of requests holding or waiting
// for it.
type sessionLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks the session id and returns its unlock.
func (l *locks) lock(id string) func() {
	if id == "" {
		return func() {} // a request without a session makes a new one nobody else can see
	}
	l.mu.Lock()
	if l.held == nil {
		l.held = make(map[string]*sessionLock)
	}
	sl := l.held[id]
	if sl == nil {
		sl = &sessionLock{}
		l.held[id] = sl
	}
	sl.refs++
	l.mu.Unlock()
	sl.mu.Lock()
	return func() {
		sl.mu.Unlock()
		l.mu.Lock()
		if sl.refs--; sl.refs == 0 {
			delete(l.held, id)
		}
		l.mu.Unlock()
	}
}
