package engine_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/memnonce"
)

// TestNoncesPerSessionAreBounded: a session challenged 20 times by a realm that issues a nonce
// holds the newest engine.MaxLiveNonces of them, in memory and in the store alike; the session
// lists them; the newest is answered; the others were deleted when they were dropped, so that
// none of them can be consumed, and an answer carrying a dropped one is told to answer the new
// challenge.
func TestNoncesPerSessionAreBounded(t *testing.T) {
	const challenges = 20
	for _, mode := range []struct {
		name   string
		nonces *memnonce.Nonces
	}{
		{"in the store", nil},
		{"in memory", memnonce.New()},
	} {
		t.Run(mode.name, func(t *testing.T) {
			o := labOptions{}
			if mode.nonces != nil {
				o.nonces = mode.nonces
			}
			l := newLabWith(t, o)
			var nonces store.Nonces = l.db
			if mode.nonces != nil {
				nonces = mode.nonces
			}
			c := l.client("android", "2.1.0")
			var issued []string
			for range challenges {
				issued = append(issued, deviceNonce(t, c))
			}
			live := issued[challenges-engine.MaxLiveNonces:]
			if mode.nonces != nil && mode.nonces.Len() != engine.MaxLiveNonces {
				t.Errorf("the memory holds %d nonces after %d challenges of one session, want %d", mode.nonces.Len(), challenges, engine.MaxLiveNonces)
			}
			_, st, ok := l.session(c.sid)
			if !ok {
				t.Fatal("no session after the challenges")
			}
			if diff := cmp.Diff(live, st.Realms[project.RealmDeviceNoProvision].Nonces); diff != "" {
				t.Errorf("nonces the session lists (-want +got):\n%s", diff)
			}

			newest := issued[challenges-1]
			c.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+newest+`","device":{"id":"dev-1"}}`)
			_, st, _ = l.session(c.sid)
			if diff := cmp.Diff(live[:len(live)-1], st.Realms[project.RealmDeviceNoProvision].Nonces); diff != "" {
				t.Errorf("nonces the session lists after the answer (-want +got):\n%s", diff)
			}
			// Exactly the live ones but the consumed newest are still there.
			var found []string
			for _, n := range issued {
				err := nonces.ConsumeNonce(t.Context(), n, st.Lineage, project.RealmDeviceNoProvision, l.clock.Now())
				switch {
				case err == nil:
					found = append(found, n)
				case !errors.Is(err, store.ErrNotFound):
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(live[:len(live)-1], found); diff != "" {
				t.Errorf("nonces still stored (-want +got):\n%s", diff)
			}

			// A dropped nonce is a wrong answer: the client is sent the new challenge.
			c2 := l.client("android", "2.1.0")
			first := deviceNonce(t, c2)
			for range engine.MaxLiveNonces {
				deviceNonce(t, c2)
			}
			res, err := c2.answer(project.RealmDeviceNoProvision, `{"token":"`+first+`","device":{"id":"dev-2"}}`)
			if err != nil || res.Retry == nil || res.Retry.Challenges[project.RealmDeviceNoProvision]["error"] == nil {
				t.Errorf("answer with a dropped nonce: %+v %v, want a retry with the new challenge", res, err)
			}
		})
	}
}
