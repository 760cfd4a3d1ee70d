package engine_test

import (
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
