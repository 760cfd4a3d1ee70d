package engine

import "sync"

// versionMemo remembers, for one remote-disable rule, whether it applies to each app version sent
// lately. Every request of a mobile app asks, and parsing the version and checking the constraint
// cost more than all the rest of the remote-disable realm; the answer depends on nothing else. A
// rule and its memo live as long as the rules cache keeps them (Config.RulesCacheTTL).
type versionMemo struct {
	mu sync.Mutex
	m  map[string]bool
}

// versionMemoLimit bounds the versions remembered per rule (clients choose what they send); when
// full the memo is cleared.
const versionMemoLimit = 1024

// appliesTo reports whether the rule applies to the app version as the client sent it: matches
// of the version parsed (nil when it does not parse, which every rule holds).
func (r *compiledRule) appliesTo(version string) bool {
	r.versions.mu.Lock()
	applies, ok := r.versions.m[version]
	r.versions.mu.Unlock()
	if ok {
		return applies
	}
	applies = r.matches(parseVersion(version))
	r.versions.mu.Lock()
	if r.versions.m == nil || len(r.versions.m) >= versionMemoLimit {
		r.versions.m = map[string]bool{}
	}
	r.versions.m[version] = applies
	r.versions.mu.Unlock()
	return applies
}
