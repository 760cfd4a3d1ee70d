package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/memnonce"
)

// unitCounter counts the commits the engine makes: its units of work, and the writes of a
// session that is a request's only write, which are one statement each (PutSession,
// ReplaceSession). It can make the next unit fail.
type unitCounter struct {
	engine.Store
	units atomic.Int32
	fail  atomic.Bool
}

var errCommit = errors.New("commit failed")

func (u *unitCounter) Update(ctx context.Context, fn func(store.Tx) error) error {
	u.units.Add(1)
	if u.fail.Load() {
		// fn runs, as a store runs it, and then the commit fails: nothing of it is kept.
		return u.Store.Update(ctx, func(tx store.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errCommit
		})
	}
	return u.Store.Update(ctx, fn)
}

func (u *unitCounter) PutSession(ctx context.Context, s store.Session) error {
	u.units.Add(1)
	return u.Store.PutSession(ctx, s)
}

func (u *unitCounter) ReplaceSession(ctx context.Context, oldID string, s store.Session) error {
	u.units.Add(1)
	return u.Store.ReplaceSession(ctx, oldID, s)
}

// count returns the commits made since the last call.
func (u *unitCounter) count() int { return int(u.units.Swap(0)) }

// Every request commits at most once: a challenge (the session and its nonce), an answer (the
// nonce spent, the device, the session), a wrong password (the session's attempt, the account's
// and the client's failure counts, the audit record), a request that changes nothing (none).
// With nonces in the store, spending one is a unit of its own, before the answer's work.
func TestRequestCommitsOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nonces store.Nonces
		// answer is the units of a device answer.
		answer int
	}{
		{"nonces in memory", memnonce.New(), 1},
		{"nonces in the store", nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var uc *unitCounter
			l := newLabWith(t, labOptions{nonces: tc.nonces, wrap: func(s engine.Store) engine.Store {
				uc = &unitCounter{Store: s}
				return uc
			}})
			c := l.client("android", "2.1.0")
			nonce := deviceNonce(t, c)
			if got := uc.count(); got != 1 {
				t.Errorf("a challenge ran %d units of work, want 1", got)
			}
			c.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+nonce+`","device":{"id":"dev-1"}}`)
			if got := uc.count(); got != tc.answer {
				t.Errorf("a device answer ran %d units of work, want %d", got, tc.answer)
			}
			c.mustAllow("device")
			if got := uc.count(); got != 0 {
				t.Errorf("a request that changes nothing ran %d units of work, want 0", got)
			}

			res, err := l.passwordAttempt("192.0.2.10", "alice", "wrong")
			if outcome(res, err) != "retry" {
				t.Fatalf("wrong password: %s", outcome(res, err))
			}
			if got := uc.count(); got != 2 { // the challenge, then the answer
				t.Errorf("a challenge and a wrong password ran %d units of work, want 2", got)
			}
			f, err := l.db.GetLoginFailure(t.Context(), "client:192.0.2.10", l.clock.Now())
			if err != nil || f.Count != 1 {
				t.Errorf("the client's failures after a wrong password: %+v %v", f, err)
			}
		})
	}
}

// A failed commit keeps none of a request's writes: the device answer's device record and its
// session change go together, and the answer is CodeUnavailable, never a pass.
func TestFailedCommitKeepsNothing(t *testing.T) {
	var uc *unitCounter
	l := newLabWith(t, labOptions{nonces: memnonce.New(), wrap: func(s engine.Store) engine.Store {
		uc = &unitCounter{Store: s}
		return uc
	}})
	c := l.client("android", "2.1.0")
	nonce := deviceNonce(t, c)
	uc.fail.Store(true)
	_, err := c.answer(project.RealmDeviceNoProvision, `{"token":"`+nonce+`","device":{"id":"dev-1"}}`)
	if codeOf(err) != engine.CodeUnavailable {
		t.Fatalf("answer whose commit fails: %v, want unavailable", err)
	}
	uc.fail.Store(false)
	if _, err := l.db.GetDevice(t.Context(), "dev-1", "none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("device of an answer whose commit failed: %v, want not found", err)
	}
	_, st, ok := l.session(c.sid)
	if !ok {
		t.Fatal("the session of the challenge is gone")
	}
	if r := st.Realms[project.RealmDeviceNoProvision]; r != nil && r.Passed {
		t.Errorf("the session passed the device realm of an answer whose commit failed")
	}
	if _, err := c.authorize("device"); err != nil && codeOf(err) == engine.CodeUnavailable {
		t.Errorf("the engine does not recover after a failed commit: %v", err)
	}
}
