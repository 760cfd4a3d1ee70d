// Package htpasswd reads the password files a project's login modules name: htpasswd files of
// bcrypt hashes ("user:$2y$10$..." lines, # comments), and tells the bcrypt cost of a hash.
//
// It reads; it never checks a password (the engine does, with golang.org/x/crypto/bcrypt). It
// imports only the standard library so that the project loader, which reports a bad file or a
// cheap hash with its file and line, stays free of cryptography. The cost parser accepts exactly
// the hashes bcrypt.Cost accepts (a differential fuzz test holds it to that), so a file the
// loader accepts is one the engine can check passwords against.
package htpasswd

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Costs, as golang.org/x/crypto/bcrypt defines them.
const (
	// MinCost and MaxCost bound the cost of a valid hash.
	MinCost = 4
	MaxCost = 31
	// DefaultCost is bcrypt.DefaultCost.
	DefaultCost = 10
	// MinRecommendedCost is the lowest cost hostd check accepts without a warning (the bcrypt
	// package's default).
	MinRecommendedCost = DefaultCost
)

// MaxFileBytes bounds a password file, as the project loader bounds its documents: anything
// larger is a mistake or an attack, and is refused rather than read.
const MaxFileBytes = 4 << 20

// minHashSize is the length of the shortest hash bcrypt reads: "$2a$10$", a 22-character salt
// and a 31-character checksum.
const minHashSize = 59

// ErrNotBcrypt is the error of Cost for a value that is not a bcrypt hash.
var ErrNotBcrypt = errors.New("not a bcrypt hash")

// Cost returns the bcrypt cost of hash, or ErrNotBcrypt when bcrypt.Cost would refuse it: a
// value shorter than a hash, one that does not start "$" and a version no newer than 2, or whose
// cost is not two digits from MinCost to MaxCost. Like bcrypt.Cost, it does not look at the salt
// and checksum beyond their length.
func Cost(hash []byte) (int, error) {
	if len(hash) < minHashSize || hash[0] != '$' || hash[1] > '2' {
		return 0, ErrNotBcrypt
	}
	p := hash[3:]
	if hash[2] != '$' {
		p = hash[4:] // a minor version letter: $2a$, $2b$, $2y$
	}
	// bcrypt reads the two bytes after the version with strconv.Atoi, which also takes a sign.
	cost, ok := atoi2(p[0], p[1])
	if !ok || cost < MinCost || cost > MaxCost {
		return 0, ErrNotBcrypt
	}
	return cost, nil
}

// atoi2 is strconv.Atoi of a two-byte string: optional sign, then digits.
func atoi2(a, b byte) (int, bool) {
	digit := func(c byte) bool { return '0' <= c && c <= '9' }
	switch {
	case digit(a) && digit(b):
		return int(a-'0')*10 + int(b-'0'), true
	case (a == '+' || a == '-') && digit(b):
		if a == '-' {
			return -int(b - '0'), true
		}
		return int(b - '0'), true
	}
	return 0, false
}

// ReadFile reads an htpasswd file of bcrypt hashes and returns each user's hash. Blank lines and
// lines starting with # are skipped; any other hash scheme is refused, since none is safe for
// passwords.
func ReadFile(path string) (map[string][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("password file %s is larger than %d bytes", path, MaxFileBytes)
	}
	users := map[string][]byte{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("password file %s:%d: expected user:bcrypt-hash", path, i+1)
		}
		if _, err := Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("password file %s:%d: user %q does not have a bcrypt hash (create it with htpasswd -B -C 10)", path, i+1, user)
		}
		users[user] = []byte(hash)
	}
	return users, nil
}

// CommonCost returns the bcrypt cost most of the hashes have (the highest of equally common
// ones), or DefaultCost when there are none. A password-file login checks an unknown user name
// against a hash of this cost, so that it takes as long as the login of most known users.
func CommonCost(hashes map[string][]byte) int {
	count := map[int]int{}
	for _, h := range hashes {
		if c, err := Cost(h); err == nil {
			count[c]++
		}
	}
	best, n := DefaultCost, 0
	for c, k := range count {
		if k > n || (k == n && c > best) {
			best, n = c, k
		}
	}
	return best
}
