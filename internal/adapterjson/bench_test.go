package adapterjson

import (
	stdjson "encoding/json"
	"testing"

	"github.com/go-json-experiment/json"
)

// A client-called procedure's input as the host sends it, decoded as the Go guest SDK's Call
// decodes it: the envelope, then the parameters strictly.
type benchIdentity struct {
	User   map[string]any `json:"user"`
	Device map[string]any `json:"device"`
	Realms map[string]any `json:"realms"`
}

type benchApp struct {
	ID      string `json:"id"`
	Env     string `json:"env"`
	Version string `json:"version"`
}

type benchCall struct {
	Parameters []payment     `json:"parameters"`
	Identity   benchIdentity `json:"identity"`
	App        benchApp      `json:"app"`
}

var (
	benchParams = `[{"payee":"rent","to":"DE89370400440532013000","amount":5000,"key":"k-1","pass":"p"},{"payee":"gym","amount":35.5}]`
	benchInput  = []byte(`{"parameters":` + benchParams + `,"identity":{"user":{"userId":"alice","displayName":"Alice","attributes":{"tier":"gold"}},"device":{"id":"d-1","os":"android","model":"Pixel"},"realms":{"BankLogin":{"userId":"alice"},"wl_deviceNoProvisioningRealm":{"id":"d-1"}}},"app":{"id":"BankApp","env":"android","version":"2.1.0"}}`)
	// benchExtra has a member the type lacks, which sends Decode through its name check.
	benchExtra = []byte(`{"later":{"x":1},` + string(benchInput[1:]))
)

func BenchmarkDecode(b *testing.B) {
	for _, in := range []struct {
		name string
		data []byte
	}{{"known members", benchInput}, {"an unknown member", benchExtra}} {
		b.Run(in.name+"/adapterjson", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode[benchCall](in.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/encoding-json", func(b *testing.B) { // the peer: no name check at all
			b.ReportAllocs()
			for b.Loop() {
				var c benchCall
				if err := stdjson.Unmarshal(in.data, &c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/json-v2", func(b *testing.B) { // the library alone
			b.ReportAllocs()
			for b.Loop() {
				var c benchCall
				if err := json.Unmarshal(in.data, &c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	params := []byte(benchParams)
	b.Run("strict parameters/adapterjson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeStrict[[]payment](params); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict parameters/json-v2", func(b *testing.B) { // the library alone
		b.ReportAllocs()
		for b.Loop() {
			var p []payment
			if err := json.Unmarshal(params, &p, json.RejectUnknownMembers(true)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
