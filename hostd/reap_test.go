package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

const deviceIDRealm = "wl_deviceNoProvisioningRealm"

// deviceChallenges opens an Android session and asks for the device challenge n times in it (an
// init that is challenged again each time), and returns the nonces it was given, oldest first,
// and the anti-XSRF header.
func deviceChallenges(t *testing.T, r *raw, n int) ([]string, []string) {
	t.Helper()
	var nonces []string
	var x []string
	for i := range n {
		status, body, _ := r.do("POST", "/api/v1/apps/BankApp/android/init", "{}", x...)
		if i == 0 {
			x = xsrf(t, body)
		}
		c, _ := challenges(body)[deviceIDRealm].(map[string]any)
		tok, _ := c["token"].(string)
		if status != 401 || tok == "" {
			t.Fatalf("challenge %d: %d %v, want the device challenge", i+1, status, body)
		}
		nonces = append(nonces, tok)
	}
	return nonces, x
}

// deviceAnswer answers the device challenge with nonce and returns the status and error text.
func deviceAnswer(t *testing.T, r *raw, nonce, device string, x []string) (int, string) {
	t.Helper()
	status, body, _ := r.do("POST", "/api/v1/auth/"+deviceIDRealm,
		fmt.Sprintf(`{"token":%q,"device":{"id":%q,"os":"android","model":"test","displayName":"d"}}`, nonce, device), x...)
	msg, _ := body["message"].(string)
	if c, ok := challenges(body)[deviceIDRealm].(map[string]any); ok {
		msg, _ = c["error"].(string)
	}
	return status, msg
}

// jarSession returns r's WL_SESSION.
func jarSession(t *testing.T, r *raw) string {
	t.Helper()
	u, _ := url.Parse(r.base)
	for _, c := range r.hc.Jar.Cookies(u) {
		if c.Name == "WL_SESSION" {
			return c.Value
		}
	}
	t.Fatal("no WL_SESSION cookie")
	return ""
}

// sessionNonces is the part of a stored session's state these tests read.
type sessionNonces struct {
	Lineage string `json:"lineage"`
	Realms  map[string]struct {
		Nonces []string `json:"nonces"`
	} `json:"realms"`
}

// sessionStoreKey is the key a session is stored under (the SHA-256 of its id, in hex).
func sessionStoreKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// TestSessionNoncesAreBounded: a session that asks a real daemon for the device challenge 100
// times holds engine.MaxLiveNonces of its nonces, the newest: the ninth newest is refused as
// unknown ("answer the new challenge"), the eighth newest is answered, and the session lists
// no more than the bound. On PostgreSQL, where the nonces live in the store, the nonces table
// holds the bound for the session; on the embedded store they live in memory and the answers
// show it.
func TestSessionNoncesAreBounded(t *testing.T) {
	const challenges = 100
	bound := engine.MaxLiveNonces
	type counter func(t *testing.T, lineage string) int
	stores := []struct {
		name  string
		tune  func(t *testing.T, s *daemon.Settings) counter
		state func(t *testing.T, data, id string) []byte
	}{
		{"sqlite", func(t *testing.T, s *daemon.Settings) counter { return nil }, func(t *testing.T, data, id string) []byte {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "realmgate.db")+"?mode=ro&_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var b []byte
			if err := db.QueryRow(`SELECT state FROM sessions WHERE id = ?`, sessionStoreKey(id)).Scan(&b); err != nil {
				t.Fatal(err)
			}
			return b
		}},
	}
	var dsn string
	if !testing.Short() {
		stores = append(stores, struct {
			name  string
			tune  func(t *testing.T, s *daemon.Settings) counter
			state func(t *testing.T, data, id string) []byte
		}{"postgres", func(t *testing.T, s *daemon.Settings) counter {
			dsn = pgtest.Start(t).NewDatabase(t)
			s.Store.Driver, s.Store.DSN, s.Tokens.Issuer = daemon.DriverPostgres, dsn, "https://bank.example"
			return func(t *testing.T, lineage string) int {
				conn, err := pgx.Connect(t.Context(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(context.Background())
				var n int
				if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM nonces WHERE session_id = $1 AND realm = $2`,
					[]byte(lineage), []byte(deviceIDRealm)).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
		}, func(t *testing.T, _, id string) []byte {
			conn, err := pgx.Connect(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var b []byte
			if err := conn.QueryRow(t.Context(), `SELECT state FROM sessions WHERE id = $1`, []byte(sessionStoreKey(id))).Scan(&b); err != nil {
				t.Fatal(err)
			}
			return b
		}})
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			var count counter
			d, data := startTuned(t, func(s *daemon.Settings) { count = st.tune(t, s) })
			stored := func(r *raw) sessionNonces {
				t.Helper()
				var s sessionNonces
				if err := json.Unmarshal(st.state(t, data, jarSession(t, r)), &s); err != nil {
					t.Fatal(err)
				}
				return s
			}

			// The ninth newest nonce was dropped: answering it is answering an unknown nonce.
			a := newRaw(t, d, "android", "2.1.0")
			nonces, x := deviceChallenges(t, a, challenges)
			s := stored(a)
			if got := s.Realms[deviceIDRealm].Nonces; !slices.Equal(got, nonces[challenges-bound:]) {
				t.Errorf("the session lists %d nonces after %d challenges, want the newest %d", len(got), challenges, bound)
			}
			if count != nil {
				if n := count(t, s.Lineage); n != bound {
					t.Errorf("the store holds %d nonces of a session challenged %d times, want %d", n, challenges, bound)
				}
			}
			if status, msg := deviceAnswer(t, a, nonces[challenges-bound-1], "dev-a", x); status != 401 || msg == "" {
				t.Errorf("answer with the ninth newest nonce: %d %q, want a retry naming the token unknown", status, msg)
			} else {
				t.Logf("answer with the ninth newest nonce: %d %q", status, msg)
			}
			if got := stored(a).Realms[deviceIDRealm].Nonces; len(got) > bound {
				t.Errorf("the session lists %d nonces after the retry, more than %d", len(got), bound)
			}

			// The eighth newest is still live.
			b := newRaw(t, d, "android", "2.1.0")
			nonces, x = deviceChallenges(t, b, challenges)
			if status, msg := deviceAnswer(t, b, nonces[challenges-bound], "dev-b", x); status != 200 {
				t.Errorf("answer with the eighth newest nonce: %d %q, want 200", status, msg)
			}
			s = stored(b)
			if got := s.Realms[deviceIDRealm].Nonces; len(got) != bound-1 {
				t.Errorf("the session lists %d nonces after the answer, want %d", len(got), bound-1)
			}
			if count != nil {
				if n := count(t, s.Lineage); n != bound-1 {
					t.Errorf("the store holds %d nonces of the session after the answer, want %d", n, bound-1)
				}
			}
		})
	}
}

// anonymousUser makes a persistent (anonymous) user: a web session calls getOffers, whose test
// passes the anonymous realm, and comes back with its anti-XSRF token. It returns the user's id,
// which the store keys the user by: the one derived from the cookie, never the cookie.
func anonymousUser(t *testing.T, d *daemon.Daemon) string {
	t.Helper()
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	_, body, _ := r.do("POST", "/api/v1/adapters/Accounts/getOffers", `{"parameters":[]}`)
	status, body, hdr := r.do("POST", "/api/v1/adapters/Accounts/getOffers", `{"parameters":[]}`, xsrf(t, body)...)
	if status != 200 {
		t.Fatalf("getOffers: %d %v", status, body)
	}
	u, _ := url.Parse(r.base)
	for _, c := range append((&http.Response{Header: hdr}).Cookies(), r.hc.Jar.Cookies(u)...) {
		if c.Name == "WL_PERSISTENT_COOKIE" {
			return engine.AnonymousUserID(c.Value)
		}
	}
	t.Fatal("no WL_PERSISTENT_COOKIE")
	return ""
}

// reapRows returns the ids of the persistent users and the number of audit records in data's store.
func reapRows(t *testing.T, data string) (users []string, audit int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "realmgate.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(`SELECT id FROM users ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		users = append(users, id)
	}
	if err := db.QueryRow(`SELECT count(*) FROM audit`).Scan(&audit); err != nil {
		t.Fatal(err)
	}
	return users, audit
}

// TestPersistentUsersAndAuditAreReaped: on a real daemon whose persistent cookie lives 3 s and
// whose audit retention is 3 s, with the janitor every 200 ms, a persistent user not seen for
// the cookie's life is deleted while a younger one is kept, then that one too; an audit record
// (a failed login) is deleted past the retention. The peer, a daemon with the default cookie
// life and retention, keeps both through the same wait.
func TestPersistentUsersAndAuditAreReaped(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the janitor")
	}
	const (
		age   = 3 * time.Second
		sweep = 200 * time.Millisecond
	)
	d, data := startTuned(t, func(s *daemon.Settings) {
		s.Session.PersistentCookieAge = daemon.Duration(age)
		s.Audit.Retention = daemon.Duration(age)
		s.JanitorInterval = daemon.Duration(sweep)
	})
	peer, peerData := startTuned(t, func(s *daemon.Settings) { s.JanitorInterval = daemon.Duration(sweep) })
	failedLogin := func(d *daemon.Daemon) {
		r := newRaw(t, d, "mobilewebapp", "2.1.0")
		x := loginChallenge(t, r)
		if status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"wrong"}`, x...); status != 401 {
			t.Fatalf("wrong password: %d %v", status, body)
		}
	}

	start := time.Now()
	first, peerUser := anonymousUser(t, d), anonymousUser(t, peer)
	failedLogin(d)
	failedLogin(peer)
	users, audit := reapRows(t, data)
	// The rows are read before a cookie's life has passed since the first user was made; on a
	// machine too loaded to get here in that time, the janitor may rightly have reaped them.
	if fresh := time.Since(start) < age; fresh && (!slices.Equal(users, []string{first}) || audit == 0) {
		t.Fatalf("after the first user and a failed login: users %v, %d audit records; want [%s] and some", users, audit, first)
	}
	time.Sleep(age / 2)
	second := anonymousUser(t, d)

	// The first user goes once the cookie's life has passed since it was last seen; the second,
	// seen half a life later, stays until its own life has passed.
	waitFor := func(what string, done func(users []string, audit int) bool) ([]string, int) {
		t.Helper()
		deadline := time.Now().Add(age + 10*time.Second)
		for {
			users, audit := reapRows(t, data)
			if done(users, audit) {
				return users, audit
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %v and %d audit records after %v", what, users, audit, time.Since(start).Round(time.Millisecond))
			}
			time.Sleep(sweep / 2)
		}
	}
	users, _ = waitFor("the first user reaped", func(users []string, _ int) bool { return !slices.Contains(users, first) })
	took := time.Since(start)
	t.Logf("the first user reaped %v after it was made (cookie life %v)", took.Round(time.Millisecond), age)
	if took < age {
		t.Errorf("the first user was reaped %v after it was made, before the cookie's life of %v", took, age)
	}
	if !slices.Equal(users, []string{second}) {
		t.Errorf("users when the first was reaped: %v, want the second [%s]", users, second)
	}
	waitFor("the audit record reaped", func(_ []string, audit int) bool { return audit == 0 })
	waitFor("the second user reaped", func(users []string, _ int) bool { return len(users) == 0 })

	// The peer's defaults (a year, 400 days) keep both.
	if users, audit := reapRows(t, peerData); !slices.Equal(users, []string{peerUser}) || audit == 0 {
		t.Errorf("the peer with the default cookie life and retention after %v: users %v, %d audit records; want [%s] and its failed login",
			time.Since(start).Round(time.Millisecond), users, audit, peerUser)
	}
}
