package client

import (
	"encoding/json"
	"testing"
	"time"
)

var benchChallenge = []byte(`{"securityTest":"mobileTest","step":1,"challenges":{` +
	`"wl_antiXSRFRealm":{"WL-Instance-Id":"4f1c2a9e0b7d4c3e8a6f5b2d1c0e9f8a"},` +
	`"wl_remoteDisableRealm":{"action":"notify","message":"Version 2 is out","messageId":"m-7"},` +
	`"wl_deviceNoProvisioningRealm":{"token":"9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"}}}`)

// BenchmarkParseChallengeBody measures the checked parse of a three-realm challenge against a
// plain json.Unmarshal of the same body into map[string]any, alternated in the same run
// (ns/op and allocations cover both).
func BenchmarkParseChallengeBody(b *testing.B) {
	plain := func() {
		var v map[string]any
		if err := json.Unmarshal(benchChallenge, &v); err != nil {
			b.Fatal(err)
		}
	}
	parse := func() {
		if _, err := parseChallengeBody(benchChallenge); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var ownT, peerT time.Duration
	for range b.N {
		t0 := time.Now()
		plain()
		t1 := time.Now()
		parse()
		ownT += time.Since(t1)
		peerT += t1.Sub(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(ownT)/float64(peerT), "x-json.Unmarshal")
}
