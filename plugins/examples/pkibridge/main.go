// Command pkibridge is an example go-plugin adapter: the core procedures every adapter of the
// conformance suite implements (echo, fail, config, log, from package plugins/sdk/conformance)
// and a PKI bridge that issues client certificates from a CA whose certificate and key are the
// adapter's settings "ca-cert" and "ca-key" (PEM).
//
// Build it, pin its SHA-256 and point an adapter at it:
//
//	go build -o pkibridge ./plugins/examples/pkibridge
//	sha256sum pkibridge
//
//	adapters.Config{Name: "PKIBridge", Kind: "plugin", Command: []string{"./pkibridge"}, SHA256: "…",
//		Settings: map[string]string{"ca-cert": certPEM, "ca-key": keyPEM, "validity-days": "365"}}
package main

import (
	"maps"

	"github.com/realmgate/realmgate/plugins/sdk"
	"github.com/realmgate/realmgate/plugins/sdk/conformance"
)

func main() {
	sdk.Serve(procedures())
}

// procedures returns everything the plugin serves: the core procedures of package
// sdk/conformance (whose config redacts the CA key) and the bridge's.
func procedures() sdk.Procedures {
	p := conformance.Procedures()
	maps.Copy(p, bridge().Procedures())
	return p
}
