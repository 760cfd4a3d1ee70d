package decisionlog

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkEncode is the work of the logger's goroutine per event: masking (the default rule)
// and encoding, against encoding the same event unmasked (the peer).
func BenchmarkEncode(b *testing.B) {
	e := Event{
		Labels: map[string]string{"id": "5f0c", "type": "realmgate-hostd"}, DecisionID: "0f3a2c1e-0000-4000-8000-000000000000",
		Path: "realmgate/decision", Bundles: map[string]BundleInfo{"realmgate": {Revision: "2cd66f9ef2198759"}},
		Input: json.RawMessage(`{"test":"bankTests","passed":["BankLogin","wl_antiXSRFRealm"],"app":{"id":"BankApp","env":"android","version":"2.1.0"},` +
			`"resource":{"kind":"procedure","name":"Accounts.payBill","attributes":{"adapter":"Accounts","procedure":"payBill"}},` +
			`"request":{"method":"POST","path":"/api/v1/adapters/Accounts/payBill","parameters":[{"amount":50,"payee":"power"}]}}`),
		Result:    json.RawMessage(`{"outcome":"allow"}`),
		Timestamp: time.Now(),
	}
	masks, err := ParseMaskPaths(DefaultMaskPaths)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("unmasked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("masked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encode(&e, masks); err != nil {
				b.Fatal(err)
			}
		}
	})
}
