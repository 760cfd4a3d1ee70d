package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/realmgate/realmgate/engine"
)

// waitingDirectory answers nothing until its caller gives up, then says how it was ended.
type waitingDirectory struct{ ended chan error }

func (w waitingDirectory) Authenticate(ctx context.Context, _, _ string) (engine.DirectoryUser, bool, error) {
	select {
	case <-ctx.Done():
		w.ended <- ctx.Err()
		return engine.DirectoryUser{}, false, ctx.Err()
	case <-time.After(10 * time.Second):
		w.ended <- errors.New("the request's context never reached the directory")
		return engine.DirectoryUser{}, false, errors.New("timeout")
	}
}

// TestDirectoryGetsTheRequestContext: a login waiting on its directory stops when the request
// ends (the client went away, the daemon shuts down), answering CodeUnavailable, not a wrong
// password, rather than holding the session and a directory connection up to the module's
// timeout.
func TestDirectoryGetsTheRequestContext(t *testing.T) {
	dir := waitingDirectory{ended: make(chan error, 1)}
	l := ldapLab(t, dir)
	c := ldapChallenged(l)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.eng.Answer(ctx, engine.AnswerRequest{App: c.app, SessionID: c.sid, Passive: c.passive(),
		Realm: "LdapRealm", Body: json.RawMessage(`{"username":"ann","password":"ann-secret"}`)})
	if code := engine.CodeOf(err); code != engine.CodeUnavailable {
		t.Errorf("answer when the request ends: %v (code %q), want %q", err, code, engine.CodeUnavailable)
	}
	if ended := <-dir.ended; !errors.Is(ended, context.DeadlineExceeded) {
		t.Errorf("the directory call ended with %v, want the request's deadline", ended)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("the answer took %v after its request ended", waited)
	}
}
