package engine_test

import (
	"fmt"
	"testing"

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store/memnonce"
)

// BenchmarkDeviceRechallenge measures a device challenge of a session challenged again and again
// (the session read, the policy, a nonce issued and, once the session holds its bound of live
// nonces, the oldest deleted, the session saved), with the nonces in memory and in the store.
// Compare it with the same benchmark on a build without the bound, in the same run.
func BenchmarkDeviceRechallenge(b *testing.B) {
	for _, tc := range []struct {
		name   string
		memory bool
	}{{"memory", true}, {"store", false}} {
		b.Run(tc.name, func(b *testing.B) {
			o := labOptions{}
			if tc.memory {
				o.nonces = memnonce.New()
			}
			l := newLabWith(b, o)
			c := l.client("android", "2.1.0")
			for range 16 { // past the bound, as a client re-challenged in a loop is
				c.mustChallenge("device")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ch := c.mustChallenge("device")
				if ch.Challenges[project.RealmDeviceNoProvision]["token"] == nil {
					b.Fatal("no device nonce")
				}
			}
		})
	}
}

// BenchmarkDeviceChallengeAnswered measures what a well-behaved client costs: a new session
// challenged once by the device realm and answering it (two requests per op), the nonce listed
// by the session and then taken off the list, nonces in memory and in the store.
func BenchmarkDeviceChallengeAnswered(b *testing.B) {
	for _, tc := range []struct {
		name   string
		memory bool
	}{{"memory", true}, {"store", false}} {
		b.Run(tc.name, func(b *testing.B) {
			o := labOptions{}
			if tc.memory {
				o.nonces = memnonce.New()
			}
			l := newLabWith(b, o)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c := l.client("android", "2.1.0")
				ch := c.mustChallenge("device")
				n, _ := ch.Challenges[project.RealmDeviceNoProvision]["token"].(string)
				c.mustSucceed(project.RealmDeviceNoProvision, fmt.Sprintf(`{"token":%q,"device":{"id":"bench-%d"}}`, n, i))
				i++
			}
		})
	}
}
